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
