"""Rewards that trade quality against cost (TuNAS section 3 / MnasNet).

Every reward is a plain function ``reward(quality, cost, target, beta) -> R``
of arrays (numpy or jax, any broadcastable shapes), usable inside jit:

* ``reward_mnas_soft``:  ``R = Q * (T / T0) ** beta``
* ``reward_mnas_hard``:  ``R = Q * min(1, (T / T0) ** beta)``
* ``reward_absolute``:   ``R = Q + beta * |T / T0 - 1|``  (TuNAS; default)

Q is the quality (e.g. validation accuracy), T the cost (latency, MACs...),
T0 the target in the SAME unit as T, and beta < 0 the cost exponent.
When ``target`` and ``beta`` are concrete (Python numbers or arrays, not
tracers) they are checked: ``target > 0`` and ``beta < 0``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def reward_mnas_soft(quality, cost, target, beta=-0.07):
    """MnasNet's soft reward: ``Q * (T / T0) ** beta``.

    Every cost change moves the reward, above and below the target; hitting a
    given target needs a search over beta (MnasNet used -0.07).

    Args:
      quality: ``Q``, e.g. accuracy.
      cost: ``T`` > 0.
      target: ``T0`` > 0, same unit as ``cost``.
      beta: exponent < 0.

    >>> round(float(reward_mnas_soft(0.75, 2.0, 1.0, -0.07)), 6)
    0.714478
    """
    _check(target, beta)
    return quality * jnp.power(jnp.asarray(cost) / target, beta)


def reward_mnas_hard(quality, cost, target, beta=-0.07):
    """MnasNet's hard reward: ``Q * min(1, (T / T0) ** beta)``; only costs above T0 are penalised.

    >>> [round(float(reward_mnas_hard(0.75, t, 1.0, -0.07)), 6) for t in (0.5, 2.0)]
    [0.75, 0.714478]
    """
    _check(target, beta)
    return quality * jnp.minimum(1.0, jnp.power(jnp.asarray(cost) / target, beta))


def reward_absolute(quality, cost, target, beta=-0.10):
    """TuNAS's absolute-value reward: ``Q + beta * |T / T0 - 1|``.

    The reward peaks at the target whenever ``|beta|`` exceeds the slope of Q
    in ``T / T0``, so one search with the default beta lands on the target.

    >>> [round(float(reward_absolute(0.75, t, 80.0)), 6) for t in (80.0, 88.0, 72.0)]
    [0.75, 0.74, 0.74]
    """
    _check(target, beta)
    return quality + beta * jnp.abs(jnp.asarray(cost) / target - 1.0)


REWARDS: dict[str, Callable] = {
    "absolute": reward_absolute,
    "mnas_soft": reward_mnas_soft,
    "mnas_hard": reward_mnas_hard,
}


def get_reward(name: str) -> Callable:
    """The reward function called ``name`` (``absolute``, ``mnas_soft``, ``mnas_hard``).

    >>> get_reward("absolute") is reward_absolute
    True
    """
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; choose one of {sorted(REWARDS)}")
    return REWARDS[name]


def _concrete(x):
    """``x`` as a numpy array when its value is known now (not a tracer), else None."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number or an array of numbers, got {type(x).__name__}") from None


def _check(target, beta) -> None:
    t = _concrete(target)
    if t is not None and not np.all(t > 0):
        raise ValueError(f"reward: target must be > 0 (the cost target T0, in the unit of cost), got {target!r}")
    b = _concrete(beta)
    if b is not None and not np.all(b < 0):
        raise ValueError(f"reward: beta must be < 0 (a cost exponent such as -0.07 or -0.1), got {beta!r}; "
                         "a positive beta would reward expensive architectures")
