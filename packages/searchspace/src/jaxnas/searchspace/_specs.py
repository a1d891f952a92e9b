"""The search-space DSL: layer specs, ``OneOf`` decisions, blocks and spaces.

Every spec is a frozen dataclass: immutable, hashable, comparable, and
JSON-serialisable through :func:`spec_to_dict` / :func:`spec_from_dict`.
Each validates its fields on construction and raises ``ValueError`` or
``TypeError`` naming the field and what it accepts.

A value that the search decides is wrapped in ``OneOf(choices, tag)``; the tag
is ``"op"`` (kernel sizes, skip/keep, squeeze-excite, op type) or ``"filters"``
(block widths, expansion ratios).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union

TAGS = ("op", "filters")
ACTIVATIONS = ("relu", "relu6", "hswish", "sigmoid")


def _freeze(obj, name, value):
    object.__setattr__(obj, name, value)


def _where(obj, field):
    return f"{type(obj).__name__}.{field}"


@dataclasses.dataclass(frozen=True)
class OneOf:
    """A decision: the search picks exactly one of ``choices``.

    Args:
      choices: the alternatives (ints, floats, bools or layer specs), at least one.
      tag: ``"op"`` or ``"filters"``.

    >>> OneOf([3, 5, 7], "op")
    OneOf(choices=(3, 5, 7), tag='op')
    """

    choices: tuple
    tag: str = "op"

    def __post_init__(self):
        if isinstance(self.choices, (str, bytes)) or not hasattr(self.choices, "__iter__"):
            raise TypeError(f"OneOf.choices: expected a list of choices, got {self.choices!r}")
        choices = tuple(self.choices)
        if not choices:
            raise ValueError("OneOf.choices: needs at least one choice, got an empty list")
        if self.tag not in TAGS:
            raise ValueError(f"OneOf.tag: expected one of {TAGS}, got {self.tag!r}")
        if len(set(choices)) != len(choices):
            raise ValueError(f"OneOf.choices: choices must be distinct, got {choices!r}")
        _freeze(self, "choices", choices)


def _check_int_or_oneof(obj, field, value, ok, what):
    values = value.choices if isinstance(value, OneOf) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not ok(v):
            raise ValueError(f"{_where(obj, field)}: expected {what} or a OneOf of them, got {v!r}")


def _check_kernel(obj, value):
    _check_int_or_oneof(obj, "kernel", value, lambda k: k > 0 and k % 2 == 1, "a positive odd int")


def _check_stride(obj):
    if obj.stride not in (1, 2):
        raise ValueError(f"{_where(obj, 'stride')}: expected 1 or 2, got {obj.stride!r}")


def _check_activation(obj, field, name):
    if name not in ACTIVATIONS:
        raise ValueError(f"{_where(obj, field)}: expected one of {ACTIVATIONS}, got {name!r}")


@dataclasses.dataclass(frozen=True)
class Conv:
    """``kernel x kernel`` convolution to the block width, then BN (or a bias).

    The activation, if any, is the ``Activation`` layer that follows it.
    """

    kernel: Union[int, OneOf] = 3
    stride: int = 1
    use_bn: bool = True

    def __post_init__(self):
        _check_kernel(self, self.kernel)
        _check_stride(self)
        if not isinstance(self.use_bn, bool):
            raise TypeError(f"Conv.use_bn: expected a bool, got {self.use_bn!r}")


@dataclasses.dataclass(frozen=True)
class SepConv:
    """Depthwise ``kernel x kernel`` + BN + act, then 1x1 conv + BN (linear)."""

    kernel: Union[int, OneOf] = 3
    stride: int = 1
    activation: str = "relu"

    def __post_init__(self):
        _check_kernel(self, self.kernel)
        _check_stride(self)
        _check_activation(self, "activation", self.activation)


@dataclasses.dataclass(frozen=True)
class Bottleneck:
    """Inverted bottleneck: 1x1 expand, depthwise, optional SE, 1x1 project.

    Args:
      kernel: depthwise kernel size (int or OneOf).
      expansion: expansion ratio relative to the layer's input width (float or
        OneOf); channels = ``scale_filters(input_width, ratio, filters_base)``.
      se: whether a squeeze-excite follows the depthwise conv (bool or OneOf).
      stride: depthwise stride.
      activation: activation after the expand and depthwise convs.
    """

    kernel: Union[int, OneOf] = 3
    expansion: Union[float, OneOf] = 6.0
    se: Union[bool, OneOf] = False
    stride: int = 1
    activation: str = "relu"

    def __post_init__(self):
        _check_kernel(self, self.kernel)
        ratios = self.expansion.choices if isinstance(self.expansion, OneOf) else (self.expansion,)
        for r in ratios:
            if isinstance(r, bool) or not isinstance(r, (int, float)) or r <= 0:
                raise ValueError(
                    f"Bottleneck.expansion: expected a positive ratio or a OneOf of them, got {r!r}"
                )
        if not isinstance(self.expansion, OneOf):
            _freeze(self, "expansion", float(self.expansion))
        else:
            _freeze(self, "expansion", OneOf(tuple(float(r) for r in ratios), self.expansion.tag))
        flags = self.se.choices if isinstance(self.se, OneOf) else (self.se,)
        for f in flags:
            if not isinstance(f, bool):
                raise TypeError(f"Bottleneck.se: expected a bool or a OneOf of bools, got {f!r}")
        _check_stride(self)
        _check_activation(self, "activation", self.activation)


@dataclasses.dataclass(frozen=True)
class Zero:
    """Outputs zeros: inside ``Residual(OneOf([layer, Zero()]))`` it skips the layer."""


@dataclasses.dataclass(frozen=True)
class Activation:
    """Activation applied to the output of the preceding ``Conv``."""

    name: str = "relu"

    def __post_init__(self):
        _check_activation(self, "name", self.name)


@dataclasses.dataclass(frozen=True)
class GlobalPool:
    """Global average pooling to 1 x 1."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Marks the current feature map as a feature endpoint (for detection heads)."""


