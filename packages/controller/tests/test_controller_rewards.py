"""Reward formulas, their use inside jit, and their input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.controller import (
    REWARDS,
    get_reward,
    reward_absolute,
    reward_mnas_hard,
    reward_mnas_soft,
)


def test_mnas_soft():
    # Q * (T / T0) ** beta
    np.testing.assert_allclose(float(reward_mnas_soft(0.8, 100.0, 80.0, -0.07)), 0.8 * 1.25 ** -0.07, rtol=1e-6)
    np.testing.assert_allclose(float(reward_mnas_soft(0.8, 40.0, 80.0, -0.07)), 0.8 * 0.5 ** -0.07, rtol=1e-6)


def test_mnas_hard():
    # Q * min(1, (T / T0) ** beta): no bonus below the target.
    np.testing.assert_allclose(float(reward_mnas_hard(0.8, 100.0, 80.0, -0.07)), 0.8 * 1.25 ** -0.07, rtol=1e-6)
    np.testing.assert_allclose(float(reward_mnas_hard(0.8, 40.0, 80.0, -0.07)), 0.8, rtol=1e-6)


def test_absolute():
    # Q + beta * |T / T0 - 1|, default beta -0.1
    np.testing.assert_allclose(float(reward_absolute(0.8, 100.0, 80.0)), 0.8 - 0.1 * 0.25, rtol=1e-6)
    np.testing.assert_allclose(float(reward_absolute(0.8, 60.0, 80.0, -0.5)), 0.8 - 0.5 * 0.25, rtol=1e-6)
    np.testing.assert_allclose(float(reward_absolute(0.8, 80.0, 80.0)), 0.8, rtol=1e-6)


def test_arrays_broadcast_and_jit_with_traced_beta():
    q = jnp.array([0.7, 0.8])
    t = jnp.array([[50.0], [100.0]])
    assert reward_absolute(q, t, 80.0).shape == (2, 2)
    f = jax.jit(lambda beta: reward_mnas_soft(0.8, 100.0, 80.0, beta))
    np.testing.assert_allclose(float(f(-0.07)), 0.8 * 1.25 ** -0.07, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(reward_absolute(np.array([0.8]), np.array([88.0]), 80.0)), [0.79])


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_bad_target_and_beta_are_rejected(name):
    reward = get_reward(name)
    with pytest.raises(ValueError, match="target must be > 0"):
        reward(0.8, 10.0, 0.0, -0.1)
    with pytest.raises(ValueError, match="target must be > 0"):
        reward(0.8, 10.0, np.array([1.0, -2.0]), -0.1)
    with pytest.raises(ValueError, match=r"beta must be < 0 \(a cost exponent"):
        reward(0.8, 10.0, 80.0, 0.1)


def test_get_reward_unknown_name():
    with pytest.raises(ValueError, match=r"unknown reward 'mnas'; choose one of \['absolute', 'mnas_hard', 'mnas_soft'\]"):
        get_reward("mnas")
