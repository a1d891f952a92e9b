"""Learning-rate schedules of the RL controller (TuNAS appendix E.2), as optax schedules.

* The rate is 0 for the first ``delay_fraction`` (25%) of the steps: the shared
  weights train on uniformly sampled architectures before the policy moves.
* Then either ``constant`` (the base rate) or ``exponential``: the base rate at
  the end of the delay, growing as ``base * 10**progress`` to ``10 x base`` at
  the last step (``progress`` goes 0 -> 1; the reference code's default).

The base rate is ``3e-4 * batch_size / 256`` where ``batch_size`` is the GLOBAL
image batch of the shared-weight training step (the reference scales the RL
rate by ``train_batch_size / 256``; 4096 images on 32 cores give 4.8e-3 with 32
sampled architectures per step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optax

SCHEDULES = ("constant", "exponential")

BASE_LEARNING_RATE = 3e-4
"""The paper's RL learning rate per 256 images (classification; detection used 5e-3)."""


def scaled_learning_rate(batch_size: int, base: float = BASE_LEARNING_RATE) -> float:
    """``base * batch_size / 256``.

    >>> scaled_learning_rate(4096)
    0.0048
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int (global image batch), got {batch_size!r}")
    _check_positive_float("base", base)
    return float(base) * int(batch_size) / 256


def delay_steps(total_steps: int, delay_fraction: float = 0.25) -> int:
    """Steps with learning rate 0: ``int(delay_fraction * total_steps)`` as in the reference."""
    _check_total_steps(total_steps)
    if not isinstance(delay_fraction, (int, float, np.floating)) or not 0.0 <= delay_fraction < 1.0:
        raise ValueError(f"delay_fraction: expected a fraction in [0, 1), got {delay_fraction!r}")
    return int(delay_fraction * total_steps)


def rl_schedule(learning_rate: float, total_steps: int, kind: str = "exponential",
                delay_fraction: float = 0.25, final_multiplier: float = 10.0) -> optax.Schedule:
    """The controller's schedule: zero during the delay, then constant or exponential growth.

    Args:
      learning_rate: base rate (reached right after the delay).
      total_steps: number of search steps (step indices ``0..total_steps-1``).
      kind: ``"constant"`` or ``"exponential"``.
      delay_fraction: share of the steps with rate 0 (default 25%).
      final_multiplier: for ``exponential``, the rate at the last step is
        ``final_multiplier * learning_rate``.

    Returns:
      An ``optax.Schedule`` (step -> rate).

    >>> s = rl_schedule(1e-3, 101, "exponential", delay_fraction=0.0)
    >>> [round(float(s(i)), 6) for i in (0, 50, 100)]
    [0.001, 0.003162, 0.01]
    """
    _check_positive_float("learning_rate", learning_rate)
    if kind not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {kind!r}")
    delay = delay_steps(total_steps, delay_fraction)
    if kind == "constant":
        after = optax.constant_schedule(float(learning_rate))
    else:
        _check_positive_float("final_multiplier", final_multiplier)
        # Growth spans the steps after the delay, up to and including the last one.
        span = max(1, total_steps - 1 - delay)
        after = optax.exponential_decay(float(learning_rate), transition_steps=span,
                                        decay_rate=float(final_multiplier),
                                        end_value=float(learning_rate) * float(final_multiplier))
    if delay == 0:
        return after
    return optax.join_schedules([optax.constant_schedule(0.0), after], boundaries=[delay])


def as_schedule(learning_rate: float | Callable, total_steps=None, schedule=None,
                delay_fraction: float = 0.25) -> optax.ScalarOrSchedule:
    """Resolves the factory's ``learning_rate`` / ``schedule`` arguments to an optax rate.

    ``schedule`` None with a float rate: a plain constant (no delay). ``schedule``
    a name: :func:`rl_schedule` (needs ``total_steps``). ``schedule`` a callable:
    used as is (``learning_rate`` is then ignored and must be None or equal).
    """
    if callable(schedule):
        return schedule
    if callable(learning_rate):
        if schedule is not None:
            raise ValueError("learning_rate is already a schedule; do not also pass schedule=")
        return learning_rate
    _check_positive_float("learning_rate", learning_rate)
    if schedule is None:
        return float(learning_rate)
    if total_steps is None:
        raise ValueError(f"schedule={schedule!r} needs total_steps (the number of search steps)")
    return rl_schedule(learning_rate, total_steps, schedule, delay_fraction)


def _check_total_steps(total_steps) -> None:
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 1:
        raise ValueError(f"total_steps: expected a positive int (number of search steps), got {total_steps!r}")


def _check_positive_float(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