OP_LAYERS = (Conv, SepConv, Bottleneck)


def _layer_choices(layer) -> tuple:
    return layer.choices if isinstance(layer, OneOf) else (layer,)


def _stride_of(layer) -> int:
    """The stride of a (possibly OneOf) op layer; all choices must agree."""
    strides = {c.stride for c in _layer_choices(layer) if not isinstance(c, Zero)}
    if len(strides) > 1:
        raise ValueError(f"OneOf.choices: choices of one layer must share a stride, got {sorted(strides)}")
    return strides.pop() if strides else 1


@dataclasses.dataclass(frozen=True)
class Residual:
    """``layer(x) + x``. The layer must keep the stride at 1.

    ``Residual(OneOf([layer, Zero()]))`` is a skippable layer.
    """

    layer: Any

    def __post_init__(self):
        for choice in _layer_choices(self.layer):
            if not isinstance(choice, (SepConv, Bottleneck, Zero)):
                raise TypeError(
                    f"Residual.layer: expected SepConv, Bottleneck, Zero or a OneOf of them, got {choice!r}"
                )
        if _stride_of(self.layer) != 1:
            raise ValueError("Residual.layer: a residual layer must have stride 1")


def _check_layer(layer_index, layer):
    where = f"Block.layers[{layer_index}]"
    if isinstance(layer, (Activation, GlobalPool, Endpoint, Residual)):
        return
    choices = _layer_choices(layer)
    for c in choices:
        if isinstance(c, Zero):
            raise ValueError(f"{where}: Zero may only appear as a choice inside Residual(OneOf([...]))")
        if not isinstance(c, OP_LAYERS):
            raise TypeError(f"{where}: expected a layer spec (Conv, SepConv, Bottleneck, Residual, "
                            f"Activation, GlobalPool, Endpoint) or a OneOf of layers, got {c!r}")
    if isinstance(layer, OneOf):
        _stride_of(layer)


