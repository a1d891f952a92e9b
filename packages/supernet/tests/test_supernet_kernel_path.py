"""Where CI runs, the C++ CPU kernels are built and a supernet training step calls them.

Elsewhere a machine without a C++ compiler skips every kernel test (the pure-jax
forms still give the same values). In CI that would hide a broken build behind a
green suite, so there the kernel path is required: ``JAXNAS_REQUIRE_CPU_KERNELS=1``
(``.ci/run`` sets it) or ``CI=true`` (set by most CI services) make this test fail,
with the reason, when the kernels cannot be built or a step does not use them.
``JAXNAS_REQUIRE_CPU_KERNELS=0`` lifts the requirement under ``CI=true``.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet import _cpu_kernel
from jaxnas.supernet._depthwise import depthwise_conv, resolve_implementation

TRUE = ("1", "true", "yes")


def kernels_required() -> bool:
    """Whether this test run must use the C++ kernels (see the module docstring)."""
    flag = os.environ.get("JAXNAS_REQUIRE_CPU_KERNELS")
    if flag is not None and flag != "":
        return flag.lower() in TRUE
    return os.environ.get("CI", "").lower() in TRUE


def test_the_kernels_are_built_and_a_training_step_calls_them(tiny):
    if jax.default_backend() != "cpu":
        pytest.skip("the C++ kernels are CPU kernels")
    if not _cpu_kernel.available() and not kernels_required():
        pytest.skip(f"C++ kernels unavailable ({_cpu_kernel.unavailable_reason()}) and not required here "
                    "(CI=true or JAXNAS_REQUIRE_CPU_KERNELS=1 require them)")
    assert _cpu_kernel.available(), (
        f"the C++ CPU kernels are required here (CI) but could not be built: {_cpu_kernel.unavailable_reason()}")
    assert resolve_implementation("auto") == "kernel"

    # One depthwise conv through `auto`: the kernel's values, not only its name in the program.
    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x, w = jax.random.normal(kx, (2, 9, 9, 5)), jax.random.normal(kw, (3, 3, 5))
    auto = jax.jit(lambda x, w: depthwise_conv(x, w, 2))
    assert "jaxnas_depthwise_forward" in auto.lower(x, w).as_text()
    np.testing.assert_allclose(auto(x, w), depthwise_conv(x, w, 2, impl="lax"), rtol=1e-5, atol=1e-5)

    # A supernet training step (forward and backward) calls every kind of kernel.
    # (its own jit: lowering tiny.step would count as one of that function's allowed traces)
    arch = jnp.zeros((tiny.space.num_decisions,), jnp.int32)

    def loss(params):
        out, _ = tiny.net.apply(params, tiny.state, tiny.images, arch, jax.random.PRNGKey(2), 0.0, 0.0)
        return jnp.mean(jnp.square(out.logits))

    program = jax.jit(jax.grad(loss)).lower(tiny.params).as_text()
    called = {target for target in _cpu_kernel.TARGETS if f"@{target}" in program}
    assert called == set(_cpu_kernel.TARGETS), f"not called by a training step: {set(_cpu_kernel.TARGETS) - called}"
