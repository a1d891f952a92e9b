"""The detection command lines: a tiny search and a tiny training write every output; bad input is one error line."""

import json
import os

import pytest
from jaxnas.apps._cli import run


def _cli(command, tmp_path, data_dir, *args, config=None):
    config = config or f"{command}_detection_tiny"
    return run(command, ["detection", "--config", config, "--workdir", str(tmp_path / "w"),
                         f"--config.data.data_dir={data_dir!r}", "--no-progress", *args])


def test_tiny_detection_search_writes_every_output(tmp_path, data_dir, capsys):
    assert _cli("search", tmp_path, data_dir, "--config.plots=True", "--config.steps=2", "--config.log_every=1",
                "--json") == 0
    out = capsys.readouterr().out
    assert "found architecture (detection_nano)" in out and "mAP:" in out and "vs target 0.55 M MACs" in out
    result = json.loads(out.strip().splitlines()[-1])
    w = tmp_path / "w"
    for name in ("arch.txt", "arch_blocks.txt", "arch.json", "result.json", "config.json", "metrics.jsonl",
                 "probabilities.png", "reward.png", "quality.png", "cost.png"):
        assert (w / name).exists(), name
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(w / "tensorboard"))
    assert sorted(os.listdir(w / "checkpoints")) == ["2"]
    assert (w / "arch.txt").read_text().strip() == result["arch"]
    assert result["unit"] == "M MACs" and result["head"] == "ssdlite" and 0.0 <= result["one_shot_map"] <= 1.0
    assert result["c4_channels"] in (16, 24) and result["c5_channels"] in (24, 32)
    rows = [json.loads(line) for line in (w / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(0.0 <= r["quality"] <= 1.0 for r in rows)
    assert _cli("search", tmp_path, data_dir) == 2
    assert "pass --resume" in capsys.readouterr().err


def test_tiny_detection_training_writes_every_output(tmp_path, data_dir, capsys):
    arch = "0:0:1:0:0:0:0:0:0:1:1:0:1:1:0"
    assert _cli("train", tmp_path, data_dir, "--space", "detection_nano", "--arch", arch, "--json") == 0
    out = capsys.readouterr().out
    assert "+ SSDLite" in out and "validation mAP:" in out
    result = json.loads(out.strip().splitlines()[-1])
    w = tmp_path / "w"
    assert json.loads((w / "result.json").read_text()) == result
    assert result["arch"] == arch and 0.0 <= result["map"] <= 1.0 and "initial_map" in result
    model = json.loads((w / "export" / "model.json").read_text())
    assert model["space"] == "detection_nano" and model["arch"] == arch and model["num_classes"] == 6
    assert (w / "export" / "params.npz").exists() and sorted(os.listdir(w / "checkpoints")) == ["2"]
    assert (w / "export" / "model.tflite").stat().st_size > 0 and len(model["outputs"]) == 2
    rows = [json.loads(line) for line in (w / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 2] and "eval_map50" in rows[-1] and "loc_loss" in rows[0]
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(w / "tensorboard"))


@pytest.mark.parametrize("command, args, text", [
    ("search", ["--config.controller_lr=0.0"], "controller_lr=0.0: must be positive"),
    ("search", ["--config.optim.momentum=1.5"], "momentum=1.5: must be in [0, 1)"),
    ("search", ["--config.space=proxylessnas_nano"], "has only ['C1', 'C2'] (missing ['C4', 'C5'])"),
    ("search", ["--config.target=1000.0"], "outside what space 'detection_nano' can reach"),
    ("search", ["--config.data.dataset='coco/2017'", "--config.data.data_dir='/nonexistent'"], "is not prepared"),
    ("train", ["--arch", "0:1"], "is not an architecture of space 'detection_nano'"),
    ("train", ["--config.eval_split=val"], "choose 'validation' or 'test'"),
    ("random", [], "task 'detection' has no jaxnas-random command"),
])
def test_bad_input_is_one_error_line(tmp_path, data_dir, capsys, command, args, text):
    config = "search_detection_tiny" if command == "random" else None
    assert _cli(command, tmp_path, data_dir, *args, config=config) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and text in err[-1], err[-1]
