"""The TuNAS search spaces, fixed reference networks, and the space registry.

Searchable (docs/design.md section 4): ``proxylessnas`` (73 decisions, ~10^21.3),
``proxylessnas_enlarged`` (~10^28.1), ``mobilenet_v3_like`` (86, ~10^42.9).
Fixed: ``mobilenet_v2``, ``mnasnet_b1``, ``proxylessnas_mobile``, ``mobilenet_v3_large``.
"""

from __future__ import annotations

from typing import Callable

from jaxnas.searchspace._blockstring import fixed_space
from jaxnas.searchspace._filters import scale_filters
from jaxnas.searchspace._space import Space
from jaxnas.searchspace._specs import (Activation, Block, Bottleneck, Conv, Endpoint, GlobalPool, OneOf,
                                       Residual, SepConv, Zero)

WIDTH_MULTIPLIERS = (0.5, 0.625, 0.75, 1.0, 1.25, 1.5, 2.0)


def width_choices(base: int, multipliers=WIDTH_MULTIPLIERS, filters_base: int = 8) -> OneOf:
    """Sorted distinct widths ``scale_filters(base, m, filters_base)`` as a filters OneOf.

    >>> width_choices(32).choices
    (16, 24, 32, 40, 48, 64)
    """
    return OneOf(tuple(sorted({scale_filters(base, m, filters_base) for m in multipliers})), "filters")


def _proxylessnas(name: str, widths) -> Space:
    """The ProxylessNAS skeleton; ``widths`` are 9 OneOfs (one per block)."""

    def bneck(stride: int, skippable: bool):
        layer = Bottleneck(kernel=OneOf((3, 5, 7), "op"), expansion=OneOf((3.0, 6.0), "filters"),
                           se=False, stride=stride, activation="relu")
        return OneOf((layer, Zero()) if skippable else (layer,), "op")

    def body(first_stride: int, endpoint: bool):
        layers = [bneck(first_stride, False)] + [Residual(bneck(1, True)) for _ in range(3)]
        return layers + ([Endpoint()] if endpoint else [])

    sepconvs = OneOf(tuple(SepConv(k, 1, "relu") for k in (3, 5, 7)), "op")
    blocks = [
        Block([Conv(3, 2), Activation("relu")], widths[0]),
        Block([sepconvs, Endpoint()], widths[1]),
        Block(body(2, True), widths[2]),
        Block(body(2, True), widths[3]),
        Block(body(2, False), widths[4]),
        Block(body(1, True), widths[5]),
        Block(body(2, True), widths[6]),
        Block([bneck(1, False), Endpoint()], widths[7]),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], widths[8]),
    ]
    return Space(name, tuple(blocks), 8)


def proxylessnas() -> Space:
    """TuNAS's reproduction of the ProxylessNAS space: kernels, expansions, skips."""
    return _proxylessnas("proxylessnas", [OneOf((w,), "filters")
                                          for w in (32, 16, 32, 40, 80, 96, 192, 320, 1280)])


def proxylessnas_enlarged() -> Space:
    """ProxylessNAS with every block width searched too."""
    return _proxylessnas("proxylessnas_enlarged", [width_choices(b)
                                                   for b in (16, 16, 16, 32, 64, 128, 256, 512, 1024)])


