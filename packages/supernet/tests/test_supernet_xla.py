"""configure_xla: the CPU remat flag where the process computes on CPU alone, never on GPU/TPU."""

import os

import jax
import pytest
from jaxnas.supernet import configure_xla, xla_configured
from jaxnas.supernet._xla import REMAT_XLA_FLAGS, computes_on_cpu_only, installed_accelerator_plugins

CPU_FLAG = REMAT_XLA_FLAGS[0]


@pytest.fixture(autouse=True)
def _jax_started():
    jax.devices()  # the backend runs, as in any test process after the first jax computation


def test_configure_xla_adds_the_flag_once_and_keeps_others(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    with pytest.warns(RuntimeWarning, match="before the first jax computation"):
        value = configure_xla(cpu_only=True)  # jax already runs in this test process: too late, and it says so
    assert value.split() == ["--xla_force_host_platform_device_count=2", CPU_FLAG]
    assert configure_xla(cpu_only=True) == value == os.environ["XLA_FLAGS"]  # idempotent, no second warning


def test_configure_xla_removes_the_cpu_flag_for_an_accelerator_process(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", f"--xla_force_host_platform_device_count=2 {CPU_FLAG}")
    with pytest.warns(RuntimeWarning):
        value = configure_xla(cpu_only=False)
    assert value == "--xla_force_host_platform_device_count=2" == os.environ["XLA_FLAGS"]
    monkeypatch.setenv("XLA_FLAGS", CPU_FLAG)
    with pytest.warns(RuntimeWarning):
        assert configure_xla(cpu_only=False) == ""
    assert "XLA_FLAGS" not in os.environ  # an empty value is not left behind


@pytest.mark.parametrize("env, plugins, expected", [
    ({"JAX_PLATFORMS": "cpu"}, ("jax_plugins.xla_cuda13",), True),   # explicit platforms win over plugins
    ({"JAX_PLATFORMS": "cuda"}, (), False),
    ({"JAX_PLATFORMS": "cuda,cpu"}, (), False),                      # a GPU process that also has a CPU device
    ({"JAX_PLATFORMS": " CPU , cpu "}, (), True),
    ({"JAX_PLATFORMS": "tpu"}, (), False),
    ({"JAX_PLATFORM_NAME": "gpu"}, (), False),
    ({"JAX_PLATFORM_NAME": "cpu"}, ("libtpu",), True),
    ({"JAX_PLATFORMS": ""}, (), True),                               # empty means unset
    ({}, (), True),                                                  # no plugin: jax computes on CPU
    ({}, ("jax-cuda12-plugin",), False),
    ({}, ("libtpu",), False),
])
def test_the_platform_decision(env, plugins, expected):
    assert computes_on_cpu_only(env, plugins) is expected


def test_plugin_discovery_reads_metadata_without_starting_anything():
    plugins = installed_accelerator_plugins()
    assert isinstance(plugins, tuple) and list(plugins) == sorted(plugins)
    if jax.default_backend() == "cpu" and not os.environ.get("JAX_PLATFORMS"):
        assert plugins == ()  # jax would have picked the accelerator of an installed plugin


def test_the_test_session_configured_xla_by_the_platform_rule():
    # The root conftest calls configure_xla() before jax starts: the CPU flag where the rule says
    # the process computes on CPU alone, none on GPU/TPU (where it breaks the compiler).
    flags = os.environ.get("XLA_FLAGS", "").split()
    assert (CPU_FLAG in flags) == computes_on_cpu_only()
    if computes_on_cpu_only():
        assert jax.default_backend() == "cpu" and xla_configured()
