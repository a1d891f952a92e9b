"""The real litert backend on a few tiny ops (TensorFlow converter + LiteRT interpreter)."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
pytest.importorskip("tensorflow")

from jaxnas.latency import build_table, export_models, get_backend, validate_table
from jaxnas.searchspace import (
    Activation,
    Block,
    ConcreteOp,
    Conv,
    GlobalPool,
    OneOf,
    Space,
)


def _op_names(model: bytes) -> set:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    return {d["op_name"] for d in interpreter._get_ops_details()}


def _mini() -> Space:
    return Space("latency_mini", (Block([Conv(OneOf((1, 3), "op"), 2), Activation("relu"), GlobalPool()],
                                        OneOf((8,), "filters")),), 8)


def test_ops_are_built_and_timed():
    backend = get_backend("litert", runs=20, min_time_s=0.0)
    bottleneck = ConcreteOp("bottleneck", 8, 8, 16, 16, kernel=3, stride=1, expansion_channels=32, se_channels=8,
                            activation="hswish", residual=True)
    names = _op_names(backend.model([bottleneck]))
    # expand, depthwise, SE (pool, two 1x1 convs, sigmoid, scale), project, residual add
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "LOGISTIC", "MUL", "ADD", "HARD_SWISH"} <= names
    timing = backend.measure([bottleneck])
    assert timing.runs >= 20 and 0 < timing.p10_ms <= timing.median_ms <= timing.p90_ms
    conv = ConcreteOp("conv", 16, 16, 3, 8, kernel=3, stride=2, activation="relu")
    assert backend.measure([conv]).median_ms > 0
    provenance = backend.provenance()
    assert provenance["threads"] == 1 and provenance["versions"]["ai-edge-litert"]


def test_a_single_op_finds_l2_evicted_and_its_input_rewritten(monkeypatch):
    from jaxnas.latency import _litert
    from jaxnas.latency._host import l2_cache_bytes

    calls = {}

    def record(run, *args, between=None, **kwargs):
        calls["interpreter"], calls["between"] = run.__self__, between
        return _litert.Timing(1.0, 1.0, 1.0, 20)

    monkeypatch.setattr(_litert, "time_callable", record)
    backend = get_backend("litert", runs=20, min_time_s=0.0)
    assert backend.flush_bytes == 4 * l2_cache_bytes()  # the default, recorded in the provenance
    assert backend.provenance()["flush_bytes_before_op_runs"] == backend.flush_bytes
    conv = ConcreteOp("conv", 8, 8, 3, 8, kernel=3, stride=1, activation="relu")
    backend.measure([conv])
    interpreter, between = calls["interpreter"], calls["between"]
    index = interpreter.get_input_details()[0]["index"]
    x = interpreter.get_tensor(index).copy()
    interpreter.set_tensor(index, np.zeros_like(x))
    before = backend._flush.copy()
    between()
    assert np.all(backend._flush == before + 1)  # every byte of the buffer rewritten
    np.testing.assert_array_equal(interpreter.get_tensor(index), x)  # then the op's input, as a network leaves it
    backend.measure([conv, ConcreteOp("conv", 8, 8, 8, 8, kernel=1, stride=1, activation="relu")])
    assert calls["between"] is None  # whole networks are timed as they run
    assert get_backend("litert", flush_bytes=0).measure([conv]) and calls["between"] is None
    with pytest.raises(ValueError, match=r"flush_bytes must be an int >= 0 \(0 = off, default 4 x L2\), got -1"):
        get_backend("litert", flush_bytes=-1)


def test_build_validate_export_on_a_mini_space(tmp_path):
    space = _mini()
    backend = get_backend("litert", runs=20, min_time_s=0.0, cache_dir=str(tmp_path / "cache"))
    table = build_table(space, backend, 16, 4, out=str(tmp_path / "t.json"), progress=False, log=None)
    assert len(table) == 4  # two convs, pool, dense
    assert len(os.listdir(tmp_path / "cache")) == 4
    report = validate_table(table, backend, space, num_archs=4, seed=0, progress=False, log=None)
    assert report["num_archs"] == 4 and all(r["measured_ms"] > 0 for r in report["archs"])
    manifest_path = export_models(space, str(tmp_path / "export"), 16, 4, num_networks=2, backend=backend)
    with open(manifest_path) as f:
        manifest = json.load(f)
    assert [os.path.exists(tmp_path / "export" / e["file"]) for e in manifest["ops"] + manifest["networks"]] == \
        [True] * 6
    assert manifest["ops"][0]["input_shape"] == [1, 16, 16, 3]
    assert np.array(manifest["networks"][0]["input_shape"]).tolist() == [1, 16, 16, 3]
