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


def test_help_lists_the_config_keys_in_plain_text(capsys):
    from jaxnas.apps._config import describe_config, load_config
    assert run("search", ["classification", "--config", "search_shapes", "--help"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out and ":func:" not in out  # no reStructuredText
    assert "--config.KEY=VALUE" in out and "--print-config" in out
    lines = out.splitlines()
    for key, value, doc in describe_config(load_config("search_shapes")):
        line = next((ln for ln in lines if ln.strip().startswith(f"{key}={value!r}")), None)
        assert line is not None, key
        assert doc and line.rstrip().endswith(doc), key


def test_help_without_a_task_and_with_a_bad_config(capsys):
    assert run("train", ["--help"]) == 0
    assert "jaxnas-train classification --help" in capsys.readouterr().out
    assert run("train", ["classification", "--config", "nope", "--help"]) == 2
    assert "unknown config 'nope'" in capsys.readouterr().err


def test_every_config_field_has_a_doc():
    import dataclasses

    from jaxnas.apps._config import field_docs
    from jaxnas.apps.classification import _configs as classification
    from jaxnas.apps.detection import _configs as detection
    classes = [c for m in (classification, detection) for c in vars(m).values()
               if dataclasses.is_dataclass(c) and isinstance(c, type)]
    assert len(classes) >= 9
    missing = [f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c)
               if not dataclasses.is_dataclass(f.default) and not field_docs(c).get(f.name)]
    assert not missing, missing
    rst = [doc for c in classes for doc in field_docs(c).values() if "``" in doc or ":func:" in doc]
    assert not rst, rst  # --help is plain text


def test_print_config_shows_the_config_as_it_will_run(capsys):
    from jaxnas.apps._config import apply_overrides, load_config
    args = ["classification", "--print-config", "--space", "proxylessnas_nano", "--arch", "0:1:0",
            "--config.steps=3", "--config.data.resolution=48"]
    assert run("train", args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {"steps=3", "data.resolution=48", "space='proxylessnas_nano'", "arch='0:1:0'"} <= set(lines)
    # Each line is a valid override: they rebuild the same config from the defaults.
    want = apply_overrides(load_config("train_shapes"),
                           ["space=proxylessnas_nano", "arch='0:1:0'", "steps=3", "data.resolution=48"])
    assert apply_overrides(load_config("train_shapes"), lines) == want
    assert run("train", [*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["resolution"] == 48


def test_running_without_a_workdir_is_one_error_line(capsys):
    assert run("search", ["classification", "--config.steps=2"]) == 2
    assert capsys.readouterr().err.strip() == "error: --workdir is required: the folder jaxnas-search writes to"
