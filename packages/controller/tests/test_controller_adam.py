"""Adam details: the per-architecture second moment (TuNAS TPU optimiser) and the zero-rate delay."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jaxnas.controller import (
    DecisionStructure,
    per_sample_adam,
    reinforce_controller,
    scale_by_per_sample_adam,
)

# Decisions 0 (3 choices) and 1 (2 choices) live in a layer that decision 2 keeps (0) or skips (1).
SKIP = DecisionStructure([3, 2, 2, 1], parent=[2, 2, -1, -1], parent_choice=[0, 0, -1, -1])
ARCHS = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0]], jnp.int32)
REWARDS = jnp.array([0.9, 0.1, 0.5, 0.2])


def per_arch_gradients(logits, archs, advantages):
    """Hand-written d/dlogits of -(R_n - b) log pi(a_n), one row per architecture: [N, D, C]."""
    z = np.asarray(logits, np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    out = np.zeros((len(archs),) + p.shape)
    for n, (a, adv) in enumerate(zip(np.asarray(archs), np.asarray(advantages))):
        for i in range(4):
            if i < 2 and a[2] != 0:        # inside the skipped layer: no gradient
                continue
            out[n, i] = -adv * (np.eye(p.shape[1])[a[i]] - p[i])
    return out


LR = 1e-2
# Constant schedule over 8 steps: rate 0 for steps 0-1 (delay int(0.25 * 8) = 2), then LR.
BATCH = reinforce_controller(SKIP, LR, schedule="constant", total_steps=8, second_moment="batch")
PER_ARCH = reinforce_controller(SKIP, LR, schedule="constant", total_steps=8, second_moment="per_architecture")
UPDATE = {"batch": jax.jit(BATCH.update), "per_architecture": jax.jit(PER_ARCH.update)}


def run(second_moment, steps, archs=ARCHS, rewards=REWARDS):
    state = BATCH.init() if second_moment == "batch" else PER_ARCH.init()
    for _ in range(steps):
        state, info = UPDATE[second_moment](state, archs, rewards)
    return state, info


def test_delay_feeds_adam_then_per_architecture_divides_by_root_mean_square_of_per_arch_gradients():
    init = BATCH.init()
    finite = np.isfinite(np.asarray(init.logits))
    g = per_arch_gradients(init.logits, ARCHS, REWARDS - float(jnp.mean(REWARDS)))
    mean, mean_square = g.mean(0), (g ** 2).mean(0)
    moved = {}
    for second_moment in ("batch", "per_architecture"):
        # Rate 0 during the delay: logits stay put, but (as in the reference, whose Adam op runs
        # every step with the rate times 0) the step count and the second moment see gradients.
        state, info = run(second_moment, 2)
        assert float(info.learning_rate) == 0.0
        np.testing.assert_array_equal(np.asarray(state.logits), np.asarray(init.logits))
        assert int(state.opt_state[0].count) == 2
        assert float(jnp.sum(jnp.where(finite, state.opt_state[0].nu, 0.0))) > 0.0
        # Same archs and rewards every step: the baseline stays at the mean reward, every step has
        # the same gradients, so after the delay v_hat is exactly their (per-arch) mean square.
        state, info = UPDATE[second_moment](state, ARCHS, REWARDS)
        np.testing.assert_allclose(float(info.learning_rate), LR, rtol=1e-6)
        second = mean * mean if second_moment == "batch" else mean_square
        expected = -LR * mean / (np.sqrt(second) + 1e-8)
        np.testing.assert_allclose(np.asarray(state.logits)[finite], expected[finite], atol=2e-6)
        assert np.all(np.isneginf(np.asarray(state.logits)[~finite]))
        moved[second_moment] = np.abs(np.asarray(state.logits)[finite]).sum()
    # Noisy per-architecture gradients make smaller steps than optax.adam on their mean.
    assert moved["per_architecture"] < moved["batch"]


def test_identical_samples_make_both_second_moments_equal():
    # Same architecture and reward for all 4 samples of a step: every per-arch gradient is the mean.
    same = jnp.broadcast_to(ARCHS[0], ARCHS.shape)
    states = {"batch": BATCH.init(), "per_architecture": PER_ARCH.init()}
    infos = {}
    for r in (0.2, 0.9, 0.1, 0.5):                 # steps 0-1: delay; 2-3: the logits move
        for k, update in UPDATE.items():
            states[k], infos[k] = update(states[k], same, jnp.full(4, r))
    a, b = states["batch"], states["per_architecture"]
    assert float(jnp.max(jnp.abs(jnp.where(jnp.isfinite(a.logits), a.logits, 0.0)))) > 0.0
    np.testing.assert_allclose(np.asarray(a.logits), np.asarray(b.logits), atol=1e-6)
    np.testing.assert_allclose(float(infos["batch"].loss), float(infos["per_architecture"].loss), rtol=1e-6)


def test_per_architecture_axis_name_averages_squares_over_devices():
    single = reinforce_controller(SKIP, LR, second_moment="per_architecture")
    multi = reinforce_controller(SKIP, LR, second_moment="per_architecture", axis_name="devices")
    state = single.init()
    g = per_arch_gradients(state.logits, ARCHS, REWARDS - float(jnp.mean(REWARDS)))
    expected = -LR * g.mean(0) / (np.sqrt((g ** 2).mean(0)) + 1e-8)   # squares of all 4 archs
    per_device, _ = jax.jit(jax.vmap(multi.update, in_axes=(None, 0, 0), axis_name="devices"))(
        state, ARCHS.reshape(2, 2, 4), REWARDS.reshape(2, 2))
    finite = np.isfinite(np.asarray(state.logits))
    for d in range(2):
        np.testing.assert_allclose(np.asarray(per_device.logits[d])[finite], expected[finite], atol=2e-6)


def test_per_sample_adam_matches_optax_adam_when_mean_square_is_the_square_of_the_mean():
    g = [jnp.array([0.3, -0.2]), jnp.array([-0.1, 0.4]), jnp.array([0.2, 0.2])]
    ours, ref = per_sample_adam(0.1, b1=0.5), optax.adam(0.1, b1=0.5, b2=0.999, eps=1e-8)
    s, r = ours.init(jnp.zeros(2)), ref.init(jnp.zeros(2))
    for gi in g:
        u, s = ours.update(gi, s, mean_square=gi * gi)
        v, r = ref.update(gi, r)
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5)


def test_errors_name_the_culprit():
    with pytest.raises(ValueError, match=r"second_moment: expected one of \('batch', 'per_architecture'\)"):
        reinforce_controller(SKIP, 1e-2, second_moment="per_device")
    with pytest.raises(ValueError, match="accepts it \\(e.g. per_sample_adam\\) or leave optimizer=None"):
        plain = optax.GradientTransformation(*optax.sgd(1.0))        # no extra-args support
        reinforce_controller(SKIP, second_moment="per_architecture", optimizer=plain)
    t = scale_by_per_sample_adam()
    with pytest.raises(TypeError, match="update needs mean_square="):
        t.update(jnp.zeros(2), t.init(jnp.zeros(2)))
    with pytest.raises(ValueError, match=r"b2 must be in \[0, 1\), got 1.0"):
        scale_by_per_sample_adam(b2=1.0)


ONE = DecisionStructure([3], parent=[-1], parent_choice=[-1])   # one decision of 3 choices


def test_default_adam_is_per_architecture_by_hand_on_two_architectures():
    # Uniform logits p = 1/3; archs 0 and 1 with rewards 1 and 0: baseline 0.5, advantages +-0.5.
    # g_0 = -0.5 (e_0 - p) = [-1/3, 1/6, 1/6];  g_1 = +0.5 (e_1 - p) = [-1/6, 1/3, -1/6].
    # mean = [-1/4, 1/4, 0];  mean of squares = [5/72, 5/72, 1/36].  First Adam step (b1 = 0, both
    # moments debiased): -lr * mean / sqrt(mean square) = lr * [0.25 / sqrt(5/72), -same, 0]
    # = lr * [0.948683, -0.948683, 0]  (optax.adam on the mean would give lr * [1, -1, 0]).
    ctrl = reinforce_controller(ONE, LR)                       # the default: the reference's Adam
    state, _ = jax.jit(ctrl.update)(ctrl.init(), jnp.array([[0], [1]], jnp.int32), jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(np.asarray(state.logits[0]), LR * np.array([0.948683, -0.948683, 0.0]), atol=1e-7)
    assert isinstance(state.opt_state[0].nu, jax.Array)        # per_sample_adam's state, not optax's


def test_entropy_bonus_is_a_plain_sgd_step_outside_adam():
    # Reference (tpu_optimizer_ops.apply_adam with regularization_loss): Adam on the REINFORCE loss,
    # then logits -= lr * d(-lambda H)/d logits, and Adam's moments never see the entropy gradient.
    weight = 0.3
    plain, bonus = reinforce_controller(ONE, LR), reinforce_controller(ONE, LR, entropy_weight=weight)
    z = jnp.array([[1.0, 0.0, -1.0]])
    archs, rewards = jnp.array([[0], [2]], jnp.int32), jnp.array([0.3, 0.7])
    a, _ = plain.update(plain.init()._replace(logits=z), archs, rewards)
    b, _ = bonus.update(bonus.init()._replace(logits=z), archs, rewards)
    p = np.exp(np.asarray(z[0], np.float64)) / np.exp(np.asarray(z[0], np.float64)).sum()
    h = -(p * np.log(p)).sum()
    dh = -p * (np.log(p) + h)                                  # dH/dz of a categorical
    np.testing.assert_allclose(np.asarray(b.logits[0] - a.logits[0]), LR * weight * dh, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(b.opt_state[0].nu), np.asarray(a.opt_state[0].nu))


def test_state_buffers_can_be_donated():
    # A search step donates the controller state; mu and nu must not share one buffer.
    state = PER_ARCH.init()
    assert state.opt_state[0].mu is not state.opt_state[0].nu
    step = jax.jit(PER_ARCH.update, donate_argnums=(0,))
    state, _ = step(state, ARCHS, REWARDS)
    assert int(state.step) == 1
