"""The command lines: a real tiny search writes every output; bad input gives one clear error line."""

import json
import os

import pytest
from jaxnas.apps._cli import run
from jaxnas.apps._metrics import SEARCH_LINE_PLOTS


def _search(tmp_path, data_dir, *args):
    return run("search", ["classification", "--config", "search_tiny", "--workdir", str(tmp_path / "w"),
                          f"--config.data.data_dir={data_dir!r}", "--no-progress", *args])


@pytest.mark.parametrize("args, text", [
    (["--config.stepz=3"], "did you mean: steps"),
    (["--config.data.dataset=cifar10"], "is not prepared"),
    (["--config.target=1000.0"], "outside what space 'proxylessnas_nano' can reach"),
    (["--config.target='mobilenet_v2'"], "not a point of space"),
])
def test_bad_input_is_one_error_line(tmp_path, data_dir, capsys, args, text):
    assert _search(tmp_path, data_dir, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and text in err[-1]


def test_latency_table_of_another_space_is_refused(tmp_path, data_dir, capsys):
    from jaxnas.latency import LatencyTable
    table = LatencyTable({"backend": "fake", "space": "proxylessnas", "resolution": 224, "num_classes": 1000,
                          "batch": 1, "dtype": "float32"})
    path = table.save(str(tmp_path / "t.json"))
    assert _search(tmp_path, data_dir, f"--config.latency_table={path!r}") == 2
    assert "built for space 'proxylessnas', not 'proxylessnas_nano'" in capsys.readouterr().err


def test_unknown_task(tmp_path, capsys):
    assert run("search", ["segmentation", "--workdir", str(tmp_path)]) == 2
    assert "unknown task 'segmentation'" in capsys.readouterr().err


def test_tiny_search_writes_every_output_and_refuses_to_overwrite(tmp_path, data_dir, capsys):
    assert _search(tmp_path, data_dir, "--config.plots=True", "--json") == 0
    out = capsys.readouterr().out
    assert "found architecture (proxylessnas_nano)" in out and "vs target 0.15 M MACs" in out
    result = json.loads(out.strip().splitlines()[-1])
    w = tmp_path / "w"
    for name in ("arch.txt", "arch_blocks.txt", "arch.json", "result.json", "config.json", "metrics.jsonl",
                 "probabilities.png", "reward.png", "quality.png", "cost.png"):
        assert (w / name).exists(), name
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(w / "tensorboard"))
    assert sorted(os.listdir(w / "checkpoints")) == ["4", "8"]
    assert (w / "arch.txt").read_text().strip() == result["arch"]
    assert result["unit"] == "M MACs" and result["target"] == 0.15 and 0.0 <= result["one_shot_accuracy"] <= 1.0
    rows = [json.loads(line) for line in (w / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert rows[0]["warmup"] > 0 and rows[-1]["warmup"] == 0 and len(rows[-1]["probabilities"]) == 7
    for plot, keys in SEARCH_LINE_PLOTS.items():  # no legend entry without data
        assert all(isinstance(row.get(key), float) for row in rows for key in keys), (plot, keys)
    # A second run into the same work dir must not silently overwrite it.
    assert _search(tmp_path, data_dir) == 2
    assert "pass --resume" in capsys.readouterr().err
