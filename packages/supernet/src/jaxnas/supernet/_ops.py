"""Pure layer functions shared by the child network and the supernet.

Both networks call exactly these functions, so the supernet with one fixed
architecture and the child network with the sliced weights compute the same
thing. Everything here is a plain function of arrays (no Haiku), which is what
the rematerialised choice blocks need.

Shape letters: B = batch, H, W = height/width, C = input channels, O = output
channels, E = expansion channels, S = squeeze-excite channels, K = kernel size.
"""

from __future__ import annotations

import math

import haiku as hk
import jax
import jax.numpy as jnp
from jax import lax
from jaxnas.supernet._depthwise import depthwise_conv, same_padding
from jaxnas.supernet._pointwise import pointwise_conv

BN_EPS = 1e-3
BN_DECAY = 0.99


def activation(name: str, x):
    """Applies ``relu``, ``relu6``, ``hswish`` (x * relu6(x + 3) / 6), ``sigmoid`` or ``none``."""
    if name == "relu":
        return jax.nn.relu(x)
    if name == "relu6":
        return jax.nn.relu6(x)
    if name == "hswish":
        return x * jax.nn.relu6(x + 3.0) / 6.0
    if name == "sigmoid":
        return jax.nn.sigmoid(x)
    if name == "none":
        return x
    raise ValueError(f"unknown activation {name!r}; expected relu, relu6, hswish, sigmoid or none")


def conv(x, w, stride: int = 1, impl: str = "lax"):
    """Dense convolution, SAME padding. ``x [B, H, W, C]``, ``w [K, K, C, O]``.

    1x1 stride-1 convolutions are a matmul over channels (fast on every backend); with
    ``impl="kernel"`` (CPU) its weight gradient runs in C++ (:mod:`._pointwise`).
    """
    if w.shape[0] == 1 and w.shape[1] == 1 and stride == 1:
        return pointwise_conv(x, w[0, 0], impl)
    if impl == "kernel" and w.shape[0] * w.shape[1] * w.shape[2] <= IM2COL_MAX_DEPTH:
        return pointwise_conv(patches(x, w.shape[0], stride), w.reshape(-1, w.shape[3]), impl)
    return lax.conv_general_dilated(x, w, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


# A KxK convolution over few input channels (the stem: 3x3x3 = 27) is a matmul over its
# patches on CPU: XLA:CPU's direct convolution ran the 3x3 stride-2 stem at 128 px, batch 32 in
# ~25 ms forward + ~14 ms weight gradient; the patches (K*K*C channels) cost one copy.
IM2COL_MAX_DEPTH = 64


def patches(x, kernel: int, stride: int):
    """``[B, ceil(H/s), ceil(W/s), K*K*C]``: the SAME-padded KxK windows, channel = (i*K + j)*C + c."""
    _, h, wd, _ = x.shape
    (pt, pb), (pl, pr) = same_padding(h, kernel, stride), same_padding(wd, kernel, stride)
    xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out_h, out_w = -(-h // stride), -(-wd // stride)
    return jnp.concatenate([xp[:, i:i + (out_h - 1) * stride + 1:stride, j:j + (out_w - 1) * stride + 1:stride]
                            for i in range(kernel) for j in range(kernel)], axis=-1)


def batch_stats(x):
    """Per-channel mean and (biased) variance over every axis but the last."""
    axes = tuple(range(x.ndim - 1))
    mean = jnp.mean(x, axis=axes)
    var = jnp.mean(jnp.square(x - mean), axis=axes)
    return mean, var


def normalize(x, mean, var, scale, offset, eps: float = BN_EPS):
    """``(x - mean) / sqrt(var + eps) * scale + offset``, per channel."""
    inv = lax.rsqrt(var + eps) * scale
    return (x - mean) * inv + offset


def squeeze_excite(x, reduce_w, reduce_b, expand_w, expand_b, hidden_mask=None):
    """SE: global pool, 1x1 ``E -> S`` + bias, ReLU, 1x1 ``S -> E`` + bias, sigmoid, scale.

    Args:
      x: ``[B, H, W, E]``.
      reduce_w, reduce_b: ``[E, S]``, ``[S]``.
      expand_w, expand_b: ``[S, E]``, ``[E]``.
      hidden_mask: optional ``[S]`` 0/1 mask of the active hidden channels (supernet).
    """
    pooled = jnp.mean(x, axis=(1, 2))
    hidden = jax.nn.relu(jnp.dot(pooled, reduce_w) + reduce_b)
    if hidden_mask is not None:
        hidden = hidden * hidden_mask
    gate = jax.nn.sigmoid(jnp.dot(hidden, expand_w) + expand_b)
    return x * gate[:, None, None, :]


def dwconv(x, w, stride: int, impl: str):
    """Depthwise convolution (see :func:`jaxnas.supernet.depthwise_conv`)."""
    return depthwise_conv(x, w, stride, impl)


# ---------------------------------------------------------------- initialisers
def he_normal(fan_in: int) -> hk.initializers.Initializer:
    """He normal: N(0, 2 / fan_in) (He et al. 2015).

    A plain normal, not a truncated one: XLA:CPU compiles the inverse-erf sampler of a
    truncated normal slowly, which made initialising a whole network take tens of seconds.
    """
    return hk.initializers.RandomNormal(math.sqrt(2.0 / fan_in))


def conv_init(shape) -> hk.initializers.Initializer:
    """He normal for ``[K, K, C, O]`` kernels (fan_in = K*K*C) and ``[K, K, C]`` depthwise (K*K)."""
    return he_normal(shape[0] * shape[1] * (shape[2] if len(shape) == 4 else 1))


def dense_init() -> hk.initializers.Initializer:
    """Classifier kernel: N(0, 0.01)."""
    return hk.initializers.RandomNormal(0.01)