@dataclasses.dataclass(frozen=True)
class Block:
    """A run of layers that all output ``width`` channels (int or OneOf of ints)."""

    layers: tuple
    width: Union[int, OneOf]

    def __post_init__(self):
        if isinstance(self.layers, (str, bytes)) or not hasattr(self.layers, "__iter__"):
            raise TypeError(f"Block.layers: expected a list of layer specs, got {self.layers!r}")
        _freeze(self, "layers", tuple(self.layers))
        if not self.layers:
            raise ValueError("Block.layers: a block needs at least one layer")
        for i, layer in enumerate(self.layers):
            _check_layer(i, layer)
        _check_int_or_oneof(self, "width", self.width, lambda w: w > 0, "a positive int")


@dataclasses.dataclass(frozen=True, eq=True)
class SpaceSpec:
    """The static description of a search space (see :class:`Space`)."""

    name: str
    blocks: tuple
    filters_base: int = 8
    input_channels: int = 3

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Space.name: expected a non-empty string, got {self.name!r}")
        if isinstance(self.blocks, (str, bytes)) or not hasattr(self.blocks, "__iter__"):
            raise TypeError(f"Space.blocks: expected a list of Block, got {self.blocks!r}")
        _freeze(self, "blocks", tuple(self.blocks))
        if not self.blocks:
            raise ValueError("Space.blocks: a space needs at least one block")
        pools = 0
        for b, block in enumerate(self.blocks):
            if not isinstance(block, Block):
                raise TypeError(f"Space.blocks[{b}]: expected a Block, got {block!r}")
            previous = None
            for i, layer in enumerate(block.layers):
                if isinstance(layer, Activation) and not isinstance(previous, Conv):
                    raise ValueError(f"Block {b} layer {i}: Activation must directly follow a Conv")
                pools += isinstance(layer, GlobalPool)
                previous = layer
        if pools != 1:
            raise ValueError(f"Space.blocks: expected exactly one GlobalPool (before the classifier), found {pools}")
        for field in ("filters_base", "input_channels"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"Space.{field}: expected a positive int, got {v!r}")


# ---------------------------------------------------------------- JSON
_TYPES = {cls.__name__: cls for cls in
          (OneOf, Conv, SepConv, Bottleneck, Zero, Activation, GlobalPool, Endpoint, Residual, Block)}


def spec_to_dict(spec) -> Any:
    """Converts a spec tree to plain JSON-compatible data (``{"type": ..., fields}``).

    >>> spec_to_dict(OneOf([3, 5], "op"))
    {'type': 'OneOf', 'choices': [3, 5], 'tag': 'op'}
    """
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        out = {"type": "Space" if isinstance(spec, SpaceSpec) else type(spec).__name__}
        for f in dataclasses.fields(spec):
            out[f.name] = spec_to_dict(getattr(spec, f.name))
        return out
    if isinstance(spec, tuple):
        return [spec_to_dict(s) for s in spec]
    return spec


def spec_from_dict(data, space_type=SpaceSpec) -> Any:
    """Inverse of :func:`spec_to_dict`; validates as it rebuilds."""
    if isinstance(data, list):
        return tuple(spec_from_dict(d, space_type) for d in data)
    if isinstance(data, dict):
        kind = data.get("type")
        cls = space_type if kind == "Space" else _TYPES.get(kind)
        if cls is None:
            raise ValueError(f"spec JSON: unknown type {kind!r}; expected one of {sorted(_TYPES) + ['Space']}")
        fields = {k: spec_from_dict(v, space_type) for k, v in data.items() if k != "type"}
        try:
            return cls(**fields)
        except TypeError as e:
            raise ValueError(f"spec JSON: bad fields for {kind}: {e}") from None
    return data