def mobilenet_v3_like() -> Space:
    """TuNAS's MobileNetV3-like space: kernels, expansions 1-6, SE, skips, widths."""
    base = (16, 16, 32, 64, 128, 256, 512, 1024)

    def bneck(stride, act):
        return Bottleneck(kernel=OneOf((3, 5, 7), "op"), expansion=OneOf((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), "filters"),
                          se=OneOf((False, True), "op"), stride=stride, activation=act)

    def body(first_stride, act, endpoint):
        layers = [bneck(first_stride, act)] + [Residual(OneOf((bneck(1, act), Zero()), "op")) for _ in range(3)]
        return layers + ([Endpoint()] if endpoint else [])

    blocks = [
        Block([Conv(OneOf((3, 5), "op"), 2), Activation("hswish"),
               Residual(OneOf((SepConv(OneOf((3, 5, 7), "op"), 1, "relu"), Zero()), "op")), Endpoint()],
              width_choices(base[0])),
        Block(body(2, "relu", True), width_choices(base[1])),
        Block(body(2, "relu", True), width_choices(base[2])),
        Block(body(2, "hswish", False), width_choices(base[3])),
        Block(body(1, "hswish", True), width_choices(base[4])),
        Block(body(2, "hswish", True), width_choices(base[5])),
        Block([Conv(1, 1), Activation("hswish"), GlobalPool()], width_choices(base[6])),
        Block([Conv(1, 1, use_bn=False), Activation("hswish")], width_choices(base[7])),
    ]
    return Space("mobilenet_v3_like", tuple(blocks), 8)


# Endpoints of the ProxylessNAS skeleton (after blocks 1, 2, 3, 5, 6, 7).
_PROXYLESS_ENDPOINTS = (1, 2, 3, 5, 6, 7)

MOBILENET_V2_BLOCKS = (
    "conv_k3_s2_c32_relu | ds_k3_c16_relu | ir_k3_e6_s2_c24_relu ir_k3_e6_c24_relu"
    " | ir_k3_e6_s2_c32_relu ir_k3_e6_c32_relu ir_k3_e6_c32_relu"
    " | ir_k3_e6_s2_c64_relu ir_k3_e6_c64_relu ir_k3_e6_c64_relu ir_k3_e6_c64_relu"
    " | ir_k3_e6_c96_relu ir_k3_e6_c96_relu ir_k3_e6_c96_relu"
    " | ir_k3_e6_s2_c160_relu ir_k3_e6_c160_relu ir_k3_e6_c160_relu"
    " | ir_k3_e6_c320_relu | conv_k1_c1280_relu pool")

MNASNET_B1_BLOCKS = (
    "conv_k3_s2_c32_relu | ds_k3_c16_relu | ir_k3_e3_s2_c24_relu ir_k3_e3_c24_relu ir_k3_e3_c24_relu"
    " | ir_k5_e3_s2_c40_relu ir_k5_e3_c40_relu ir_k5_e3_c40_relu"
    " | ir_k5_e6_s2_c80_relu ir_k5_e6_c80_relu ir_k5_e6_c80_relu"
    " | ir_k3_e6_c96_relu ir_k3_e6_c96_relu"
    " | ir_k5_e6_s2_c192_relu ir_k5_e6_c192_relu ir_k5_e6_c192_relu ir_k5_e6_c192_relu"
    " | ir_k3_e6_c320_relu | conv_k1_c1280_relu pool")

PROXYLESSNAS_MOBILE_BLOCKS = (
    "conv_k3_s2_c32_relu | ds_k3_c16_relu | ir_k5_e3_s2_c32_relu ir_k3_e3_c32_relu"
    " | ir_k7_e3_s2_c40_relu ir_k3_e3_c40_relu ir_k5_e3_c40_relu ir_k5_e3_c40_relu"
    " | ir_k7_e6_s2_c80_relu ir_k5_e3_c80_relu ir_k5_e3_c80_relu ir_k5_e3_c80_relu"
    " | ir_k5_e6_c96_relu ir_k5_e3_c96_relu ir_k5_e3_c96_relu ir_k5_e3_c96_relu"
    " | ir_k7_e6_s2_c192_relu ir_k7_e6_c192_relu ir_k7_e3_c192_relu ir_k7_e3_c192_relu"
    " | ir_k7_e6_c320_relu | conv_k1_c1280_relu pool")

