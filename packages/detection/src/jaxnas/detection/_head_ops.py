"""The SSDLite head as a list of layers with fixed shapes: what a latency table must measure.

``ssdlite_head_ops(c4, c5, num_classes)`` lists the layers :class:`SSDLiteHead` runs on endpoints
of the given ``(height, width, channels)``, in execution order, in the vocabulary of
``jaxnas.searchspace.ConcreteOp`` (``HeadOp.op_kwargs()`` are its keyword arguments), so a latency
table can key, measure and sum them like backbone ops. This package does not import the search
packages: the records are plain tuples, and the caller (``jaxnas.latency.ssdlite_head``) builds the
``ConcreteOp``.

How each layer maps to an op kind:

- predictor (box or class, on every map): ``3x3 depthwise + BN + ReLU6 -> 1x1 conv + bias`` is a
  ``sepconv`` (kernel 3, stride 1, activation ``relu6``). Its 1x1 has BN in the searchspace's
  SepConv and a bias here; at inference BN folds into a bias, so the latency is the same op.
- extra layer ``1x1 conv (d/2) + BN + ReLU6 -> 3x3 depthwise stride 2 + BN + ReLU6 -> 1x1 conv (d)
  + BN + ReLU6`` is a ``bottleneck`` (expansion width ``d/2``, kernel 3, stride 2, ``relu6``).
  The searchspace's bottleneck projects linearly, without the last ReLU6; ReLU6 fuses into the
  convolution in TFLite/XNNPACK, so this is the closest op the searchspace can express (a
  bottleneck with an activated projection would be exact).

Not listed (no op kind for them, and small next to the convolutions): the reshapes and
concatenation of the predictions, the sigmoid, box decoding and NMS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from jaxnas.detection._head import DEFAULT_EXTRA_DEPTHS


class HeadOp(NamedTuple):
    """One layer of the head with fixed shapes (``ConcreteOp`` field names, plus ``name``).

    Attributes:
      name: the Haiku module name in :class:`SSDLiteHead` (``box_0``, ``extra_1``, ...).
      kind: ``sepconv`` (predictors) or ``bottleneck`` (extra layers).
      in_h, in_w, in_channels: input map.
      out_channels: output channels.
      kernel, stride: of the depthwise convolution.
      expansion_channels: inner width of a ``bottleneck`` (0 for ``sepconv``).
      activation: ``relu6``.
    """

    name: str
    kind: str
    in_h: int
    in_w: int
    in_channels: int
    out_channels: int
    kernel: int = 3
    stride: int = 1
    expansion_channels: int = 0
    activation: str = "relu6"

    def op_kwargs(self) -> dict:
        """Keyword arguments of ``jaxnas.searchspace.ConcreteOp`` (everything but ``name``)."""
        kw = self._asdict()
        del kw["name"]
        return kw


def _map(name: str, shape) -> tuple[int, int, int]:
    try:
        h, w, c = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (height, width, channels), got {shape!r}") from None
    if min(h, w, c) < 1:
        raise ValueError(f"{name} must be positive (height, width, channels), got {tuple(shape)}")
    return h, w, c


def ssdlite_head_ops(
    c4: Sequence[int],
    c5: Sequence[int],
    num_classes: int,
    extra_depths: Sequence[int] = DEFAULT_EXTRA_DEPTHS,
    anchors_per_location: Sequence[int] | None = None,
) -> list[HeadOp]:
    """The layers of :class:`SSDLiteHead` on endpoints ``c4`` and ``c5`` (execution order).

    Args:
      c4, c5: ``(height, width, channels)`` of the endpoints (at 320 px: ``(20, 20, C4)`` and
        ``(10, 10, C5)``).
      num_classes: ``K`` object classes (class predictors output ``n * (K + 1)`` channels).
      extra_depths: widths of the extra layers (as :class:`SSDLiteHead`).
      anchors_per_location: boxes per cell per map; default 3, then 6.

    Returns:
      ``[extra_0, ..., extra_{E-1}, box_0, class_0, box_1, class_1, ...]`` as :class:`HeadOp`.

    Raises:
      ValueError: bad shapes, classes or per-map anchor counts.

    >>> ops = ssdlite_head_ops((20, 20, 112), (10, 10, 160), num_classes=90)
    >>> len(ops), ops[0].kind, ops[0].expansion_channels, (ops[3].in_h, ops[3].out_channels)
    (16, 'bottleneck', 256, (2, 128))
    >>> ops[4].name, ops[4].in_channels, ops[4].out_channels, ops[5].out_channels
    ('box_0', 112, 12, 273)
    """
    h4, w4, ch4 = _map("c4", c4)
    h5, w5, ch5 = _map("c5", c5)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    extra_depths = tuple(int(d) for d in extra_depths)
    if any(d < 2 for d in extra_depths):
        raise ValueError(f"extra_depths must be >= 2 (halved inside), got {extra_depths}")
    n_maps = 2 + len(extra_depths)
    per_cell = tuple(anchors_per_location or (3,) + (6,) * (n_maps - 1))
    if len(per_cell) != n_maps:
        raise ValueError(f"anchors_per_location needs {n_maps} entries (2 + len(extra_depths)), got {per_cell}")
    maps = [(h4, w4, ch4), (h5, w5, ch5)]
    ops = []
    h, w, c = maps[-1]
    for i, d in enumerate(extra_depths):
        ops.append(HeadOp(f"extra_{i}", "bottleneck", h, w, c, d, 3, 2, d // 2))
        h, w, c = math.ceil(h / 2), math.ceil(w / 2), d
        maps.append((h, w, c))
    for i, ((h, w, c), n) in enumerate(zip(maps, per_cell)):
        ops.append(HeadOp(f"box_{i}", "sepconv", h, w, c, n * 4))
        ops.append(HeadOp(f"class_{i}", "sepconv", h, w, c, n * (num_classes + 1)))
    return ops
