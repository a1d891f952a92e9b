"""REINFORCE controller: baseline, exact gradient, Adam, schedules, no retracing, pytree state."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jaxnas.controller import (
    ControllerState,
    DecisionStructure,
    as_structure,
    baseline_value,
    delay_steps,
    reinforce_controller,
    rl_schedule,
    scaled_learning_rate,
)
from jaxnas.searchspace import get_space

# Decision 0 (3 choices) and 1 (2 choices) live inside a layer that decision 2 keeps (0) or skips (1).
SKIP = DecisionStructure([3, 2, 2, 1], parent=[2, 2, -1, -1], parent_choice=[0, 0, -1, -1])


def softmax_rows(z):
    z = np.where(np.isfinite(z), z, -np.inf)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_baseline_is_debiased_ema_including_current_step():
    ctrl = reinforce_controller(SKIP, 1e-3, baseline_momentum=0.9)
    state = ctrl.init()
    archs = jnp.zeros((2, 4), jnp.int32)
    update = jax.jit(ctrl.update)
    state, info = update(state, archs, jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(float(info.baseline), 1.0, rtol=1e-6)
    state, info = update(state, archs, jnp.array([0.5, -0.5]))   # step mean 0.0
    np.testing.assert_allclose(float(info.baseline), 0.09 / 0.19, rtol=1e-6)   # 0.47368...
    np.testing.assert_allclose(float(baseline_value(state, 0.9)), 0.473684, rtol=1e-5)
    assert int(state.baseline.count) == 2


def manual_gradient(logits, archs, rewards, baseline, entropy_weight=0.0):
    """d/dlogits of mean_n[-(R_n - b) log pi(a_n) - lambda H(a_n)], hierarchical, by hand."""
    p = softmax_rows(np.asarray(logits, np.float64))
    logp = np.log(np.where(p > 0, p, 1.0))
    h = -(p * logp).sum(axis=1)
    grad = np.zeros_like(p)
    for a, r in zip(np.asarray(archs), np.asarray(rewards)):
        active = [True] * 4
        for i in (1, 0):  # parents are later; one level here
            active[i] = a[2] == 0
        for i in range(4):
            if not active[i]:
                continue
            onehot = np.eye(p.shape[1])[a[i]]
            grad[i] += -(r - baseline) * (onehot - p[i])               # d log p(a_i) = onehot - p
            grad[i] += entropy_weight * p[i] * (logp[i] + h[i])        # d(-H_i) = p * (log p + H)
    grad = np.where(np.isfinite(np.asarray(logits)), grad, 0.0)
    return grad / len(archs)


@pytest.mark.parametrize("entropy_weight", [0.0, 0.3])
def test_gradient_equals_manual_computation(entropy_weight):
    # SGD with rate 1 makes the logit change equal to minus the gradient.
    ctrl = reinforce_controller(SKIP, optimizer=optax.sgd(1.0), entropy_weight=entropy_weight)
    state = ctrl.init()
    logits = jnp.array([[0.3, -0.2, 0.5], [0.1, 0.4, -jnp.inf], [0.2, -0.1, -jnp.inf], [0.0, -jnp.inf, -jnp.inf]])
    state = state._replace(logits=logits)
    archs = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0]], jnp.int32)
    rewards = jnp.array([0.9, 0.1, 0.5])
    new, info = jax.jit(ctrl.update)(state, archs, rewards)
    expected = manual_gradient(logits, archs, rewards, baseline=0.5, entropy_weight=entropy_weight)
    finite = np.isfinite(np.asarray(logits))
    np.testing.assert_allclose(np.asarray(logits - new.logits)[finite], expected[finite], atol=1e-6)
    assert np.all(np.isneginf(np.asarray(new.logits)[~finite]))
    np.testing.assert_allclose(float(info.mean_advantage), 0.0, atol=1e-7)


def test_batch_adam_first_step_moves_each_logit_by_the_learning_rate():
    # b1 = 0: the first optax.adam step is lr * g / (|g| + eps), i.e. lr * sign(g).
    ctrl = reinforce_controller(SKIP, 1e-2, second_moment="batch")
    state = ctrl.init()
    archs = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0]], jnp.int32)
    new, _ = jax.jit(ctrl.update)(state, archs, jnp.array([1.0, 0.0]))
    g = manual_gradient(state.logits, archs, [1.0, 0.0], baseline=0.5)
    finite = np.isfinite(np.asarray(state.logits))
    np.testing.assert_allclose(np.asarray(new.logits)[finite], -1e-2 * np.sign(g[finite]), atol=1e-7)
    # The single-choice decision never moves.
    assert float(new.logits[3, 0]) == 0.0


def test_schedule_values():
    total = 1000
    assert delay_steps(total) == 250
    exp = rl_schedule(2e-3, total, "exponential")
    const = rl_schedule(2e-3, total, "constant")
    for s in (exp, const):
        assert float(s(0)) == 0.0 and float(s(249)) == 0.0
        np.testing.assert_allclose(float(s(250)), 2e-3, rtol=1e-6)
    np.testing.assert_allclose(float(const(999)), 2e-3, rtol=1e-6)
    np.testing.assert_allclose(float(exp(999)), 2e-2, rtol=1e-5)          # 10x at the last step
    mid = 250 + (999 - 250) / 2
    np.testing.assert_allclose(float(exp(int(mid))), 2e-3 * 10 ** ((int(mid) - 250) / 749), rtol=1e-5)
    np.testing.assert_allclose(scaled_learning_rate(4096), 4.8e-3)
    np.testing.assert_allclose(scaled_learning_rate(32), 3.75e-5)


def test_update_reports_the_scheduled_rate_and_rate_zero_freezes_logits():
    ctrl = reinforce_controller(SKIP, 1e-2, schedule="exponential", total_steps=8)
    state = ctrl.init()
    update = jax.jit(ctrl.update)
    archs = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0]], jnp.int32)
    rates = []
    for _ in range(8):
        before = state.logits
        state, info = update(state, archs, jnp.array([1.0, 0.0]))
        rates.append(float(info.learning_rate))
        if rates[-1] == 0.0:
            np.testing.assert_array_equal(np.asarray(state.logits), np.asarray(before))
    np.testing.assert_allclose(rates, [0, 0] + [1e-2 * 10 ** (k / 5) for k in range(6)], rtol=1e-5)


def test_update_does_not_retrace_for_new_architectures():
    space = get_space("proxylessnas")
    ctrl = reinforce_controller(space, 1e-2)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(state, key):
        archs = ctrl.sample(key, state, 4)
        return ctrl.update(state, archs, jnp.arange(4.0))[0], archs

    @jax.jit
    @chex.assert_max_traces(n=1)
    def update(state, archs, rewards):
        return ctrl.update(state, archs, rewards)

    state = ctrl.init()
    key = jax.random.key(0)
    seen = set()
    for i in range(20):
        key, k = jax.random.split(key)
        _, archs = step(state, k)
        state, _ = update(state, np.asarray(archs), np.linspace(0.0, 1.0, 4) + i)
        seen.add(space.format(np.asarray(archs)[0]))
    assert len(seen) == 20
    chex.clear_trace_counter()


def test_state_is_a_checkpointable_pytree():
    ctrl = reinforce_controller(get_space("proxylessnas"), 1e-2, schedule="constant", total_steps=4)
    state = ctrl.init()
    archs = ctrl.sample(jax.random.key(0), state, 8)
    update = jax.jit(ctrl.update)
    state, _ = update(state, archs, jnp.linspace(0, 1, 8))
    leaves, treedef = jax.tree_util.tree_flatten(state)
    saved = [np.array(x) for x in leaves]                         # what a checkpointer writes
    restored = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(x) for x in saved])
    assert isinstance(restored, ControllerState)
    chex.assert_trees_all_equal(restored, state)
    a, _ = update(state, archs, jnp.linspace(1, 0, 8))
    b, _ = update(restored, archs, jnp.linspace(1, 0, 8))
    chex.assert_trees_all_close(a, b)


def test_axis_name_averages_over_devices():
    ctrl = reinforce_controller(SKIP, optimizer=optax.sgd(1.0))
    multi = reinforce_controller(SKIP, optimizer=optax.sgd(1.0), axis_name="devices")
    state = ctrl.init()
    archs = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0]], jnp.int32)
    rewards = jnp.array([0.9, 0.1, 0.5, 0.2])
    single, info = jax.jit(ctrl.update)(state, archs, rewards)
    per_device = jax.jit(jax.vmap(multi.update, in_axes=(None, 0, 0), axis_name="devices"))(
        state, archs.reshape(2, 2, 4), rewards.reshape(2, 2))
    np.testing.assert_allclose(np.asarray(per_device[0].logits[0]), np.asarray(single.logits), atol=1e-6)
    np.testing.assert_allclose(float(per_device[1].baseline[1]), float(info.baseline), rtol=1e-6)


def test_hierarchical_false_counts_every_decision():
    flat = reinforce_controller(SKIP, 1e-2, hierarchical=False)
    hier = reinforce_controller(SKIP, 1e-2)
    state = hier.init()
    skipped = jnp.array([[1, 1, 1, 0]], jnp.int32)
    np.testing.assert_allclose(float(flat.log_prob(state, skipped)[0]), -np.log(12), rtol=1e-6)
    np.testing.assert_allclose(float(hier.log_prob(state, skipped)[0]), -np.log(2), rtol=1e-6)


def test_errors_name_the_culprit():
    ctrl = reinforce_controller(SKIP, 1e-2)
    state = ctrl.init()
    with pytest.raises(ValueError, match=r"update: architectures must be int\[N, 4\] or int\[4\], got shape \(2, 3\)"):
        ctrl.update(state, jnp.zeros((2, 3), jnp.int32), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"update: archs must be int\[N, 4\]"):
        ctrl.update(state, jnp.zeros(4, jnp.int32), jnp.zeros(1))
    with pytest.raises(TypeError, match="update: architectures must be integer choice indices, got dtype float32"):
        ctrl.update(state, jnp.zeros((2, 4)), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"rewards must be float\[N\] with N = 2"):
        ctrl.update(state, jnp.zeros((2, 4), jnp.int32), jnp.zeros(3))
    with pytest.raises(ValueError, match="needs total_steps"):
        reinforce_controller(SKIP, 1e-2, schedule="exponential")
    with pytest.raises(ValueError, match=r"schedule: expected one of \('constant', 'exponential'\)"):
        reinforce_controller(SKIP, 1e-2, schedule="cosine", total_steps=10)
    with pytest.raises(ValueError, match="entropy_weight must be >= 0"):
        reinforce_controller(SKIP, entropy_weight=-1.0)
    with pytest.raises(ValueError, match=r"baseline_momentum: expected a number in \[0, 1\)"):
        reinforce_controller(SKIP, baseline_momentum=1.0)
    with pytest.raises(ValueError, match="learning_rate: expected a positive number"):
        reinforce_controller(SKIP, -1.0)
    with pytest.raises(ValueError, match="batch_size: expected a positive int"):
        scaled_learning_rate(0)
    with pytest.raises(ValueError, match=r"delay_fraction: expected a fraction in \[0, 1\)"):
        rl_schedule(1e-3, 10, delay_fraction=1.5)
    assert as_structure(SKIP) is SKIP