# Expansion ratios are exp_size / input width (64/16, 72/24, 120/40, 240/40, 200/80, 184/80, ...);
# scale_filters turns them back into the published channel counts exactly.
MOBILENET_V3_LARGE_BLOCKS = (
    "conv_k3_s2_c16_hswish ds_k3_c16_relu"
    " | ir_k3_e4_s2_c24_relu ir_k3_e3_c24_relu"
    " | ir_k5_e3_s2_c40_se_relu ir_k5_e3_c40_se_relu ir_k5_e3_c40_se_relu"
    " | ir_k3_e6_s2_c80_hswish ir_k3_e2.5_c80_hswish ir_k3_e2.3_c80_hswish ir_k3_e2.3_c80_hswish"
    " | ir_k3_e6_c112_se_hswish ir_k3_e6_c112_se_hswish"
    " | ir_k5_e6_s2_c160_se_hswish ir_k5_e6_c160_se_hswish ir_k5_e6_c160_se_hswish"
    " | conv_k1_c960_hswish pool | conv_k1_c1280_nobn_hswish")


def mobilenet_v2() -> Space:
    """MobileNetV2 1.0 (3,504,872 params, 300.8 M MACs)."""
    return fixed_space("mobilenet_v2", MOBILENET_V2_BLOCKS, endpoints=_PROXYLESS_ENDPOINTS)


def mnasnet_b1() -> Space:
    """MnasNet-B1 1.0 without SE (4,383,312 params, 314.4 M MACs)."""
    return fixed_space("mnasnet_b1", MNASNET_B1_BLOCKS, endpoints=_PROXYLESS_ENDPOINTS)


def proxylessnas_mobile() -> Space:
    """ProxylessNAS-Mobile (4,080,512 params, 320.4 M MACs)."""
    return fixed_space("proxylessnas_mobile", PROXYLESSNAS_MOBILE_BLOCKS, endpoints=_PROXYLESS_ENDPOINTS)


def mobilenet_v3_large() -> Space:
    """MobileNetV3-Large 1.0 as in TuNAS (sigmoid SE gate; 5,483,032 params, 216.6 M MACs)."""
    return fixed_space("mobilenet_v3_large", MOBILENET_V3_LARGE_BLOCKS, endpoints=(0, 1, 2, 4, 5))


# ---------------------------------------------------------------- registry
_REGISTRY: dict[str, Callable[[], Space]] = {}
_CACHE: dict[str, Space] = {}


def register_space(name: str, factory: Callable[[], Space]) -> None:
    """Registers a space factory under ``name``; names must be new.

    >>> from jaxnas.searchspace import Block, Conv, Activation, GlobalPool, OneOf
    >>> register_space("tiny_doc", lambda: Space("tiny_doc", (
    ...     Block([Conv(OneOf((3, 5)), 2), Activation("relu"), GlobalPool()], OneOf((8, 16), "filters")),)))
    >>> get_space("tiny_doc").num_decisions
    2
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_space: name must be a non-empty string, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"register_space: a space named {name!r} is already registered")
    if not callable(factory):
        raise TypeError("register_space: factory must be a callable returning a Space")
    _REGISTRY[name] = factory


def get_space(name: str) -> Space:
    """The registered space ``name`` (built once, then cached).

    Raises:
      ValueError: unknown name; the message lists the known ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown space {name!r}; known spaces: {', '.join(sorted(_REGISTRY))}")
    if name not in _CACHE:
        space = _REGISTRY[name]()
        if not isinstance(space, Space):
            raise TypeError(f"space factory for {name!r} returned {type(space).__name__}, not a Space")
        _CACHE[name] = space
    return _CACHE[name]


def list_spaces() -> list[str]:
    """Names of all registered spaces, sorted."""
    return sorted(_REGISTRY)


for _name, _factory in (("proxylessnas", proxylessnas), ("proxylessnas_enlarged", proxylessnas_enlarged),
                        ("mobilenet_v3_like", mobilenet_v3_like), ("mobilenet_v2", mobilenet_v2),
                        ("mnasnet_b1", mnasnet_b1), ("proxylessnas_mobile", proxylessnas_mobile),
                        ("mobilenet_v3_large", mobilenet_v3_large)):
    register_space(_name, _factory)
