"""Heads on endpoints: endpoint discovery, tables that cover head ops, backbone + head prediction."""

import numpy as np
import pytest
from jaxnas.latency import (
    Head,
    HeadedCost,
    MissingSignatureError,
    build_table,
    head_ops,
    latency_model,
    network_latency,
    space_endpoints,
)
from jaxnas.searchspace import ConcreteOp

RESOLUTION, NUM_CLASSES = 32, 10  # the tiny space of conftest.py


def toy_head_ops(shapes):
    """A predictor on C1 and an extra stride-2 layer on C2 (like SSDLite's, smaller)."""
    h1, w1, c1 = shapes["C1"]
    h2, w2, c2 = shapes["C2"]
    return [ConcreteOp("bottleneck", h2, w2, c2, 16, kernel=3, stride=2, expansion_channels=8, activation="relu6"),
            ConcreteOp("sepconv", h1, w1, c1, 12, kernel=3, activation="relu6")]


HEAD = Head("toy", ("C1", "C2"), toy_head_ops)


def test_endpoints_follow_the_supernet_rule(tiny):
    eps = space_endpoints(tiny, RESOLUTION)
    assert sorted(eps) == ["C1", "C2"]
    assert (eps["C1"].height, eps["C1"].channels.choices) == (16, (8, 16))
    # C2: the last stride-4 slot before the pool (the 1x1 conv), not the first layer of the block.
    assert eps["C2"].height == 8 and eps["C2"].channels.choices == (32,)
    assert eps["C2"].position == len(tiny.positions) - 3


def test_table_covers_the_head_and_prediction_equals_the_per_op_sum(tmp_path, tiny, fake, op_ms):
    lines = []
    table = build_table(tiny, fake, RESOLUTION, NUM_CLASSES, out=str(tmp_path / "t.json"), progress=False,
                        log=lines.append, head=HEAD)
    extra = head_ops(tiny, HEAD, RESOLUTION)
    assert len(extra) == 3  # the C1 predictor for widths 8 and 16, one extra layer on the fixed C2
    assert all(op in table for op in extra) and table.provenance["heads"] == ["toy"]
    assert lines[0].startswith("latency_tiny (with head toy) at 32px: 48 distinct op signatures")
    model = latency_model(table, tiny, head=HEAD)
    assert isinstance(model.cost, HeadedCost)
    archs = tiny.sample(np.random.default_rng(0), 50)
    ms = model.predict(archs)
    assert ms.tolist() == [network_latency(table, tiny, a, head=HEAD) for a in archs]  # bit for bit
    # The head's cost follows the searched C1 width; the classifier (pool, dense) is not counted.
    head_ms = model.per_slot(archs)[:, -1]
    c1 = space_endpoints(tiny, RESOLUTION)["C1"].channels
    widths = np.array([c1.choices[a[c1.decision]] for a in archs])
    assert set(np.unique(head_ms[widths == 8])) != set(np.unique(head_ms[widths == 16]))
    plain = latency_model(table, tiny).predict(archs)
    pool_dense = sum(op_ms(op) for op in tiny.network(archs[0], RESOLUTION, NUM_CLASSES) if op.kind in ("pool", "dense"))
    assert not np.allclose(plain, ms) and pool_dense > 0


def test_headed_macs_cost_matches_the_ops(tiny):
    cost = HeadedCost(tiny, HEAD, lambda op: op.macs, RESOLUTION, NUM_CLASSES, dtype=np.int64)
    arch = tiny.sample(np.random.default_rng(1), 1)[0]
    from jaxnas.latency._heads import headed_network
    backbone, ops = headed_network(tiny, HEAD, arch, RESOLUTION, NUM_CLASSES)
    assert int(cost(arch)[0]) == sum(op.macs for op in backbone + ops)


def test_missing_head_ops_and_endpoints_are_named(tmp_path, tiny, fake):
    table = build_table(tiny, fake, RESOLUTION, NUM_CLASSES, progress=False, log=None)
    with pytest.raises(MissingSignatureError, match="no ops of head 'toy'"):
        latency_model(table, tiny, head=HEAD)
    with pytest.raises(ValueError, match=r"reads endpoints \['C4', 'C5'\].*has only \['C1', 'C2'\]"):
        latency_model(table, tiny, head=Head("ssdlite", ("C4", "C5"), toy_head_ops))
