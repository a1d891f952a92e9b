import io
import json
import sys

import pytest

from jaxnas.searchspace._cli import main


def run(argv, stdin=""):
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv, out=out)
    finally:
        sys.stdin = old
    return code, out.getvalue()


def test_describe_json_keys():
    code, out = run(["describe", "mobilenet_v3_like", "--json"])
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"name", "num_decisions", "log10_size", "log10_distinct", "decisions"}
    assert data["num_decisions"] == 86 and len(data["decisions"]) == 86


def test_info_reference_json():
    _, ref = run(["reference", "proxylessnas_mobile"])
    code, out = run(["info", "proxylessnas", ref.strip(), "--json"])
    data = json.loads(out)
    assert code == 0 and set(data) == {"arch", "params", "macs", "layers"}
    assert data["params"] == 4_080_512 and round(data["macs"] / 1e6, 1) == 320.4
    assert sum(layer["params"] for layer in data["layers"]) == data["params"]


def test_info_table_and_fixed_space_without_arch():
    code, out = run(["info", "mobilenet_v3_large"])
    assert code == 0 and "params 5,483,032" in out and "216.6 M" in out


def test_sample_pipes_into_info_stdin():
    _, lines = run(["sample", "proxylessnas_enlarged", "-n", "25", "--seed", "3"])
    assert len(lines.splitlines()) == 25
    code, out = run(["info", "proxylessnas_enlarged", "-", "--resolution", "160"], stdin=lines)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 25
    assert [r["arch"] for r in rows] == lines.split()


def test_reference_in_another_space():
    code, out = run(["reference", "mobilenet_v2", "--space", "proxylessnas_enlarged"])
    assert code == 0 and len(out.strip().split(":")) == 73


@pytest.mark.parametrize("argv, message", [
    (["describe", "nope"], "unknown space 'nope'"),
    (["info", "proxylessnas", "0:1"], "expected 73 decisions, got 2"),
    (["info", "proxylessnas", "0:z"], "expected integers separated by ':'"),
    (["info", "mobilenet_v2", "", "--resolution", "-3"], "resolution: expected a positive integer"),
    (["reference", "resnet50"], "unknown reference network 'resnet50'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    code, _ = run(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("jaxnas-space: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
