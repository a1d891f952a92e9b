"""Depthwise convolution that is fast on XLA:CPU, with ``lax`` on GPU/TPU.

Three forms: ``kernel`` (C++ forward, input gradient and weight gradient called
through the XLA FFI, built on first use, see ``_cpu_kernel``; the fastest on
CPU), ``shifted`` (pure jax, below; the fallback where no compiler is found) and
``lax`` (GPU/TPU). ``auto`` picks ``kernel`` on CPU when it builds, else
``shifted``; ``lax`` elsewhere.

Why: on XLA:CPU ``lax.conv_general_dilated(..., feature_group_count=C)`` runs at
about 1 GFLOP/s and its weight gradient is lowered to a dense C x C convolution
(docs/design.md section 7). Here the convolution is a sum of ``k * k`` shifted
(strided) slices of the padded input, each scaled by one tap of the kernel,
which XLA fuses into one elementwise loop. The VJP is written by hand: the input
gradient is the same sum over the dilated output gradient with the flipped
kernel, and the weight gradient is ``k * k`` channel-wise reductions, so no
C x C kernel is ever formed.

Shape letters: B = batch, H, W = input height/width, Ho, Wo = output
height/width (``ceil(H / s)``, SAME padding), C = channels, K = kernel size.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxnas.supernet import _cpu_kernel

IMPLEMENTATIONS = ("auto", "kernel", "shifted", "lax")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding ``(low, high)`` of one spatial axis.

    >>> same_padding(7, 3, 2), same_padding(8, 3, 2), same_padding(8, 5, 1)
    ((1, 1), (0, 1), (2, 2))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _taps(xp, kernel: int, stride: int, out_h: int, out_w: int):
    """Yields ``(i, j, slice)``: the input seen by tap (i, j), ``[B, Ho, Wo, C]``."""
    b, _, _, c = xp.shape
    for i in range(kernel):
        for j in range(kernel):
            yield i, j, lax.slice(xp, (0, i, j, 0),
                                  (b, i + (out_h - 1) * stride + 1, j + (out_w - 1) * stride + 1, c),
                                  (1, stride, stride, 1))


def _forward(x, w, stride: int):
    kernel = w.shape[0]
    _, h, wd, _ = x.shape
    (pt, pb), (pl, pr) = same_padding(h, kernel, stride), same_padding(wd, kernel, stride)
    out_h, out_w = -(-h // stride), -(-wd // stride)
    # The barrier keeps x's producers (BN, activation) from being fused into, and so
    # recomputed by, each of the K*K taps.
    xp = jnp.pad(lax.optimization_barrier(x), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = None
    for i, j, tap in _taps(xp, kernel, stride, out_h, out_w):
        term = tap * w[i, j]
        out = term if out is None else out + term
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _shifted(x, w, stride):
    return _forward(x, w, stride)


def _shifted_fwd(x, w, stride):
    return _forward(x, w, stride), (x, w)


def _shifted_bwd(stride, residuals, g):
    x, w = residuals
    g = lax.optimization_barrier(g)
    kernel = w.shape[0]
    _, h, wd, _ = x.shape
    (pt, pb), (pl, pr) = same_padding(h, kernel, stride), same_padding(wd, kernel, stride)
    out_h, out_w = g.shape[1], g.shape[2]
    # Input gradient: scatter g back through every tap == a stride-1 correlation of g,
    # dilated by the stride and padded, with the spatially flipped kernel.
    zero = jnp.zeros((), g.dtype)
    lo_h, lo_w = kernel - 1 - pt, kernel - 1 - pl
    hi_h = h + pt - (out_h - 1) * stride - 1
    hi_w = wd + pl - (out_w - 1) * stride - 1
    gd = lax.pad(g, zero, ((0, 0, 0), (lo_h, hi_h, stride - 1), (lo_w, hi_w, stride - 1), (0, 0, 0)))
    wf = w[::-1, ::-1]
    dx = None
    for i, j, tap in _taps(gd, kernel, 1, h, wd):
        term = tap * wf[i, j]
        dx = term if dx is None else dx + term
    # Weight gradient: one channel-wise reduction per tap (never a C x C kernel), in one loop over
    # all K*K taps. Why a loop: unrolled, XLA:CPU materialises every shifted slice at once (K*K
    # input-sized buffers, page faults on each step) and takes seconds to compile a 7x7; a loop
    # over kernel rows with the columns unrolled did the same per row. Measured on the weight
    # gradient of [32, 32, 32, 192]: 7x7 745 -> 560 ms, 3x3 160 -> 103 ms (2-core CPU, load 6.5).
    xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    b, _, _, c = x.shape
    span_h, span_w = (out_h - 1) * stride + 1, (out_w - 1) * stride + 1

    def tap(t, acc):
        window = lax.dynamic_slice(xp, (0, t // kernel, t % kernel, 0), (b, span_h, span_w, c))
        return lax.dynamic_update_index_in_dim(
            acc, jnp.sum(window[:, ::stride, ::stride] * g, axis=(0, 1, 2)), t, axis=0)

    dw = lax.fori_loop(0, kernel * kernel, tap, jnp.zeros((kernel * kernel, c), g.dtype)).reshape(w.shape)
    return dx.astype(x.dtype), dw.astype(w.dtype)


_shifted.defvjp(_shifted_fwd, _shifted_bwd)


def _kernel_call(target: str, out_shape, a, b, stride: int, pads: tuple[int, int]):
    return _cpu_kernel.call(target, tuple(out_shape), a, b, stride=np.int64(stride), pad_top=np.int64(pads[0]),
                            pad_left=np.int64(pads[1]))


def _kernel_pads(x_shape, kernel: int, stride: int) -> tuple[int, int]:
    return same_padding(x_shape[1], kernel, stride)[0], same_padding(x_shape[2], kernel, stride)[0]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kernel(x, w, stride):
    b, h, wd, c = x.shape
    out = (b, -(-h // stride), -(-wd // stride), c)
    return _kernel_call("jaxnas_depthwise_forward", out, x, w, stride, _kernel_pads(x.shape, w.shape[0], stride))


def _kernel_fwd(x, w, stride):
    return _kernel(x, w, stride), (x, w)


def _kernel_bwd(stride, residuals, g):
    x, w = residuals
    pads = _kernel_pads(x.shape, w.shape[0], stride)
    g = g.astype(jnp.float32)
    dx = _kernel_call("jaxnas_depthwise_input_grad", x.shape, g, w, stride, pads)
    dw = _kernel_call("jaxnas_depthwise_weight_grad", w.shape, x, g, stride, pads)
    return dx, dw


_kernel.defvjp(_kernel_fwd, _kernel_bwd)


def _lax_depthwise(x, w, stride: int):
    kernel, _, c = w.shape
    return lax.conv_general_dilated(
        x, w.reshape(kernel, kernel, 1, c), (stride, stride), "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=c)


def default_platform() -> str:
    """The platform jax computes on now: ``jax.default_device``'s if one is set, else the backend's.

    A GPU process that pins work to its CPU device (``with jax.default_device(cpu):``)
    gets the CPU forms there.
    """
    device = jax.config.jax_default_device
    if device is None:
        return jax.default_backend()
    return device if isinstance(device, str) else device.platform


def resolve_implementation(impl: str) -> str:
    """``auto`` -> ``kernel`` on CPU (``shifted`` if it cannot be built), ``lax`` on GPU/TPU.

    The platform is :func:`default_platform`.

    Other names are checked and kept; ``kernel`` where the C++ kernel cannot be
    built raises a ValueError that says why.
    """
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"depthwise implementation: expected one of {IMPLEMENTATIONS}, got {impl!r}")
    if impl == "auto":
        if default_platform() != "cpu":
            return "lax"
        if _cpu_kernel.available():
            return "kernel"
        _cpu_kernel.warn_fallback()
        return "shifted"
    if impl == "kernel" and not _cpu_kernel.available():
        raise ValueError(f"depthwise implementation 'kernel': {_cpu_kernel.unavailable_reason()}; "
                         "use impl='shifted' or 'auto'")
    return impl


def depthwise_conv(x, w, stride: int = 1, impl: str = "auto"):
    """Depthwise ``K x K`` convolution, SAME padding (TensorFlow convention).

    Args:
      x: ``[B, H, W, C]`` input.
      w: ``[K, K, C]`` kernel (K odd).
      stride: 1 or 2 (any positive int works).
      impl: ``auto`` (``kernel`` on CPU, else ``shifted``; ``lax`` on GPU/TPU), ``kernel``,
        ``shifted`` or ``lax``. ``kernel`` is CPU and float32 only (other dtypes use ``shifted``).

    Returns:
      ``[B, ceil(H / stride), ceil(W / stride), C]``.

    Raises:
      ValueError: mismatching channels, a non-square or even kernel, a bad stride or impl.

    >>> x = jnp.ones((1, 5, 5, 2)); w = jnp.ones((3, 3, 2))
    >>> depthwise_conv(x, w, 2, impl="shifted")[0, :, :, 0]
    Array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]], dtype=float32)
    """
    if x.ndim != 4 or w.ndim != 3:
        raise ValueError(f"depthwise_conv: expected x [B, H, W, C] and w [K, K, C], got shapes "
                         f"{tuple(x.shape)} and {tuple(w.shape)}")
    if w.shape[0] != w.shape[1] or w.shape[0] % 2 != 1:
        raise ValueError(f"depthwise_conv: kernel must be square with an odd size, got {tuple(w.shape[:2])}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"depthwise_conv: kernel has {w.shape[2]} channels but x has {x.shape[3]}; "
                         "they must match")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"depthwise_conv: stride must be a positive int, got {stride!r}")
    impl = resolve_implementation(impl)
    if impl == "lax":
        return _lax_depthwise(x, w, stride)
    if impl == "kernel" and x.dtype == jnp.float32 and w.dtype == jnp.float32:
        return _kernel(x, w, stride)
    return _shifted(x, w, stride)
