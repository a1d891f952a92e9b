"""configure_xla: the one place that sets the flag remat needs on CPU."""

import os

import pytest
from jaxnas.supernet import configure_xla, xla_configured


def test_configure_xla_adds_the_flag_once_and_keeps_others(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    with pytest.warns(RuntimeWarning, match="before the first jax computation"):
        value = configure_xla()  # jax already runs in this test process: too late, and it says so
    assert value.split() == ["--xla_force_host_platform_device_count=2",
                             "--xla_disable_hlo_passes=cse_barrier_expander"]
    assert configure_xla() == value == os.environ["XLA_FLAGS"]  # idempotent, no second warning
    assert xla_configured()


def test_the_test_session_configured_xla():
    assert xla_configured()  # conftest calls configure_xla() before jax starts
