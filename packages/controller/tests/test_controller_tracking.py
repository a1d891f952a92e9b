"""Tracking: EMAs (baseline arithmetic, every-100-steps cost EMA) and the probability recorder."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.controller import (
    ProbabilityHistory,
    ema_init,
    ema_update,
    ema_value,
    init_logits,
    periodic_ema_update,
    reinforce_controller,
)
from jaxnas.searchspace import get_space


def test_debiased_ema_sequence():
    e = ema_init()
    assert float(ema_value(e, 0.9)) == 0.0
    e = ema_update(e, 1.0, 0.9)
    np.testing.assert_allclose(float(ema_value(e, 0.9)), 1.0, rtol=1e-6)
    e = ema_update(e, 0.0, 0.9)
    np.testing.assert_allclose(float(ema_value(e, 0.9)), 0.47368421, rtol=1e-6)


def test_periodic_ema_updates_at_the_end_of_each_window():
    def run(values):
        def step(e, iv):
            i, v = iv
            return periodic_ema_update(e, i, v, decay=0.9, every=100), None
        e, _ = jax.lax.scan(step, ema_init(), (jnp.arange(values.shape[0]), values))
        return e

    values = jnp.arange(300, dtype=jnp.float32)
    e = jax.jit(run)(values)
    assert int(e.count) == 3                                      # steps 99, 199, 299
    acc = 0.0
    for v in (99.0, 199.0, 299.0):
        acc = 0.9 * acc + 0.1 * v
    np.testing.assert_allclose(float(ema_value(e, 0.9)), acc / (1 - 0.9 ** 3), rtol=1e-6)


def test_probability_history_records_a_search():
    space = get_space("proxylessnas")
    ctrl = reinforce_controller(space, 0.1)
    state = ctrl.init()
    history = ProbabilityHistory()
    history.record(0, state)
    archs = ctrl.sample(jax.random.key(0), state, 8)
    state, _ = jax.jit(ctrl.update)(state, archs, jnp.linspace(0, 1, 8))
    history.record(1, state)
    history.extend([2, 3], jnp.stack([ctrl.probabilities(state)] * 2))
    assert len(history) == 4 and history.steps.tolist() == [0, 1, 2, 3]
    probs = history.probabilities
    assert probs.shape == (4, 73, 3)
    np.testing.assert_allclose(probs[0, 1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
    out = history.to_dict([d.path for d in space.decisions])
    assert out["steps"] == [0, 1, 2, 3] and len(out["decisions"]["block1/layer0/op"]) == 4


def test_probability_history_errors():
    history = ProbabilityHistory()
    history.record(0, init_logits(reinforce_controller(get_space("proxylessnas")).structure))
    with pytest.raises(ValueError, match=r"shape \(2, 2\) differs from the first record \(73, 3\)"):
        history.record(1, jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"expected logits or probabilities of shape \[D, C\]"):
        history.record(1, jnp.zeros(3))
    with pytest.raises(ValueError, match="got 2 paths for 73 decisions"):
        history.to_dict(["a", "b"])
