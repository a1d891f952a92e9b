"""Latency of backbone + SSDLite head: tables that cover the head, predictions, the MobileNetV3 + SSDLite target."""

import numpy as np
import pytest
from jaxnas.apps._cost import search_cost
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.detection import build_detection_table, detection_facts, ssdlite_head
from jaxnas.latency import (
    LatencyTable,
    Timing,
    get_backend,
    latency_model,
    network_latency,
    space_endpoints,
)
from jaxnas.searchspace import get_space

register_app_spaces()
R, K, EXTRA = 64, 6, (32,)


class StubBackend:
    """Latency = MACs / 1e6 + 0.01 ms per op: deterministic and op-dependent."""

    name, batch, dtype = "stub", 1, "float32"

    def provenance(self):
        return {"backend": "stub", "device": "stub", "batch": 1, "dtype": "float32"}

    def measure(self, ops):
        ms = sum(op.macs / 1e6 + 0.01 for op in ops)
        return Timing(ms, ms, ms, 20)


def test_table_covers_the_head_and_the_reference_target(tmp_path):
    path = str(tmp_path / "det.json")
    head = ssdlite_head(K, EXTRA)
    table = build_detection_table("mobilenet_v3_like", StubBackend(), R, K, out=path, progress=False,
                                  extra_depths=EXTRA)
    assert table.provenance["heads"] == [head.name]
    build_detection_table("mobilenet_v3_large", StubBackend(), R, K, out=path, progress=False, extra_depths=EXTRA)
    space = get_space("mobilenet_v3_like")
    cost = search_cost(space, path, "mobilenet_v3_large", R, K, head=head)
    table = LatencyTable.load(path)
    ref = get_space("mobilenet_v3_large")
    assert cost.unit == "ms" and cost.target == latency_model(table, ref, head=head).predict(np.zeros((1, 0)))[0]
    archs = space.sample(np.random.default_rng(0), 10)
    np.testing.assert_array_equal(cost.predict(archs), [network_latency(table, space, a, head=head) for a in archs])
    np.testing.assert_allclose(np.asarray(cost.jax_fn(archs.astype(np.int32))), cost.predict(archs), rtol=1e-5)
    # The stub's latency is MACs + 0.01 ms per op: the head is counted, the classifier is not.
    for a in archs[:3]:
        ops = len(network_ops(space, a, head))
        assert cost.predict(a)[0] == pytest.approx(detection_facts(space, a, K, R, EXTRA)["macs"] / 1e6 + 0.01 * ops)


def network_ops(space, arch, head):
    from jaxnas.latency._heads import headed_network
    backbone, ops = headed_network(space, head, arch, R)
    return backbone + ops


def test_a_table_without_the_head_is_refused_with_the_fix(tmp_path):
    from jaxnas.latency import build_table
    space = get_space("detection_nano")
    path = str(tmp_path / "plain.json")
    build_table(space, StubBackend(), R, 1000, out=path, progress=False, log=None)
    with pytest.raises(ValueError, match="build_detection_table"):
        search_cost(space, path, 1.0, R, K, head=ssdlite_head(K, EXTRA))
    with pytest.raises(ValueError, match="measured at 64 px but the networks run at 128 px"):
        search_cost(space, path, 1.0, 128, K, head=ssdlite_head(K, EXTRA))


def test_ssdlite_on_mobilenet_v3_large_and_a_head_op_on_xla():
    space = get_space("mobilenet_v3_large")
    eps = space_endpoints(space, 320)
    assert (eps["C4"].height, eps["C4"].channels.choices, eps["C5"].height, eps["C5"].channels.choices) == \
        (20, (112,), 10, (160,))
    ops = ssdlite_head(90).ops({"C4": (20, 20, 112), "C5": (10, 10, 160)})
    assert len(ops) == 16 and ops[-1].out_channels == 6 * 91
    backend = get_backend("xla", runs=20, warmup=1, min_time_s=0.0)
    for op in (ops[0], ops[5]):  # the first extra layer (a bottleneck) and C4's class predictor (a sepconv)
        timing = backend.measure([op])
        assert timing.median_ms > 0 and timing.runs >= 20
