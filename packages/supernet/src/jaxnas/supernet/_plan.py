"""Static plans of the supernet's layer slots, derived from ``space.positions``.

Nothing here is written per space: every plan comes from a ``Position`` (its
layer spec with OneOfs, widths and decision indices). A plan says which
parameters a slot owns (names and largest shapes), how its choices are weighted
by the architecture, and which channel tables (expansion and SE widths per
input-width and ratio choice) its masks are read from.

Aggressive weight sharing (the default): inside a slot, variants of the same
layer class share the 1x1 expand/project convs, their BN and the SE; expansion
ratios and widths are channel masks over the largest width; each kernel size has
its own kernel and BN. Without it, every (layer, kernel, expansion) combination
owns all of its weights (widths stay masks).

Shape letters: I = number of input-width choices, R = number of expansion ratios.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from jaxnas.searchspace import (
    Bottleneck,
    Conv,
    OneOf,
    Zero,
    make_divisible,
    scale_filters,
)

Pair = tuple  # (decision index, choice index); decision -1 means "always 1"


@dataclasses.dataclass(frozen=True)
class KernelPlan:
    kernel: int
    weight: Pair


@dataclasses.dataclass(frozen=True)
class VariantPlan:
    """One non-Zero layer choice of a slot (one (kernel, ratio) combination without sharing).

    Attributes:
      kind: ``conv``, ``sepconv`` or ``bottleneck``.
      prefix: parameter-name prefix ('' or e.g. ``bottleneck_`` / ``k3_e6_``).
      weight: ``Pair``s whose weights multiply into this variant's weight.
      kernels: the kernel choices mixed inside the variant.
      expansion: ``(decision, ratios)`` read for the expansion mask.
      e_table, s_table: ``[I][R]`` expansion and SE channels per choice (tuples).
      se: ``(decision, flags)``: SE off/on choice (``flags`` (False,) when absent).
    """

    kind: str
    prefix: str
    weight: tuple
    kernels: tuple
    stride: int
    activation: str
    use_bn: bool
    expansion: tuple = (-1, ())
    e_table: tuple = ()
    s_table: tuple = ()
    se: tuple = (-1, (False,))

    @property
    def e_max(self) -> int:
        return max(max(row) for row in self.e_table) if self.e_table else 0

    @property
    def s_max(self) -> int:
        return max(max(row) for row in self.s_table) if self.has_se else 0

    @property
    def has_se(self) -> bool:
        return any(self.se[1])


@dataclasses.dataclass(frozen=True)
class SlotPlan:
    """A ``layer`` position of the space: its variants and widths."""

    position: object
    scope: str
    variants: tuple

    @property
    def in_max(self) -> int:
        return max(self.position.in_width.choices)

    @property
    def out_max(self) -> int:
        return max(self.position.out_width.choices)


def scope_of(position) -> str:
    """``block{b}_layer{l}`` (the same scope as the child network's op)."""
    return "classifier" if position.kind == "dense" else f"block{position.block}_layer{position.layer}"


def _lookup(local: dict, rel_prefix: str, field: str) -> int:
    return local.get(f"{rel_prefix}{field}", -1)


def _choices(value) -> tuple:
    return value.choices if isinstance(value, OneOf) else (value,)


def _variants_of(position, layer, c: int, rel_prefix: str, op_pair: Pair, class_prefix: str,
                 filters_base: int, aggressive: bool) -> list:
    local = dict(position.local)
    kernel_dec = _lookup(local, rel_prefix, "kernel")
    kernels = tuple(KernelPlan(k, (kernel_dec, i) if kernel_dec >= 0 else (-1, 0))
                    for i, k in enumerate(_choices(layer.kernel)))
    act = position.activation or "none" if isinstance(layer, Conv) else layer.activation
    base = {"kind": type(layer).__name__.lower(), "stride": layer.stride, "activation": act,
            "use_bn": getattr(layer, "use_bn", True)}
    if not isinstance(layer, Bottleneck):
        return [VariantPlan(prefix=class_prefix, weight=(op_pair,), kernels=kernels, **base)]
    exp_dec = _lookup(local, rel_prefix, "expansion")
    se_dec = _lookup(local, rel_prefix, "se")
    ratios = _choices(layer.expansion)
    ins = position.in_width.choices
    e_table = tuple(tuple(scale_filters(w, r, filters_base) for r in ratios) for w in ins)
    s_table = tuple(tuple(make_divisible(e / 4, 8) for e in row) for row in e_table)
    se = (se_dec, tuple(_choices(layer.se)))
    if aggressive:
        return [VariantPlan(prefix=class_prefix, weight=(op_pair,), kernels=kernels,
                            expansion=(exp_dec, ratios), e_table=e_table, s_table=s_table, se=se, **base)]
    out = []
    for k in kernels:  # every (kernel, ratio) combination owns its weights
        for r, ratio in enumerate(ratios):
            pair = (exp_dec, r) if exp_dec >= 0 else (-1, 0)
            out.append(VariantPlan(prefix=f"{class_prefix}k{k.kernel}_e{ratio:g}_", weight=(op_pair, pair),
                                   kernels=(KernelPlan(k.kernel, k.weight),), expansion=(-1, (ratio,)),
                                   e_table=tuple((row[r],) for row in e_table),
                                   s_table=tuple((row[r],) for row in s_table), se=se, **base))
    return out


def slot_plan(position, filters_base: int, aggressive: bool = True) -> SlotPlan:
    """The plan of one ``layer`` position."""
    spec = position.spec
    local = dict(position.local)
    if isinstance(spec, OneOf):
        op_dec = local["op"]
        choices = spec.choices
        holders = sum(1 for ch in choices if not isinstance(ch, Zero) and any(
            isinstance(getattr(ch, f, None), OneOf) for f in ("kernel", "expansion", "se")))
    else:
        op_dec, choices, holders = -1, (spec,), 0
    classes = {type(ch) for ch in choices if not isinstance(ch, Zero)}
    variants = []
    for c, layer in enumerate(choices):
        if isinstance(layer, Zero):
            continue
        rel_prefix = f"choice{c}/" if holders > 1 else ""
        class_prefix = f"{type(layer).__name__.lower()}_" if len(classes) > 1 else ""
        if not aggressive and len(choices) > 1 and sum(not isinstance(x, Zero) for x in choices) > 1:
            class_prefix = f"{class_prefix}choice{c}_"
        op_pair = (op_dec, c) if op_dec >= 0 else (-1, 0)
        variants.extend(_variants_of(position, layer, c, rel_prefix, op_pair, class_prefix, filters_base,
                                     aggressive))
    return SlotPlan(position, scope_of(position), tuple(variants))


def param_shapes(plan: SlotPlan) -> dict:
    """``{name: (shape, role)}`` of every parameter of a slot, at the largest widths.

    ``role`` is ``conv`` (a conv kernel: He init, L2), ``dw`` (depthwise kernel),
    ``scale``, ``offset`` or ``bias``.
    """
    out: dict = {}
    cin, cout = plan.in_max, plan.out_max

    def bn(name, c):
        out[f"{name}bn_scale"] = ((c,), "scale")
        out[f"{name}bn_offset"] = ((c,), "offset")

    for v in plan.variants:
        p = v.prefix
        for kp in v.kernels:
            k = kp.kernel
            if v.kind == "conv":
                out[f"{p}conv{k}_w"] = ((k, k, cin, cout), "conv")
                if v.use_bn:
                    bn(f"{p}conv{k}_", cout)
                else:
                    out[f"{p}conv{k}_bias"] = ((cout,), "bias")
            else:
                width = cin if v.kind == "sepconv" else v.e_max
                out[f"{p}dw{k}_w"] = ((k, k, width), "dw")
                bn(f"{p}dw{k}_", width)
        if v.kind == "bottleneck":
            e = v.e_max
            out[f"{p}expand_w"] = ((1, 1, cin, e), "conv")
            bn(f"{p}expand_", e)
            if v.has_se:
                s = v.s_max
                out[f"{p}se_reduce_w"] = ((e, s), "conv")
                out[f"{p}se_reduce_b"] = ((s,), "bias")
                out[f"{p}se_expand_w"] = ((s, e), "conv")
                out[f"{p}se_expand_b"] = ((e,), "bias")
        if v.kind in ("sepconv", "bottleneck"):
            out[f"{p}project_w"] = ((1, 1, cin if v.kind == "sepconv" else v.e_max, cout), "conv")
            bn(f"{p}project_", cout)
    return out


def find_variant(plan: SlotPlan, arch: np.ndarray) -> tuple | None:
    """The ``(variant, kernel plan)`` a fixed architecture selects in a slot (None: Zero)."""
    def weight(pair):
        d, c = pair
        return 1.0 if d < 0 else float(arch[d] == c)

    for v in plan.variants:
        if all(weight(p) for p in v.weight):
            for k in v.kernels:
                if weight(k.weight):
                    return v, k
    return None
