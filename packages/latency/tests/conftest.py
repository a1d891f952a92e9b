"""Shared fixtures: a tiny registered space and deterministic fake backends."""

from __future__ import annotations

import pytest
from jaxnas.latency import Timing, register_backend
from jaxnas.searchspace import (
    Activation,
    Block,
    Bottleneck,
    Conv,
    GlobalPool,
    OneOf,
    Residual,
    SepConv,
    Space,
    Zero,
    get_space,
    register_space,
)

TINY = "latency_tiny"
TINY_DETECTION = "latency_tiny_detection"
RESOLUTION = 32
NUM_CLASSES = 10


def _tiny() -> Space:
    # Every op kind, SE, residual, a skippable layer and searched widths, at 32 px.
    first = Bottleneck(kernel=OneOf((3, 5), "op"), expansion=OneOf((1.0, 3.0), "filters"),
                       se=OneOf((False, True), "op"), stride=2, activation="hswish")
    skippable = Residual(OneOf((Bottleneck(kernel=OneOf((3, 5), "op"), expansion=3.0, se=False, stride=1,
                                           activation="relu"), Zero()), "op"))
    return Space(TINY, (
        Block([Conv(OneOf((3, 5), "op"), 2), Activation("relu")], OneOf((8, 16), "filters")),
        Block([first, skippable], OneOf((16, 24), "filters")),
        Block([SepConv(3, 1, "relu6"), Conv(1, 1), Activation("hswish"), GlobalPool()], OneOf((32,), "filters")),
    ), 8)


def _tiny_detection() -> Space:
    # Down to output stride 32 at 64 px, searched C4 and C5 widths, a skippable layer at C4.
    def bneck(stride):
        return Bottleneck(kernel=OneOf((3, 5), "op"), expansion=3.0, se=False, stride=stride, activation="relu")

    return Space(TINY_DETECTION, (
        Block([Conv(3, 2), Activation("relu")], 8),
        Block([SepConv(3, 2, "relu")], 8),
        Block([bneck(2)], 16),
        Block([bneck(2), Residual(OneOf((bneck(1), Zero()), "op"))], OneOf((16, 24), "filters")),
        Block([bneck(2)], OneOf((24, 32), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], 48),
    ), 8)


def fake_op_ms(op) -> float:
    """A deterministic, op-dependent latency (ms) with a per-kind overhead."""
    return round(0.01 + 1e-6 * op.macs + {"pool": 0.002, "dense": 0.003}.get(op.kind, 0.02), 9)


class FakeBackend:
    """Latency from MACs; whole networks are 90 % of the op sum plus 0.05 ms. Records what it measured."""

    name = "fake"
    batch = 1
    dtype = "float32"

    def __init__(self, fail_after=None, **_options):
        self.fail_after = fail_after
        self.measured = []  # lists of op signatures, one per measure() call

    def provenance(self) -> dict:
        return {"backend": self.name, "device": "fake device", "threads": 1, "batch": 1, "dtype": "float32",
                "versions": {}}

    def measure(self, ops) -> Timing:
        if self.fail_after is not None and len(self.measured) >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.measured.append([op.signature() for op in ops])
        total = sum(fake_op_ms(op) for op in ops)
        if len(ops) > 1:
            total = 0.9 * total + 0.05
        return Timing(total, 0.95 * total, 1.05 * total, 20)


for _name, _factory in ((TINY, _tiny), (TINY_DETECTION, _tiny_detection)):
    try:
        register_space(_name, _factory)
    except ValueError:  # already registered (conftest imported twice)
        pass
try:
    register_backend("fake", FakeBackend)
except ValueError:
    pass


@pytest.fixture
def tiny():
    return get_space(TINY)


@pytest.fixture
def fake():
    return FakeBackend()


@pytest.fixture
def fake_cls():
    return FakeBackend


@pytest.fixture
def op_ms():
    return fake_op_ms
