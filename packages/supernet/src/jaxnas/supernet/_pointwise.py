"""1x1 convolution (a matmul over channels) with a CPU weight gradient that skips a transpose.

Why: for the weight gradient ``x^T dy`` of a 1x1 convolution, XLA:CPU first
transposes the whole activation ``x`` (``[B*H*W, C]`` -> ``[C, B*H*W]``) and then
runs a matmul. At high resolution (many rows, few channels) that transpose costs
more than the matmul. The ``kernel`` form computes ``x^T dy`` straight from the
row-major rows in C++ (``_kernels/depthwise.cc``, ``PointwiseWeightGrad``); it is
used where it was measured to win: at least as many rows as ``C_in + C_out``
(e.g. [32, 64, 64, 96] x [.., 24]: 8.4 ms vs XLA's 30.9 ms on a 2-core CPU; at 4 x 4
pixels with 1,920 -> 320 channels XLA's 8.0 ms beats the kernel's 10.2 ms).

Shape letters: B = batch, H, W = spatial, C = input channels, O = output channels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.supernet import _cpu_kernel


def _uses_kernel(rows: int, cin: int, cout: int) -> bool:
    return rows >= cin + cout


@jax.custom_vjp
def _pointwise_kernel(x, w):
    return jnp.dot(x, w)


def _fwd(x, w):
    return jnp.dot(x, w), (x, w)


def _bwd(residuals, g):
    x, w = residuals
    dx = jnp.dot(g, w.T)
    cin, cout = w.shape
    rows = int(np.prod(x.shape[:-1]))
    if _uses_kernel(rows, cin, cout):
        dw = _cpu_kernel.call("jaxnas_pointwise_weight_grad", w.shape, x, g)
    else:
        dw = jnp.dot(x.reshape(rows, cin).T, g.reshape(rows, cout))
    return dx, dw


_pointwise_kernel.defvjp(_fwd, _bwd)


def pointwise_conv(x, w, impl: str = "lax"):
    """``x @ w`` over the last axis: ``x [B, H, W, C]``, ``w [C, O]`` -> ``[B, H, W, O]``.

    ``impl="kernel"`` (the resolved CPU form, float32 only) takes the C++ weight gradient;
    anything else is a plain ``jnp.dot``. Values and gradients are the same either way.
    """
    if impl == "kernel" and x.dtype == jnp.float32 and w.dtype == jnp.float32 and _cpu_kernel.available():
        return _pointwise_kernel(x, w)
    return jnp.dot(x, w)
