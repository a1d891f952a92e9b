"""Batch norm (batch statistics) + activation + channel mask, fused on CPU.

``act(BN(x)) * mask`` is what every supernet choice block computes after each
convolution. On CPU the ``kernel`` form runs it in C++ (``_kernels/cpu_kernels.cc``):
two passes forward (statistics, output) and two backward (per-channel sums,
input gradient), where XLA:CPU spends a pass on each reduction and elementwise
step. Values and gradients equal the jnp form (:func:`bn_act_reference`) to float
tolerance; the statistics are sums of ``x - x[0]`` (no cancellation at large means),
added in double across row chunks.

Shape letters: B = batch, H, W = spatial, C = channels.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.supernet import _cpu_kernel, _ops

ACTIVATION_CODES = {"none": 0, "relu": 1, "relu6": 2, "hswish": 3}


def bn_act_reference(x, scale, offset, mask, activation: str, eps: float = _ops.BN_EPS):
    """The jnp form: ``activation(normalize(x, batch mean, batch var)) * mask``.

    Statistics and normalisation run in float32 whatever ``x``'s dtype (mixed precision:
    a bfloat16 ``x`` gives a bfloat16 result); for float32 inputs the casts are no-ops.
    """
    x32 = x.astype(jnp.float32)
    mean, var = _ops.batch_stats(x32)
    y = _ops.activation(activation, _ops.normalize(x32, mean, var, scale.astype(jnp.float32),
                                                   offset.astype(jnp.float32), eps))
    return (y * jnp.asarray(mask, jnp.float32)).astype(x.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _bn_act_kernel(x, scale, offset, mask, act: int, eps: float):
    return _forward(x, scale, offset, mask, act, eps)[0]


def _forward(x, scale, offset, mask, act, eps):
    c = x.shape[-1]
    mean, var = _cpu_kernel.call("jaxnas_bn_stats", ((c,), (c,)), x)
    y = _cpu_kernel.call("jaxnas_bn_act_forward", x.shape, x, mean, var, scale, offset, mask,
                         eps=np.float32(eps), act=np.int64(act))
    return y, (x, mean, var, scale, offset, mask)


def _backward(act, eps, residuals, g):
    x, mean, var, scale, offset, mask = residuals
    c = x.shape[-1]
    return tuple(_cpu_kernel.call("jaxnas_bn_act_backward", (x.shape, (c,), (c,), (c,)),
                                  g.astype(jnp.float32), x, mean, var, scale, offset, mask,
                                  eps=np.float32(eps), act=np.int64(act)))


_bn_act_kernel.defvjp(_forward, _backward)


def bn_act(x, scale, offset, mask, activation: str, eps: float = _ops.BN_EPS, impl: str = "lax"):
    """``activation(BN(x)) * mask`` with batch statistics.

    Args:
      x: ``[B, H, W, C]`` (any rank, channels last).
      scale, offset: ``[C]``.
      mask: ``[C]`` (or anything that broadcasts to it).
      activation: ``none``, ``relu``, ``relu6``, ``hswish`` (or ``sigmoid``: jnp form only).
      impl: ``kernel`` (the resolved CPU form, float32) runs the C++ kernel; else jnp.
    """
    c = x.shape[-1]
    fused = (impl == "kernel" and activation in ACTIVATION_CODES and x.dtype == jnp.float32
             and _cpu_kernel.available())
    if not fused:
        return bn_act_reference(x, scale, offset, mask, activation, eps)
    mask = jnp.broadcast_to(jnp.asarray(mask, jnp.float32), (c,))
    return _bn_act_kernel(x, scale.astype(jnp.float32), offset.astype(jnp.float32), mask,
                          ACTIVATION_CODES[activation], float(eps))
