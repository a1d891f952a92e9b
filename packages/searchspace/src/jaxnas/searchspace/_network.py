"""Concrete networks: the exact op list of one architecture.

This is the single source of truth for shapes. The supernet, the latency tables,
the parameter/MAC counts and TFLite export all read ``ConcreteOp`` lists (or the
``Position`` templates they come from); nothing else re-derives a channel count.

Shape letters: H, W = input height/width of an op; C = channels.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

from jaxnas.searchspace._filters import make_divisible, scale_filters
from jaxnas.searchspace._specs import Bottleneck, Conv, SepConv, Zero


@dataclasses.dataclass(frozen=True)
class ConcreteOp:
    """One op of a concrete network, with every shape fixed.

    Attributes:
      kind: ``conv``, ``sepconv``, ``bottleneck``, ``pool`` or ``dense``.
      in_h, in_w: input spatial size (SAME padding: output is ``ceil(in / stride)``).
      in_channels, out_channels: C in and out (``dense``: out = classes).
      kernel: spatial kernel size (0 for pool and dense).
      stride: spatial stride.
      expansion_channels: bottleneck inner width E (0 otherwise).
      se_channels: squeeze-excite inner width (0 without SE).
      activation: activation of the op (``none`` for linear ops).
      use_bn: BN after the convolution(s) (``Conv`` without BN has a bias).
      residual: the op's output is added to its input.
      endpoint: a feature endpoint is taken right after this op.
      block, layer: where the op sits in the space.
    """

    kind: str
    in_h: int
    in_w: int
    in_channels: int
    out_channels: int
    kernel: int = 0
    stride: int = 1
    expansion_channels: int = 0
    se_channels: int = 0
    activation: str = "none"
    use_bn: bool = True
    residual: bool = False
    endpoint: bool = False
    block: int = -1
    layer: int = -1

    @property
    def out_h(self) -> int:
        return 1 if self.kind == "pool" else math.ceil(self.in_h / self.stride)

    @property
    def out_w(self) -> int:
        return 1 if self.kind == "pool" else math.ceil(self.in_w / self.stride)

    def signature(self) -> tuple:
        """The op's identity for latency tables (everything but its position)."""
        return (self.kind, self.in_h, self.in_w, self.in_channels, self.out_channels, self.kernel,
                self.stride, self.expansion_channels, self.se_channels, self.activation,
                self.use_bn, self.residual)

    @property
    def params(self) -> int:
        """Trainable parameters (BN scale/offset and biases included, no BN statistics)."""
        k2, cin, cout, e = self.kernel * self.kernel, self.in_channels, self.out_channels, self.expansion_channels
        if self.kind == "conv":
            return k2 * cin * cout + (2 * cout if self.use_bn else cout)
        if self.kind == "sepconv":
            return k2 * cin + 2 * cin + cin * cout + 2 * cout
        if self.kind == "bottleneck":
            se = 2 * e * self.se_channels + self.se_channels + e if self.se_channels else 0
            return cin * e + 2 * e + k2 * e + 2 * e + se + e * cout + 2 * cout
        if self.kind == "dense":
            return cin * cout + cout
        return 0

    @property
    def macs(self) -> int:
        """Multiply-accumulates of convolutions, SE convs and the classifier."""
        k2, cin, cout, e = self.kernel * self.kernel, self.in_channels, self.out_channels, self.expansion_channels
        out_px = self.out_h * self.out_w
        if self.kind == "conv":
            return out_px * k2 * cin * cout
        if self.kind == "sepconv":
            return out_px * (k2 * cin + cin * cout)
        if self.kind == "bottleneck":
            return self.in_h * self.in_w * cin * e + out_px * (k2 * e + e * cout) + 2 * e * self.se_channels
        if self.kind == "dense":
            return cin * cout
        return 0


def concrete_op(layer, *, in_hw: tuple[int, int], in_channels: int, out_channels: int,
                filters_base: int, activation: Optional[str], residual: bool, endpoint: bool,
                block: int, layer_index: int) -> Optional[ConcreteOp]:
    """Builds the ConcreteOp of a resolved layer spec (None for a skipped layer)."""
    common = dict(in_h=in_hw[0], in_w=in_hw[1], in_channels=in_channels, residual=residual,
                  endpoint=endpoint, block=block, layer=layer_index)
    if isinstance(layer, Zero):
        return None
    if isinstance(layer, Conv):
        return ConcreteOp("conv", out_channels=out_channels, kernel=layer.kernel, stride=layer.stride,
                          activation=activation or "none", use_bn=layer.use_bn, **common)
    if isinstance(layer, SepConv):
        return ConcreteOp("sepconv", out_channels=out_channels, kernel=layer.kernel, stride=layer.stride,
                          activation=layer.activation, **common)
    if isinstance(layer, Bottleneck):
        e = scale_filters(in_channels, layer.expansion, filters_base)
        se = make_divisible(e / 4, 8) if layer.se else 0
        return ConcreteOp("bottleneck", out_channels=out_channels, kernel=layer.kernel, stride=layer.stride,
                          expansion_channels=e, se_channels=se, activation=layer.activation, **common)
    raise TypeError(f"cannot build an op from {layer!r}")
