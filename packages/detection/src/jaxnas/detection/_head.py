"""The SSDLite head: extra feature layers down to 1 x 1 and depthwise box/class predictors.

SSDLite (MobileNetV2 paper, section 6.2; MobileNetV3 + SSDLite in the TF Object Detection API):

- Feature maps: the backbone endpoints ``C4`` (output stride 16) and ``C5`` (stride 32), then
  extra layers on ``C5``, each ``1x1 conv (d/2) -> 3x3 depthwise stride 2 -> 1x1 conv (d)``, every
  conv followed by batch norm and ReLU6, with ``d`` = 512, 256, 256, 128 (down to 1 x 1 at 320 px).
- Predictors, one pair per map (no sharing across maps): for boxes ``3x3 depthwise + BN + ReLU6 ->
  1x1 conv to n*4`` and for classes the same to ``n*(K+1)`` (column 0 = background), ``n`` anchors
  per cell (3 on C4, 6 elsewhere).

Which C4: jaxnas backbones record C4 as the *last feature with output stride 16* (the output of
the last stride-16 block), the TuNAS paper's wording, not the expansion output of the first
stride-32 layer that MobileNetV2-SSDLite taps. It needs no knowledge of the layer after it, so any
backbone (and every architecture of a search space) can provide it. The head keeps whatever widths
C4 and C5 have: channels are never halved between them (in a search the widths are learned).

Shape letters: ``B`` batch, ``H, W`` map sizes, ``C`` channels, ``A`` anchors, ``K`` classes.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import haiku as hk
import jax
import jax.numpy as jnp
from jax import lax

DEFAULT_EXTRA_DEPTHS = (512, 256, 256, 128)
# Prior probability 0.01 for every class at the start, the usual companion of the focal loss.
CLASS_BIAS_INIT = -4.6


def _he_init():
    return hk.initializers.VarianceScaling(2.0, "fan_in", "normal")


def lax_depthwise_conv(x, w, stride: int):
    """Depthwise conv, SAME padding: ``x [B, H, W, C]``, ``w [k, k, C]`` -> ``[B, H/s, W/s, C]``.

    The default of the head. On XLA:CPU ``lax``'s grouped convolution is slow (above all its
    weight gradient), so pass a faster kernel as ``depthwise_fn`` there, e.g.
    ``jaxnas.supernet.depthwise_conv``, which has the same signature.
    """
    k, _, c = w.shape
    return lax.conv_general_dilated(
        x, w.reshape(k, k, 1, c), (stride, stride), "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=c,
    )


class _ConvBNReLU6(hk.Module):
    """Conv (regular or depthwise, no bias) + batch norm + ReLU6."""

    def __init__(self, channels, kernel, stride, depthwise_fn, bn_decay, bn_eps, name=None):
        super().__init__(name=name)
        self.channels, self.kernel, self.stride = channels, kernel, stride
        self.depthwise_fn, self.bn_decay, self.bn_eps = depthwise_fn, bn_decay, bn_eps

    def __call__(self, x, is_training):
        if self.depthwise_fn is not None:
            # Kernel [k, k, C]: He fan-in is k * k, not k * k * C.
            w = hk.get_parameter("w", (self.kernel, self.kernel, x.shape[-1]), x.dtype, _he_init())
            x = self.depthwise_fn(x, w, self.stride)
        else:
            conv = hk.Conv2D(
                self.channels, self.kernel, self.stride, padding="SAME", with_bias=False,
                w_init=_he_init(),
            )
            x = conv(x)
        x = hk.BatchNorm(True, True, self.bn_decay, eps=self.bn_eps)(x, is_training)
        return jax.nn.relu6(x)


class SSDLiteHead(hk.Module):
    """SSDLite on ``C4``/``C5`` endpoints.

    Args:
      num_classes: ``K`` object classes (the head predicts ``K + 1`` logits per anchor).
      extra_depths: output channels of the extra layers (each adds one map).
      anchors_per_location: boxes per cell per map, ``2 + len(extra_depths)`` entries.
      bn_decay, bn_eps: batch-norm settings (TF API SSDLite: 0.97, 1e-3).
      depthwise_fn: ``(x [B, H, W, C], w [k, k, C], stride) -> y``, the depthwise kernel; default
        :func:`lax_depthwise_conv`. The parameters are the same whichever is used.
      name: module name.

    Call with ``(endpoints, is_training)``; returns ``(box_codes [B, A, 4],
    class_logits [B, A, K + 1])`` in the anchor order of :func:`multiscale_grid_anchors`.

    >>> def f(x):
    ...     return SSDLiteHead(num_classes=3)({"C4": x, "C5": x[:, ::2, ::2]}, is_training=True)
    >>> f = hk.transform_with_state(f)
    >>> x = jnp.zeros((1, 20, 20, 8))
    >>> params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), x)  # shapes only: fast
    >>> (boxes, logits), _ = jax.eval_shape(f.apply, params, state, None, x)
    >>> boxes.shape, logits.shape
    ((1, 2034, 4), (1, 2034, 4))
    """

    def __init__(
        self,
        num_classes: int,
        extra_depths: Sequence[int] = DEFAULT_EXTRA_DEPTHS,
        anchors_per_location: Sequence[int] | None = None,
        bn_decay: float = 0.97,
        bn_eps: float = 1e-3,
        depthwise_fn: Callable | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        if any(d < 2 for d in extra_depths):
            raise ValueError(f"extra_depths must be >= 2 (halved inside), got {tuple(extra_depths)}.")
        n_maps = 2 + len(extra_depths)
        if anchors_per_location is None:
            anchors_per_location = (3,) + (6,) * (n_maps - 1)
        if len(anchors_per_location) != n_maps:
            raise ValueError(
                f"anchors_per_location needs one entry per feature map (2 + len(extra_depths) = "
                f"{n_maps}), got {tuple(anchors_per_location)}."
            )
        self.num_classes = num_classes
        self.extra_depths = tuple(extra_depths)
        self.anchors_per_location = tuple(anchors_per_location)
        self.bn = dict(bn_decay=bn_decay, bn_eps=bn_eps)
        self.dw = depthwise_fn or lax_depthwise_conv

    def __call__(self, endpoints: Mapping[str, jax.Array], is_training: bool):
        missing = [k for k in ("C4", "C5") if k not in endpoints]
        if missing:
            raise ValueError(
                f"endpoints lack {missing}; the backbone must return a dict with 'C4' (stride 16) "
                f"and 'C5' (stride 32) feature maps, got keys {sorted(endpoints)}."
            )
        maps = [endpoints["C4"], endpoints["C5"]]
        x = maps[-1]
        for i, depth in enumerate(self.extra_depths):
            x = _ConvBNReLU6(depth // 2, 1, 1, None, **self.bn, name=f"extra_{i}_1x1_a")(x, is_training)
            x = _ConvBNReLU6(None, 3, 2, self.dw, **self.bn, name=f"extra_{i}_dw")(x, is_training)
            x = _ConvBNReLU6(depth, 1, 1, None, **self.bn, name=f"extra_{i}_1x1_b")(x, is_training)
            maps.append(x)
        boxes, logits = [], []
        for i, (x, n) in enumerate(zip(maps, self.anchors_per_location)):
            b = x.shape[0]
            y = _ConvBNReLU6(None, 3, 1, self.dw, **self.bn, name=f"box_{i}_dw")(x, is_training)
            y = hk.Conv2D(n * 4, 1, name=f"box_{i}_1x1", w_init=_he_init())(y)
            boxes.append(y.reshape(b, -1, 4))
            y = _ConvBNReLU6(None, 3, 1, self.dw, **self.bn, name=f"class_{i}_dw")(x, is_training)
            y = hk.Conv2D(
                n * (self.num_classes + 1), 1, name=f"class_{i}_1x1", w_init=_he_init(),
                b_init=hk.initializers.Constant(CLASS_BIAS_INIT),
            )(y)
            logits.append(y.reshape(b, -1, self.num_classes + 1))
        return jnp.concatenate(boxes, axis=1), jnp.concatenate(logits, axis=1)
