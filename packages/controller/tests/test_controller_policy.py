"""Policy: exact entropies and log-probs, hierarchical accounting, sampling."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.controller import (
    DecisionStructure,
    active_mask,
    active_probability,
    argmax,
    as_structure,
    entropy,
    init_logits,
    log_prob,
    probabilities,
    sample,
)
from jaxnas.searchspace import (
    Activation,
    Block,
    Bottleneck,
    Conv,
    GlobalPool,
    OneOf,
    Residual,
    SepConv,
    Space,
    Zero,
    get_space,
)


def tiny_space() -> Space:
    """Decisions: 0 sepconv kernel op, 1 kernel and 2 expansion of a skippable layer, 3 keep/skip, 4 width."""
    bneck = Bottleneck(kernel=OneOf((3, 5, 7), "op"), expansion=OneOf((3.0, 6.0), "filters"), se=False,
                       stride=1, activation="relu")
    return Space("tiny_skip", (
        Block([Conv(3, 2), Activation("relu")], 16),
        Block([OneOf((SepConv(3, 1, "relu"), SepConv(5, 1, "relu")), "op"),
               Residual(OneOf((bneck, Zero()), "op"))], OneOf((16,), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], 32)), 8)


def random_logits(structure, seed=0):
    z = np.random.default_rng(seed).normal(size=(structure.num_decisions, structure.max_choices))
    return jnp.asarray(np.where(structure.choice_mask, z, -np.inf), jnp.float32)


def reference_active(structure, archs):
    """The obvious per-decision loop (post-order: parents later, so walk backwards)."""
    archs = np.atleast_2d(archs)
    out = np.ones(archs.shape, bool)
    for i in range(structure.num_decisions - 1, -1, -1):
        p = structure.parent[i]
        if p >= 0:
            out[:, i] = out[:, p] & (archs[:, p] == structure.parent_choice[i])
    return out


def all_archs(structure):
    return np.array(list(itertools.product(*[range(n) for n in structure.num_choices])), np.int32)


def nested_structure():
    """Depth 3: 0 <- 1 <- 2 <- 4, plus 3 <- 4 under another choice."""
    return DecisionStructure([2, 3, 2, 2, 3], parent=[1, 2, 4, 4, -1], parent_choice=[2, 0, 0, 1, -1])


def test_initial_entropy_is_sum_of_log_num_choices():
    space = get_space("proxylessnas")
    s = as_structure(space)
    logits = init_logits(s)
    expected = np.sum(np.log(space.num_choices))
    np.testing.assert_allclose(float(entropy(logits)), expected, rtol=1e-6)
    np.testing.assert_allclose(float(entropy(logits, s.flat())), expected, rtol=1e-6)


def test_initial_log_prob_is_minus_sum_of_log_num_choices():
    space = get_space("proxylessnas")
    s = as_structure(space)
    archs = space.sample(np.random.default_rng(0), 16)
    flat = log_prob(init_logits(s), archs)
    np.testing.assert_allclose(np.asarray(flat), -np.sum(np.log(space.num_choices)), rtol=1e-6)
    # Hierarchical: only the decisions that shape the network count.
    hier = log_prob(init_logits(s), archs, s)
    expected = -(space.active(archs) * np.log(space.num_choices)).sum(axis=1)
    np.testing.assert_allclose(np.asarray(hier), expected, rtol=1e-6)


def test_hierarchical_vs_flat_log_prob_with_a_skipped_layer():
    space = tiny_space()
    s = as_structure(space)
    assert s.parent.tolist() == [-1, 3, 3, -1, -1]
    logits = random_logits(s)
    logp = np.asarray(jax.nn.log_softmax(jnp.where(jnp.isfinite(logits), logits, -1e30), axis=-1))
    kept = space.parse("1:2:0:0:0")
    skipped = space.parse("1:2:0:1:0")
    # Kept layer: both forms count every decision.
    every = logp[0, 1] + logp[1, 2] + logp[2, 0] + logp[3, 0] + logp[4, 0]
    np.testing.assert_allclose(float(log_prob(logits, kept, s)), every, rtol=1e-6)
    np.testing.assert_allclose(float(log_prob(logits, kept)), every, rtol=1e-6)
    # Skipped layer: its kernel and expansion do not count hierarchically, do count flat.
    np.testing.assert_allclose(float(log_prob(logits, skipped, s)), logp[0, 1] + logp[3, 1] + logp[4, 0],
                               rtol=1e-6)
    np.testing.assert_allclose(float(log_prob(logits, skipped)),
                               logp[0, 1] + logp[1, 2] + logp[2, 0] + logp[3, 1] + logp[4, 0], rtol=1e-6)


def test_skipped_layer_decisions_get_no_gradient():
    s = as_structure(tiny_space())
    logits = random_logits(s, 1)
    skipped = jnp.array([[1, 2, 0, 1, 0]])
    g = jax.jit(jax.grad(lambda z: log_prob(z, skipped, s).sum()))(logits)
    assert np.all(np.asarray(g[1:3]) == 0)
    assert np.any(np.asarray(g[0]) != 0) and np.any(np.asarray(g[3]) != 0)
    # Per-sample entropy: same rule.
    g = jax.jit(jax.grad(lambda z: entropy(z, s, skipped).sum()))(logits)
    assert np.all(np.asarray(g[1:3]) == 0) and np.any(np.asarray(g[0]) != 0)
    # Padded choices never get a gradient, and nothing is NaN.
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("make", [lambda: as_structure(tiny_space()), nested_structure])
def test_hierarchical_distribution_over_networks_is_normalised_and_entropy_exact(make):
    s = make()
    logits = random_logits(s, 2)
    archs = all_archs(s)
    active = reference_active(s, archs)
    canon = np.where(active, archs, 0)
    _, first = np.unique(canon, axis=0, return_index=True)
    networks = archs[np.sort(first)]                    # one architecture per distinct network
    p = np.exp(np.asarray(jax.jit(lambda z, a: log_prob(z, a, s))(logits, networks), np.float64))
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(float(jax.jit(lambda z: entropy(z, s))(logits)), -(p * np.log(p)).sum(),
                               rtol=1e-5)
    # The per-sample entropy is an unbiased estimate of the exact one.
    p_flat = np.exp(np.asarray(jax.jit(log_prob)(logits, archs), np.float64))
    per_sample = np.asarray(jax.jit(lambda z, a: entropy(z, s, a))(logits, archs), np.float64)
    np.testing.assert_allclose((p_flat * per_sample).sum(), float(entropy(logits, s)), rtol=1e-5)


def test_active_mask_matches_loop_for_deep_nesting():
    s = nested_structure()
    assert s.depth == 3
    archs = all_archs(s)
    np.testing.assert_array_equal(np.asarray(active_mask(s, archs)), reference_active(s, archs))
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda a: active_mask(s, a))(archs)),
                                  reference_active(s, archs))


def test_active_mask_matches_space_active():
    space = get_space("mobilenet_v3_like")
    s = as_structure(space)
    archs = space.sample(np.random.default_rng(3), 64)
    np.testing.assert_array_equal(np.asarray(active_mask(s, archs)), space.active(archs))


def test_active_probability_matches_enumeration():
    s = nested_structure()
    logits = random_logits(s, 4)
    archs = all_archs(s)
    p = np.exp(np.asarray(log_prob(logits, archs), np.float64))
    expected = (p[:, None] * reference_active(s, archs)).sum(axis=0)
    np.testing.assert_allclose(np.asarray(active_probability(logits, s)), expected, rtol=1e-5)


def test_sample_frequencies_match_probabilities():
    s = DecisionStructure([3, 2, 1])
    logits = jnp.array([[1.0, 0.0, -1.0], [0.5, -0.5, -jnp.inf], [0.0, -jnp.inf, -jnp.inf]])
    archs = np.asarray(sample(jax.random.key(0), logits, 20000))
    assert archs.dtype == np.int32 and archs.shape == (20000, 3)
    probs = np.asarray(probabilities(logits))
    for d in range(3):
        freq = np.bincount(archs[:, d], minlength=3) / len(archs)
        np.testing.assert_allclose(freq, probs[d], atol=0.015)
    assert np.all(archs < s.num_choices)


def test_temperature_sharpens_and_flattens():
    logits = jnp.array([[2.0, 0.0]])
    cold = np.asarray(sample(jax.random.key(1), logits, 4000, temperature=0.25)).mean()
    hot = np.asarray(sample(jax.random.key(1), logits, 4000, temperature=100.0)).mean()
    assert cold < 0.01 and abs(hot - 0.5) < 0.05
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample(jax.random.key(0), logits, 2, temperature=0.0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        sample(jax.random.key(0), logits, 0)


def test_argmax_and_init_logits():
    s = DecisionStructure([2, 3])
    logits = init_logits(s)
    assert np.isneginf(np.asarray(logits)[0, 2])
    assert argmax(logits).tolist() == [0, 0]
    assert argmax(logits.at[1, 2].set(1.0)).tolist() == [0, 2]


def test_structure_errors_name_the_culprit():
    with pytest.raises(ValueError, match=r"parent\[0\] is 0; a parent must be -1 or a later decision"):
        DecisionStructure([2, 2], parent=[0, -1])
    with pytest.raises(ValueError, match=r"parent\[1\] is 0"):
        DecisionStructure([2, 2], parent=[-1, 0], parent_choice=[-1, 0])
    with pytest.raises(ValueError, match=r"parent_choice\[0\] is 5, but parent 1 has choices 0..1"):
        DecisionStructure([2, 2], parent=[1, -1], parent_choice=[5, -1])
    with pytest.raises(ValueError, match=r"num_choices\[1\] is 0"):
        DecisionStructure([2, 0])
    with pytest.raises(ValueError, match="same length"):
        DecisionStructure([2, 2], parent=[-1])
    with pytest.raises(TypeError, match="expected a jaxnas.searchspace.Space or a DecisionStructure"):
        as_structure("proxylessnas")


def test_closed_form_log_prob_gradients_equal_autodiff():
    from jaxnas.controller._policy import log_prob, log_prob_gradients
    s = DecisionStructure([3, 2, 2, 1], parent=[2, 2, -1, -1], parent_choice=[0, 0, -1, -1])
    logits = jnp.where(jnp.isfinite(init_logits(s)), jnp.array([[0.3, -1.0, 0.5], [1.0, 0.2, 0.0],
                                                                [-0.4, 0.1, 0.0], [0.0, 0.0, 0.0]]), -jnp.inf)
    archs = jnp.array([[2, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0]], jnp.int32)
    auto = jax.vmap(jax.grad(lambda lg, a: log_prob(lg, a[None], s)[0]), in_axes=(None, 0))(logits, archs)
    finite = np.isfinite(np.asarray(logits))
    closed = np.asarray(log_prob_gradients(logits, archs, s))
    np.testing.assert_allclose(closed[:, finite], np.asarray(auto)[:, finite], atol=1e-6)
    assert not closed[:, ~finite].any() and not closed[1, :2].any()   # padded; skipped layer
