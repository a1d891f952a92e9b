"""Small spaces registered by the apps for CPU-sized searches on the built-in dataset.

``proxylessnas_micro``: the ProxylessNAS skeleton cut to 5 blocks with searched
kernels {3, 5, 7}, expansions {3, 6}, skippable layers and block widths, so a
search on a laptop CPU finishes in minutes. Its largest network has about 9x the
MACs of its smallest: architecture choice matters for accuracy and latency.
``proxylessnas_nano``: two stages, 6 decisions, for tests and smoke runs.
``detection_micro`` / ``detection_nano``: the same skeletons down to output stride 32 with the
stride-32 block marked as the C5 endpoint (searched C4 and C5 widths), for the detection apps
on the built-in detection dataset (128 px / 64 px).
"""

from __future__ import annotations

from jaxnas.searchspace import (
    Activation,
    Block,
    Bottleneck,
    Conv,
    Endpoint,
    GlobalPool,
    OneOf,
    Residual,
    SepConv,
    Space,
    Zero,
    list_spaces,
    register_space,
)


def proxylessnas_micro() -> Space:
    """A 5-block ProxylessNAS-like space (kernels, expansions, skips, widths)."""

    def bneck(stride: int, skippable: bool):
        layer = Bottleneck(kernel=OneOf((3, 5, 7), "op"), expansion=OneOf((3.0, 6.0), "filters"),
                           se=False, stride=stride, activation="relu")
        return OneOf((layer, Zero()) if skippable else (layer,), "op")

    def body(stride: int):
        return [bneck(stride, False), Residual(bneck(1, True)), Residual(bneck(1, True))]

    blocks = (
        Block([Conv(3, 2), Activation("relu")], OneOf((16,), "filters")),
        Block([OneOf(tuple(SepConv(k, 1, "relu") for k in (3, 5, 7)), "op")], OneOf((8, 16), "filters")),
        Block(body(2), OneOf((16, 24), "filters")),
        Block(body(2), OneOf((24, 32, 40), "filters")),
        Block(body(2), OneOf((40, 64, 80), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], OneOf((128, 256), "filters")),
    )
    return Space("proxylessnas_micro", blocks, 8)


def proxylessnas_nano() -> Space:
    """A 2-stage toy of the same skeleton for tests and smoke runs (compiles in seconds)."""
    layer = Bottleneck(kernel=OneOf((3, 5), "op"), expansion=OneOf((3.0, 6.0), "filters"), se=False, stride=1,
                       activation="relu")
    blocks = (
        Block([Conv(3, 2), Activation("relu")], OneOf((8,), "filters")),
        Block([OneOf(tuple(SepConv(k, 2, "relu") for k in (3, 5)), "op"),
               Residual(OneOf((layer, Zero()), "op"))], OneOf((8, 16), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], OneOf((32, 64), "filters")),
    )
    return Space("proxylessnas_nano", blocks, 8)


def _bneck(stride: int, kernels=(3, 5, 7), expansions=(3.0, 6.0)):
    return Bottleneck(kernel=OneOf(kernels, "op"), expansion=OneOf(expansions, "filters"), se=False,
                      stride=stride, activation="relu")


def detection_micro() -> Space:
    """``proxylessnas_micro`` extended to output stride 32: C4 (stride 16) and C5 (stride 32) searched."""

    def body(stride: int):
        return [_bneck(stride), Residual(OneOf((_bneck(1), Zero()), "op"))]

    blocks = (
        Block([Conv(3, 2), Activation("relu")], OneOf((16,), "filters")),
        Block([OneOf(tuple(SepConv(k, 1, "relu") for k in (3, 5)), "op")], OneOf((8, 16), "filters")),
        Block(body(2), OneOf((16, 24), "filters")),
        Block(body(2), OneOf((24, 32, 40), "filters")),
        Block(body(2), OneOf((40, 64, 80), "filters")),
        Block(body(2) + [Endpoint()], OneOf((64, 96, 128), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], OneOf((256,), "filters")),
    )
    return Space("detection_micro", blocks, 8)


def detection_nano() -> Space:
    """Five stride-2 stages, 7 decisions (C4 and C5 widths among them): detection tests and smoke runs."""
    layer = _bneck(1, (3, 5), (3.0,))
    blocks = (
        Block([Conv(3, 2), Activation("relu")], OneOf((8,), "filters")),
        Block([SepConv(3, 2, "relu")], OneOf((8,), "filters")),
        Block([_bneck(2, (3, 5), (3.0,))], OneOf((16,), "filters")),
        Block([_bneck(2, (3, 5), (3.0,)), Residual(OneOf((layer, Zero()), "op"))], OneOf((16, 24), "filters")),
        Block([_bneck(2, (3,), (3.0, 6.0)), Endpoint()], OneOf((24, 32), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], OneOf((32,), "filters")),
    )
    return Space("detection_nano", blocks, 8)


_FACTORIES = (("proxylessnas_micro", proxylessnas_micro), ("proxylessnas_nano", proxylessnas_nano),
              ("detection_micro", detection_micro), ("detection_nano", detection_nano))


def register_app_spaces() -> None:
    """Registers the apps' spaces (idempotent)."""
    for name, factory in _FACTORIES:
        if name not in list_spaces():
            register_space(name, factory)


register_app_spaces()
