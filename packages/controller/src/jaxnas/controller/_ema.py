"""Zero-debiased exponential moving averages (the RL baseline and the cost tracker).

A plain EMA started at 0 is biased towards 0 for its first updates. Keeping the
number of updates ``k`` and dividing by ``1 - decay**k`` removes the bias (as in
Adam), so the first value is exactly the first observation:

    acc_k = decay * acc_{k-1} + (1 - decay) * x_k,     value_k = acc_k / (1 - decay**k)

With decay 0.9 and observations 1.0, 0.0 the values are 1.0 and 0.09 / 0.19 = 0.47368...
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class EmaState(NamedTuple):
    """A zero-debiased EMA: the biased accumulator and the number of updates."""

    accumulator: jax.Array  # float32[]
    count: jax.Array        # int32[]


def ema_init() -> EmaState:
    """An EMA with no observation yet (its value is 0 until the first update)."""
    return EmaState(jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))


def ema_update(ema: EmaState, x, decay) -> EmaState:
    """Adds one observation ``x`` (a scalar).

    >>> e = ema_update(ema_init(), 1.0, 0.9)
    >>> e = ema_update(e, 0.0, 0.9)
    >>> round(float(ema_value(e, 0.9)), 5)
    0.47368
    """
    acc = decay * ema.accumulator + (1.0 - decay) * jnp.asarray(x, jnp.float32)
    return EmaState(acc.astype(jnp.float32), ema.count + 1)


def ema_value(ema: EmaState, decay) -> jax.Array:
    """The debiased average (0 before the first update)."""
    correction = 1.0 - jnp.power(jnp.float32(decay), ema.count.astype(jnp.float32))
    return jnp.where(ema.count > 0, ema.accumulator / jnp.where(ema.count > 0, correction, 1.0), 0.0)


def periodic_ema_update(ema: EmaState, step, x, decay=0.9, every: int = 100) -> EmaState:
    """Updates the EMA with ``x`` only at the last step of every window of ``every`` steps.

    The paper's Table 11 tracks the cost of sampled architectures this way:
    decay 0.9, one update every 100 steps (at steps 99, 199, ...). ``step`` may be traced.
    """
    new = ema_update(ema, x, decay)
    due = (jnp.asarray(step) + 1) % every == 0
    return jax.tree_util.tree_map(lambda a, b: jnp.where(due, a, b), new, ema)
