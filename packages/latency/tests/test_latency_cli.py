"""The jaxnas-latency CLI (in-process, fake backend) and the numpy-only import."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from jaxnas.latency import LatencyTable
from jaxnas.latency._cli import main

TINY, RESOLUTION, NUM_CLASSES = "latency_tiny", 32, 10  # registered in conftest.py


@pytest.fixture
def table_path(tmp_path, capsys):
    path = str(tmp_path / "t.json")
    assert main(["build", "--space", TINY, "--backend", "fake", "--out", path, "--resolution", str(RESOLUTION),
                 "--num-classes", str(NUM_CLASSES), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "45 distinct op signatures" in out and f"45 entries in {path}" in out
    return path


def test_predict_prints_json_lines(table_path, tiny, capsys, monkeypatch):
    archs = [tiny.format(a) for a in tiny.sample(np.random.default_rng(0), 3)]
    assert main(["predict", "--table", table_path, *archs]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["arch"] for r in rows] == archs
    from jaxnas.latency import latency_model

    expected = latency_model(LatencyTable.load(table_path), tiny).predict(np.stack([tiny.parse(a) for a in archs]))
    assert [r["latency_ms"] for r in rows] == expected.tolist()
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(archs) + "\n"))
    assert main(["predict", "--table", table_path, "-"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_validate_json_then_calibrate(table_path, capsys):
    assert main(["validate", "--table", table_path, "--num-archs", "8", "--seed", "1", "--json",
                 "--no-progress"]) == 0
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(last) == {"pearson", "spearman", "kendall", "mape", "mape_calibrated", "within_10pct",
                         "within_10pct_calibrated", "additivity", "spread_median", "spread_max", "num_archs"}
    assert last["num_archs"] == 8 and last["spread_max"] == pytest.approx(0.1)  # the fake's p10/p90 = -/+ 5 %
    assert main(["calibrate", "--table", table_path]) == 0
    assert "calibration a = 0.900000, b = 0.050000 ms (fitted on 8 networks)" in capsys.readouterr().out
    assert LatencyTable.load(table_path).calibration.num_archs == 8


@pytest.mark.parametrize("argv, message", [
    (["build", "--space", "nope", "--backend", "fake", "--out", "{dir}/x.json"], "unknown space 'nope'"),
    (["build", "--space", TINY, "--backend", "nope", "--out", "{dir}/x.json"], "backend 'nope': unknown"),
    (["predict", "--table", "{dir}/missing.json", "0:0"], "no such file"),
    (["predict", "--table", "{table}", "0:0"], "expected 9 decisions, got 2"),
    (["predict", "--table", "{table}", "0:0:0:0:0:0:0:0:9"], "has value 9"),
    (["predict", "--table", "{dir}/corrupt.json", "0"], "not valid JSON"),
    (["calibrate", "--table", "{table}"], "no validation report at"),
    (["validate", "--table", "{table}", "--num-archs", "1"], "--num-archs must be >= 2"),
    (["build", "--space", TINY], "the following arguments are required: --out"),
    (["predict", "--table", "{table}", "--resolution", "3", "0"], "unrecognized arguments"),
])
def test_bad_input_is_one_line_and_exit_2(table_path, tmp_path, capsys, argv, message):
    (tmp_path / "corrupt.json").write_text("{not json")
    argv = [a.format(dir=tmp_path, table=table_path) for a in argv]
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def _run(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse errors exit from inside parse_args
        return e.code


def test_import_does_not_load_jax_or_tensorflow():
    code = ("import sys, jaxnas.latency, jaxnas.latency._cli\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jax', 'jaxlib', 'tensorflow', 'ai_edge_litert', 'matplotlib', 'scipy'))\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_command_builds_a_table_and_its_report(tmp_path, tiny, capsys):
    from jaxnas.latency import signature_key, space_ops

    ops = space_ops(tiny, RESOLUTION, NUM_CLASSES)
    archs = [tiny.format(a) for a in tiny.sample(np.random.default_rng(0), 4)]
    manifest = {"schema": "jaxnas-latency-export", "schema_version": 1, "space": TINY, "resolution": RESOLUTION,
                "num_classes": NUM_CLASSES, "batch": 1, "dtype": "float32",
                "ops": [{"id": signature_key(op)} for op in ops],
                "networks": [{"id": f"net_{i}", "arch": a} for i, a in enumerate(archs)]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    rows = [f"{signature_key(op)},{0.25 + i / 8}" for i, op in enumerate(ops)]
    rows += [f"net_{i},{10 + i}" for i in range(4)]
    (tmp_path / "phone.csv").write_text("id,latency_ms\n" + "\n".join(rows) + "\n")
    out = str(tmp_path / "phone.json")
    assert main(["import", "--manifest", str(tmp_path / "manifest.json"), "--csv", str(tmp_path / "phone.csv"),
                 "--out", out, "--device", "Pixel 1"]) == 0
    printed = capsys.readouterr().out
    assert f"45 entries in {out}" in printed and "validation on 4 imported networks" in printed
    assert (tmp_path / "phone.validation.json").exists()
    assert LatencyTable.load(out).provenance["device"] == "Pixel 1"
    assert main(["validate", "--table", out]) == 2
    assert "this table was imported" in capsys.readouterr().err


HEAD_FLAGS = ["--head", "ssdlite", "--num-classes", "3", "--extra-depths", "16,8"]


def test_build_and_predict_with_the_ssdlite_head(tmp_path, capsys, fake_cls):
    pytest.importorskip("jaxnas.detection")
    from jaxnas.latency import build_table, head_ops, latency_model, ssdlite_head
    from jaxnas.searchspace import get_space

    space, path = get_space("latency_tiny_detection"), str(tmp_path / "det.json")
    assert main(["build", "--space", space.name, "--backend", "fake", "--out", path, "--resolution", "64",
                 *HEAD_FLAGS, "--no-progress"]) == 0
    out = capsys.readouterr().out
    head = ssdlite_head(3, (16, 8))
    assert f"{space.name} (with head ssdlite_k3_x16-8) at 64px:" in out
    table = LatencyTable.load(path)
    assert table.provenance["heads"] == ["ssdlite_k3_x16-8"] and table.provenance["num_classes"] == 1000
    extra = head_ops(space, head, 64)
    assert len(extra) > 4 and all(op in table for op in extra)
    # The same table as the Python call (jaxnas.apps.detection.build_detection_table makes this one).
    same = build_table(space, fake_cls(), 64, 1000, progress=False, log=None, head=head)
    assert sorted(table.entries) == sorted(same.entries)
    archs = [space.format(a) for a in space.sample(np.random.default_rng(0), 4)]
    assert main(["predict", "--table", path, *HEAD_FLAGS, *archs]) == 0
    got = [json.loads(line)["latency_ms"] for line in capsys.readouterr().out.splitlines()]
    want = latency_model(table, space, head=head).predict(np.stack([space.parse(a) for a in archs]))
    assert got == want.tolist()
    assert main(["predict", "--table", path, *archs]) == 0  # the classifier network: another figure
    plain = [json.loads(line)["latency_ms"] for line in capsys.readouterr().out.splitlines()]
    assert not np.allclose(plain, got)
    # A head the table was not built for is refused, naming what is missing.
    assert main(["predict", "--table", path, "--head", "ssdlite", "--num-classes", "5", archs[0]]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--head", "ssdlite"], "--head ssdlite needs --num-classes"),
    (["--head", "ssdlite", "--num-classes", "3", "--extra-depths", "16,x"], "expected comma-separated ints"),
    (["--extra-depths", "16"], "--extra-depths needs --head ssdlite"),
    (["--head", "yolo", "--num-classes", "3"], "invalid choice: 'yolo'"),
    (["--head", "ssdlite", "--num-classes", "0"], "num_classes must be a positive int, got 0"),
])
def test_bad_head_flags_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert _run(["build", "--space", "latency_tiny_detection", "--backend", "fake", "--out",
                 str(tmp_path / "x.json"), "--resolution", "64", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_head_on_a_space_without_its_endpoints(tmp_path, capsys):
    pytest.importorskip("jaxnas.detection")
    assert _run(["build", "--space", TINY, "--backend", "fake", "--out", str(tmp_path / "x.json"),
                 "--resolution", str(RESOLUTION), "--head", "ssdlite", "--num-classes", "3"]) == 2
    assert "has only ['C1', 'C2'] (missing ['C4', 'C5'])" in capsys.readouterr().err
