"""The xla backend on two tiny ops and a tiny network (jax on the default device)."""

import pytest

pytest.importorskip("jax")

from jaxnas.latency import get_backend
from jaxnas.searchspace import ConcreteOp


def test_xla_times_ops_and_networks():
    backend = get_backend("xla", runs=20, min_time_s=0.0)
    conv = ConcreteOp("conv", 16, 16, 3, 8, kernel=3, stride=2, activation="relu")
    bottleneck = ConcreteOp("bottleneck", 8, 8, 8, 8, kernel=3, stride=1, expansion_channels=16, se_channels=8,
                            activation="hswish", residual=True)
    head = [ConcreteOp("pool", 8, 8, 8, 8), ConcreteOp("dense", 1, 1, 8, 4)]
    for ops in ([conv], [bottleneck], [conv, bottleneck, *head]):
        timing = backend.measure(ops)
        assert timing.runs >= 20 and timing.median_ms > 0
    assert backend.provenance()["backend"] == "xla"
    with pytest.raises(ValueError, match="runs must be an int >= 20"):
        get_backend("xla", runs=3)
