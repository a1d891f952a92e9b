"""The policy: one independent categorical per decision, with hierarchical accounting.

Logits are one padded array ``float32[D, C]``: row ``i`` holds the logits of
decision ``i`` in its first ``num_choices[i]`` columns and ``-inf`` in the rest,
so absent choices have probability exactly 0 and never receive a gradient.

Hierarchical accounting (TuNAS ``independent_sample(hierarchical=True)``): a
decision that is inactive in an architecture (its layer was sampled as Zero)
adds nothing to that architecture's log-probability or entropy, hence gets no
gradient from it. Activity is computed with ``structure.depth`` vectorised
passes over all decisions at once, never a Python loop over decisions.

Shape letters: N architectures, D decisions, C = most choices of any decision.
All functions are pure and jittable; ``structure`` is a constant (close over it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.controller._structure import DecisionStructure


def init_logits(structure: DecisionStructure) -> jax.Array:
    """Uniform logits: 0 for every real choice, ``-inf`` for padding. ``float32[D, C]``.

    >>> init_logits(DecisionStructure([2, 1]))
    Array([[  0.,   0.],
           [  0., -inf]], dtype=float32)
    """
    return jnp.asarray(np.where(structure.choice_mask, 0.0, -np.inf), jnp.float32)


def probabilities(logits: jax.Array, temperature=1.0) -> jax.Array:
    """``float32[D, C]``: per-decision choice probabilities (0 on padding)."""
    return jax.nn.softmax(logits / temperature, axis=-1)


def argmax(logits: jax.Array) -> jax.Array:
    """``int32[D]``: the most likely choice of every decision (the paper's "argmax" architecture)."""
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def sample(key: jax.Array, logits: jax.Array, n: int, temperature=1.0) -> jax.Array:
    """Samples ``n`` architectures, every decision independent: ``int32[n, D]``.

    Inverse-CDF sampling: one uniform number per decision (not one per choice as
    with Gumbel-max), which is what makes long controller-only searches cheap.

    Args:
      key: PRNG key.
      logits: ``float32[D, C]``.
      n: number of architectures (a Python int).
      temperature: > 0; above 1 flattens, below 1 sharpens the distribution.

    >>> logits = init_logits(DecisionStructure([3, 2, 1]))
    >>> sample(jax.random.key(0), logits, 4).shape
    (4, 3)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"sample: n must be a positive int (number of architectures), got {n!r}")
    _check_temperature(temperature)
    probs = probabilities(logits, temperature)                      # [D, C]
    cdf = jnp.cumsum(probs, axis=-1)                                # [D, C]
    u = jax.random.uniform(key, (n, logits.shape[0], 1), probs.dtype)  # [n, D, 1]
    choice = jnp.sum(u >= cdf[None], axis=-1)                       # [n, D]
    # Rounding can leave cdf[-1] slightly below 1; never return a padded column.
    num_valid = jnp.sum(jnp.isfinite(logits), axis=-1)               # [D]
    return jnp.minimum(choice, num_valid - 1).astype(jnp.int32)


def active_mask(structure: DecisionStructure, archs: jax.Array) -> jax.Array:
    """``bool[..., D]``: which decisions affect each architecture.

    Decision ``i`` is active iff ``parent[i] == -1``, or its parent is active and
    picked ``parent_choice[i]``. One vectorised pass fixes one more level of
    nesting, so ``structure.depth`` passes give the exact answer.

    >>> s = DecisionStructure([3, 2], parent=[1, -1], parent_choice=[0, -1])
    >>> active_mask(s, jnp.array([[2, 0], [2, 1]]))
    Array([[ True,  True],
           [False,  True]], dtype=bool)
    """
    archs = check_archs(archs, structure.num_decisions, "active_mask")
    root = jnp.asarray(structure.parent < 0)                         # [D]
    safe_parent = jnp.asarray(np.maximum(structure.parent, 0))        # [D]
    picked = jnp.take(archs, safe_parent, axis=-1) == structure.parent_choice  # [..., D]
    active = jnp.broadcast_to(root, archs.shape)
    for _ in range(structure.depth):
        active = root | (jnp.take(active, safe_parent, axis=-1) & picked)
    return active


def _log_probs(logits: jax.Array) -> jax.Array:
    """``[D, C]`` log-probabilities with padding set to 0 (not -inf) so sums and grads stay finite."""
    return jnp.where(jnp.isfinite(logits), jax.nn.log_softmax(logits, axis=-1), 0.0)


def decision_entropies(logits: jax.Array) -> jax.Array:
    """``float32[D]``: entropy of each decision's categorical (0 for single-choice decisions)."""
    logp = _log_probs(logits)
    return -jnp.sum(jnp.exp(logp) * jnp.where(jnp.isfinite(logits), logp, 0.0), axis=-1)


def log_prob(logits: jax.Array, archs: jax.Array, structure: DecisionStructure | None = None
             ) -> jax.Array:
    """Log-probability of architectures under the policy: ``float32[N]`` (scalar for ``[D]``).

    Args:
      logits: ``float32[D, C]``.
      archs: ``int32[N, D]`` or ``int32[D]``.
      structure: with parent links, inactive decisions contribute nothing
        (hierarchical); None sums every decision (flat).

    >>> s = DecisionStructure([3, 2], parent=[1, -1], parent_choice=[0, -1])
    >>> logits = init_logits(s)
    >>> [round(float(v), 4) for v in log_prob(logits, jnp.array([[0, 0], [0, 1]]), s)]
    [-1.7918, -0.6931]
    """
    archs = check_archs(archs, logits.shape[0], "log_prob")
    per_decision = _log_probs(logits)[jnp.arange(logits.shape[0]), archs]          # [..., D]
    if structure is not None and not structure.is_flat:
        per_decision = jnp.where(active_mask(structure, archs), per_decision, 0.0)
    return jnp.sum(per_decision, axis=-1)


def log_prob_gradients(logits: jax.Array, archs: jax.Array, structure: DecisionStructure | None = None
                       ) -> jax.Array:
    """``float32[N, D, C]``: ``d log pi(arch_n) / d logits`` for each architecture, in closed form.

    ``active[n, d] * (onehot(arch[n, d]) - softmax(logits[d]))``: the same values as
    ``jax.vmap(jax.grad(log_prob))`` without N backward passes (padded choices get 0).

    >>> s = DecisionStructure([3, 2], parent=[1, -1], parent_choice=[0, -1])
    >>> g = log_prob_gradients(init_logits(s), jnp.array([[2, 1]]), s)
    >>> [[round(float(v), 3) for v in row] for row in g[0]]  # decision 0 is skipped: no gradient
    [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]]
    """
    archs = check_archs(archs, logits.shape[0], "log_prob_gradients")
    onehot = jax.nn.one_hot(archs, logits.shape[1], dtype=logits.dtype)            # [N, D, C]
    grads = onehot - jax.nn.softmax(logits, axis=-1)
    if structure is not None and not structure.is_flat:
        grads = jnp.where(active_mask(structure, archs)[..., None], grads, 0.0)
    return grads


def entropy(logits: jax.Array, structure: DecisionStructure | None = None,
            archs: jax.Array | None = None) -> jax.Array:
    """Entropy of the policy, in nats.

    Three forms:

    * ``entropy(logits)``: sum of every decision's entropy (flat);
      ``sum(log(num_choices))`` for uniform logits.
    * ``entropy(logits, structure)``: exact entropy of the distribution over
      networks, ``sum_i P(i active) * H_i`` (a skipped layer's decisions count
      only with the probability that the layer is kept).
    * ``entropy(logits, structure, archs)``: ``float32[N]``, the entropy of the
      decisions active in each architecture (TuNAS's per-sample entropy, the
      one the REINFORCE entropy bonus uses).
    """
    h = decision_entropies(logits)                                   # [D]
    if archs is not None:
        archs = check_archs(archs, logits.shape[0], "entropy")
    if structure is None or structure.is_flat:
        total = jnp.sum(h)
        return total if archs is None else jnp.broadcast_to(total, jnp.shape(archs)[:-1])
    if archs is not None:
        return jnp.sum(jnp.where(active_mask(structure, archs), h, 0.0), axis=-1)
    return jnp.sum(active_probability(logits, structure) * h)


def active_probability(logits: jax.Array, structure: DecisionStructure) -> jax.Array:
    """``float32[D]``: probability that each decision is active under the policy.

    ``q_i = 1`` for root decisions, ``q_i = q_parent * p_parent(parent_choice)``
    otherwise; ``structure.depth`` vectorised passes.
    """
    probs = probabilities(logits)
    root = jnp.asarray(structure.parent < 0)
    safe_parent = np.maximum(structure.parent, 0)
    safe_choice = np.maximum(structure.parent_choice, 0)
    p_pick = probs[safe_parent, safe_choice]                         # [D]
    q = jnp.ones(logits.shape[0], probs.dtype)
    for _ in range(structure.depth):
        q = jnp.where(root, 1.0, q[safe_parent] * p_pick)
    return q


def check_archs(archs, num_decisions: int, where: str) -> jax.Array:
    """``archs`` as an integer array ``[..., D]``; shape and dtype are static, so this also works in jit."""
    archs = jnp.asarray(archs)
    if not jnp.issubdtype(archs.dtype, jnp.integer):
        raise TypeError(f"{where}: architectures must be integer choice indices, got dtype {archs.dtype}")
    if archs.ndim not in (1, 2) or archs.shape[-1] != num_decisions:
        raise ValueError(f"{where}: architectures must be int[N, {num_decisions}] or int[{num_decisions}], "
                         f"got shape {archs.shape}")
    return archs


def _check_temperature(temperature) -> None:
    if isinstance(temperature, (int, float, np.number)) and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
