"""The C++ CPU kernels (1x1 weight gradient, KxK patches conv, fused BN) against the jnp forms."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet import _cpu_kernel, _ops
from jaxnas.supernet._batchnorm import bn_act, bn_act_reference
from jaxnas.supernet._pointwise import pointwise_conv

# CPU kernels: on the CPU device, also when the default backend is a GPU.
pytestmark = [pytest.mark.skipif(not _cpu_kernel.available(), reason="no C++ compiler: kernels not built"),
              pytest.mark.usefixtures("on_cpu")]


def _grads(f, *args):
    return jax.jit(jax.value_and_grad(lambda *a: jnp.sum(jnp.sin(f(*a))), tuple(range(len(args)))))(*args)


def _close(got, want, rtol):
    (v1, g1), (v2, g2) = got, want
    np.testing.assert_allclose(v1, v2, rtol=rtol, atol=rtol)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(jnp.abs(b).max() + 1))


# rows >= C_in + C_out takes the kernel, fewer rows XLA's matmul; odd channel counts hit the tails
@pytest.mark.parametrize("shape,cout", [((2, 5, 5, 7), 9), ((4, 16, 16, 8), 24), ((2, 9, 9, 45), 13),
                                        ((1, 2, 2, 40), 30)])
def test_pointwise_kernel_matches_dot(shape, cout):
    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x, w = jax.random.normal(kx, shape), jax.random.normal(kw, (shape[-1], cout))
    _close(_grads(lambda x, w: pointwise_conv(x, w, "kernel"), x, w),
           _grads(lambda x, w: pointwise_conv(x, w, "lax"), x, w), 1e-5)


@pytest.mark.parametrize("shape,kernel,stride", [((2, 9, 9, 3), 3, 2), ((2, 8, 8, 3), 3, 2), ((1, 5, 6, 2), 3, 1)])
def test_small_depth_conv_as_patches_matches_lax(shape, kernel, stride):
    kx, kw = jax.random.split(jax.random.PRNGKey(1))
    x, w = jax.random.normal(kx, shape), jax.random.normal(kw, (kernel, kernel, shape[-1], 8))
    assert kernel * kernel * shape[-1] <= _ops.IM2COL_MAX_DEPTH
    _close(_grads(lambda x, w: _ops.conv(x, w, stride, "kernel"), x, w),
           _grads(lambda x, w: _ops.conv(x, w, stride, "lax"), x, w), 1e-5)


@pytest.mark.parametrize("activation", ["none", "relu", "relu6", "hswish"])
@pytest.mark.parametrize("shape", [(2, 5, 5, 7), (4, 8, 8, 40), (3, 3, 19)])
def test_fused_batch_norm_matches_reference(activation, shape):
    k = jax.random.split(jax.random.PRNGKey(2), 4)
    x = 4 * jax.random.normal(k[0], shape) + 0.5  # wide enough to cross relu6's and hswish's bends
    scale, offset = jax.random.normal(k[1], shape[-1:]), jax.random.normal(k[2], shape[-1:])
    mask = (jax.random.uniform(k[3], shape[-1:]) > 0.3).astype(jnp.float32)
    _close(_grads(lambda x, s, o, m: bn_act(x, s, o, m, activation, 1e-3, "kernel"), x, scale, offset, mask),
           _grads(lambda x, s, o, m: bn_act_reference(x, s, o, m, activation, 1e-3), x, scale, offset, mask),
           2e-5)


def test_fused_batch_norm_statistics_survive_a_large_mean():
    # E[x^2] - E[x]^2 over float sums would cancel here; the kernel sums x - x[0].
    x = 1000.0 + jax.random.normal(jax.random.PRNGKey(3), (64, 4, 4, 8))
    ones, zeros = jnp.ones((8,)), jnp.zeros((8,))
    got = jax.jit(lambda x: bn_act(x, ones, zeros, ones, "none", 1e-3, "kernel"))(x)
    np.testing.assert_allclose(got, bn_act_reference(x, ones, zeros, ones, "none", 1e-3), atol=2e-3)


def test_other_dtypes_and_activations_take_the_jnp_form():
    x = jnp.ones((2, 3, 3, 4), jnp.bfloat16)
    y = bn_act(x, jnp.ones(4, jnp.bfloat16), jnp.zeros(4, jnp.bfloat16), 1.0, "relu", 1e-3, "kernel")
    assert y.dtype == jnp.bfloat16
    z = jax.random.normal(jax.random.PRNGKey(4), (2, 3, 3, 4))
    np.testing.assert_allclose(bn_act(z, jnp.ones(4), jnp.zeros(4), 1.0, "sigmoid", 1e-3, "kernel"),
                               bn_act_reference(z, jnp.ones(4), jnp.zeros(4), 1.0, "sigmoid", 1e-3), rtol=1e-6)


# Gradients through every reducing kernel (depthwise and 1x1 weight gradients, BN statistics and
# backward), at sizes cut into many slices; prints a digest of every result's bytes.
_DIGEST_SCRIPT = """
import hashlib, jax, jax.numpy as jnp
from jaxnas.supernet._batchnorm import bn_act
from jaxnas.supernet._depthwise import depthwise_conv
from jaxnas.supernet._pointwise import pointwise_conv
k = jax.random.split(jax.random.PRNGKey(0), 4)
x = jax.random.normal(k[0], (8, 24, 24, 40))
dw, pw = jax.random.normal(k[1], (5, 5, 40)), jax.random.normal(k[2], (40, 24))
s = jax.random.normal(k[3], (24,))
def f(x, dw, pw, s):
    h = pointwise_conv(depthwise_conv(x, dw, 1, "kernel"), pw, "kernel")
    return jnp.sum(jnp.sin(bn_act(h, s, s, jnp.ones_like(s), "relu6", 1e-3, "kernel")))
out = jax.jit(jax.value_and_grad(f, (0, 1, 2, 3)))(x, dw, pw, s)
print("DIGEST", hashlib.sha256(b"".join(a.tobytes() for a in jax.tree_util.tree_leaves(out))).hexdigest())
"""


def test_kernel_results_do_not_depend_on_the_thread_count():
    """XLA's intra-op pool (the kernels' threads) has NPROC threads: 1 and 3 give the same bits."""
    digests = set()
    for threads in (1, 3):
        env = dict(os.environ, NPROC=str(threads), JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
        out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        digests.add(next(line for line in out.stdout.splitlines() if line.startswith("DIGEST")))
    assert len(digests) == 1, digests
