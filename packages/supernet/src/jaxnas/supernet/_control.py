"""From an architecture (data) to choice weights and channel masks, inside jit.

``choice_weights`` turns ``arch int32[D]`` into ``W float32[D, M]`` (M = most
choices of any decision): one-hot rows, except where warmup replaces a decision.
Op warmup: each ``op``-tagged decision, with probability ``op_warmup``, gets the
uniform row (all choices averaged, Zero included). Filter warmup: each
``filters``-tagged decision, with probability ``filter_warmup``, gets the one-hot
row of its largest choice. Both are independent per decision and per call.
Everything else in the supernet is a product of entries of ``W`` and masks built
from it, so a new architecture or warmup setting never retraces.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class DecisionTable:
    """Static per-decision arrays of a space (numpy, built once)."""

    def __init__(self, space):
        d = space.num_decisions
        self.num_decisions = d
        self.num_choices = np.asarray(space.num_choices, np.int32).reshape(-1)
        m = int(self.num_choices.max()) if d else 1
        self.max_choices = m
        self.valid = (np.arange(m)[None, :] < self.num_choices[:, None]).astype(np.float32)
        self.is_op = np.array([dec.tag == "op" for dec in space.decisions], bool)
        self.is_filters = np.array([dec.tag == "filters" for dec in space.decisions], bool)
        largest = np.array([int(np.argmax(np.asarray(dec.choices, float))) if dec.tag == "filters" else 0
                            for dec in space.decisions], np.int32)
        self.largest = np.eye(m, dtype=np.float32)[largest] if d else np.zeros((0, m), np.float32)


def choice_weights(table: DecisionTable, arch, rng=None, op_warmup=0.0, filter_warmup=0.0):
    """``W float32[D, M]``: the weight of every choice of every decision.

    Args:
      table: the space's :class:`DecisionTable`.
      arch: ``int32[D]`` (traced is fine).
      rng: PRNG key for the warmup draws; None means no warmup.
      op_warmup, filter_warmup: probabilities (floats or traced scalars).
    """
    onehot = jax.nn.one_hot(arch, table.max_choices, dtype=jnp.float32)
    if rng is None:
        return onehot
    k_op, k_filters = jax.random.split(rng)
    d = table.num_decisions
    draw_op = (jax.random.uniform(k_op, (d,)) < op_warmup) & table.is_op
    draw_filters = (jax.random.uniform(k_filters, (d,)) < filter_warmup) & table.is_filters
    uniform = jnp.asarray(table.valid / table.num_choices[:, None])
    w = jnp.where(draw_op[:, None], uniform, onehot)
    return jnp.where(draw_filters[:, None], jnp.asarray(table.largest), w)


def pair_weight(w, pair):
    """Weight of ``(decision, choice)`` (1 when the decision is -1: fixed)."""
    d, c = pair
    return jnp.float32(1.0) if d < 0 else w[d, c]


def width_value(w, ref):
    """Active channel count of a ``WidthRef`` (filters rows are always one-hot)."""
    if ref.decision < 0:
        return jnp.float32(ref.choices[0])
    return jnp.dot(w[ref.decision, :len(ref.choices)], jnp.asarray(ref.choices, jnp.float32))


def table_value(w, in_ref, exp_decision: int, table) -> jnp.ndarray:
    """Channels from a ``[I][R]`` table under the in-width and expansion choices."""
    t = jnp.asarray(np.asarray(table, np.float32))
    wi = w[in_ref.decision, :t.shape[0]] if in_ref.decision >= 0 else jnp.ones((1,), jnp.float32)
    wr = w[exp_decision, :t.shape[1]] if exp_decision >= 0 else jnp.ones((1,), jnp.float32)
    return wi @ t @ wr


def mask(active, size: int):
    """``float32[size]``: 1 for the first ``active`` channels, 0 after."""
    return (jnp.arange(size, dtype=jnp.float32) < active - 0.5).astype(jnp.float32)
