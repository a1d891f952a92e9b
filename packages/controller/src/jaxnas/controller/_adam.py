"""Adam whose second moment averages SQUARED per-architecture gradients (the TuNAS TPU optimiser).

``optax.adam`` on a batch-mean gradient tracks ``v ~ mean_n(g_n) ** 2``. The
TuNAS reference code (``tpu_optimizer_ops.apply_adam``, one architecture per TPU
core) squares each core's gradient first and then averages over the cores:

    m <- b1 * m + (1 - b1) * mean_n(g_n)
    v <- b2 * v + (1 - b2) * mean_n(g_n ** 2)
    update = m_hat / (sqrt(v_hat) + eps)          (hat: zero-debiased, as in optax)

When the N per-architecture gradients point in random directions (REINFORCE
noise), ``mean_n(g_n ** 2)`` is about N times ``mean_n(g_n) ** 2``, so steps are
about sqrt(N) times smaller than with ``optax.adam`` at the same rate. The
reference divides eps by ``sqrt(1 - b2 ** t)`` ("epsilon hat"); with eps = 1e-8
the two forms differ only where v is about 1e-16.

Shape letters: D decisions, C = most choices of any decision.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class ScaleByPerSampleAdamState(NamedTuple):
    """State of :func:`scale_by_per_sample_adam` (a pytree)."""

    count: jax.Array   # int32[], number of updates
    mu: optax.Updates  # first moment of the mean gradient
    nu: optax.Updates  # second moment: average of per-sample squared gradients


def scale_by_per_sample_adam(b1: float = 0.0, b2: float = 0.999, eps: float = 1e-8
                             ) -> optax.GradientTransformationExtraArgs:
    """Adam scaling with the second moment taken from per-sample squared gradients.

    ``update(updates, state, params=None, *, mean_square)``: ``updates`` is the
    batch-mean gradient ``mean_n(g_n)``, ``mean_square`` the pytree
    ``mean_n(g_n ** 2)`` of the same structure.

    >>> t = scale_by_per_sample_adam()
    >>> s = t.init(jnp.zeros(2))
    >>> u, s = t.update(jnp.array([0.5, -0.5]), s, mean_square=jnp.array([1.0, 0.25]))
    >>> [round(float(x), 4) for x in u]  # mean / sqrt(mean square): [0.5 / 1, -0.5 / 0.5]
    [0.5, -1.0]
    """
    for name, value in (("b1", b1), ("b2", b2)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"scale_by_per_sample_adam: {name} must be in [0, 1), got {value!r}")
    if not eps >= 0.0:
        raise ValueError(f"scale_by_per_sample_adam: eps must be >= 0, got {eps!r}")

    def init(params):
        # Two separate trees: one shared buffer for mu and nu breaks buffer donation (a jitted
        # step that donates its state would donate the same buffer twice).
        def zeros():
            return jax.tree_util.tree_map(jnp.zeros_like, params)
        return ScaleByPerSampleAdamState(jnp.zeros((), jnp.int32), zeros(), zeros())

    def update(updates, state, params=None, *, mean_square=None):
        del params
        if mean_square is None:
            raise TypeError("scale_by_per_sample_adam: update needs mean_square=, the average of the "
                            "squared per-sample gradients (same pytree as the updates)")
        count = state.count + 1
        t = count.astype(jnp.float32)
        mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1.0 - b1) * g, state.mu, updates)
        nu = jax.tree_util.tree_map(lambda v, g2: b2 * v + (1.0 - b2) * g2, state.nu, mean_square)
        mu_scale, nu_scale = 1.0 - b1 ** t, 1.0 - b2 ** t
        out = jax.tree_util.tree_map(lambda m, v: (m / mu_scale) / (jnp.sqrt(v / nu_scale) + eps), mu, nu)
        return out, ScaleByPerSampleAdamState(count, mu, nu)

    return optax.GradientTransformationExtraArgs(init, update)


def per_sample_adam(learning_rate: optax.ScalarOrSchedule, b1: float = 0.0, b2: float = 0.999,
                    eps: float = 1e-8) -> optax.GradientTransformationExtraArgs:
    """The TuNAS reference optimiser: :func:`scale_by_per_sample_adam`, then ``-learning_rate``.

    Needs ``mean_square=`` at every update (``reinforce_controller(...,
    second_moment="per_architecture")`` passes it).
    """
    return optax.chain(scale_by_per_sample_adam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))
