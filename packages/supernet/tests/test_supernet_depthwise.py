"""The CPU depthwise convolution against lax (values and gradients)."""

import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet import _cpu_kernel, depthwise_conv
from jaxnas.supernet._depthwise import resolve_implementation

CASES = [((8, 8), 3, 1, 5), ((7, 9), 5, 2, 5), ((8, 8), 3, 2, 5), ((9, 9), 7, 1, 5), ((6, 6), 7, 2, 5),
         ((5, 4), 1, 2, 5),
         # channel counts that hit the C++ kernel's 32-wide blocks, 8-wide blocks and scalar tail
         ((6, 7), 3, 1, 45), ((5, 5), 5, 2, 64),
         # kernels larger than the input: most taps fall in the padding
         ((1, 1), 7, 1, 3), ((3, 2), 7, 2, 9)]


@pytest.mark.usefixtures("on_cpu")  # the CPU forms, on the CPU device also in a GPU process
@pytest.mark.parametrize("impl", [pytest.param("kernel", marks=pytest.mark.skipif(
    not _cpu_kernel.available(), reason="no C++ compiler: kernel not built")), "shifted"])
@pytest.mark.parametrize("size,kernel,stride,channels", CASES)
def test_cpu_forms_match_lax_values_and_gradients(impl, size, kernel, stride, channels):
    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (2, *size, channels))
    w = jax.random.normal(kw, (kernel, kernel, channels))

    def loss(impl):
        return lambda x, w: jnp.sum(jnp.sin(depthwise_conv(x, w, stride, impl)))

    # jit: eagerly, each of the K*K taps would be dispatched (and compiled) on its own.
    def conv(impl):
        return jax.jit(lambda x, w: depthwise_conv(x, w, stride, impl))

    np.testing.assert_allclose(conv(impl)(x, w), conv("lax")(x, w), rtol=1e-5, atol=1e-5)
    got = jax.jit(jax.grad(loss(impl), (0, 1)))(x, w)
    want = jax.jit(jax.grad(loss("lax"), (0, 1)))(x, w)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("on_cpu")
@pytest.mark.skipif(_cpu_kernel._compiler() is None, reason="no C++ compiler on this machine")
def test_auto_picks_the_cpu_kernel_and_caches_it():
    assert _cpu_kernel.available(), _cpu_kernel.unavailable_reason()
    assert resolve_implementation("auto") == "kernel"
    assert list(_cpu_kernel.cache_dir().glob("cpu_kernels-*.so")), "the built kernel should be cached"


@pytest.mark.skipif(_cpu_kernel._compiler() is None, reason="no C++ compiler on this machine")
def test_an_unwritable_cache_falls_back_to_the_temp_folder(tmp_path, monkeypatch):
    blocked = tmp_path / "not_a_dir"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("JAXNAS_CACHE_DIR", str(blocked))
    built = _cpu_kernel._build(_cpu_kernel._compiler())
    assert built.exists() and built.parent.name.startswith("jaxnas-kernels-")


def test_a_failing_build_reports_the_compiler_error():
    with pytest.raises(RuntimeError, match="failed"):
        _cpu_kernel._build(shutil.which("false"))


@pytest.mark.usefixtures("on_cpu")
@pytest.mark.skipif(not _cpu_kernel.available(), reason="no C++ compiler: kernel not built")
def test_kernel_leaves_other_dtypes_to_the_jax_form():
    x = jnp.ones((1, 5, 5, 2), jnp.bfloat16)
    y = jax.jit(lambda x: depthwise_conv(x, jnp.ones((3, 3, 2), jnp.bfloat16), 1, impl="kernel"))(x)
    assert y.dtype == jnp.bfloat16 and float(y[0, 2, 2, 0]) == 9.0


@pytest.mark.usefixtures("on_cpu")
def test_missing_compiler_falls_back_with_a_reason(monkeypatch):
    monkeypatch.setattr(_cpu_kernel, "_load", lambda: (False, "no C++ compiler found"))
    _cpu_kernel.warn_fallback.cache_clear()
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found"):
        impl = resolve_implementation("auto")
    assert impl == "shifted"
    with pytest.raises(ValueError, match="'kernel': no C\\+\\+ compiler found; use impl='shifted'"):
        resolve_implementation("kernel")


def test_jit_and_output_shape():
    x = jnp.ones((1, 9, 9, 3))
    y = jax.jit(lambda x: depthwise_conv(x, jnp.ones((3, 3, 3)), 2))(x)
    assert y.shape == (1, 5, 5, 3)


def test_bad_inputs_name_the_culprit():
    with pytest.raises(ValueError, match="kernel has 4 channels but x has 3"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 4)))
    with pytest.raises(ValueError, match="odd size"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((2, 2, 3)))
    with pytest.raises(ValueError, match="implementation"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 3)), impl="fast")
