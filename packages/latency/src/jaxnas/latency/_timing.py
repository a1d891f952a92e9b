"""The timing loop every measuring backend shares: warmup, enough calls, the quietest round."""

from __future__ import annotations

import time
from collections.abc import Callable

from jaxnas.latency._table import Timing, check_statistic

CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}


def time_callable(run: Callable[[], None], runs: int = 20, warmup: int = 5,
                  min_time_s: float = 0.1, max_runs: int = 1000, clock: str = "wall",
                  between: Callable[[], None] | None = None, rounds: int = 1,
                  statistic: str = "median") -> Timing:
    """Times ``run()`` after ``warmup`` calls: at least ``runs`` timed calls and ``min_time_s``.

    Very fast ops get more than ``runs`` calls (up to ``max_runs``) so that
    their median is not dominated by the timer's resolution.

    Args:
      clock: ``wall`` (elapsed time) or ``cpu`` (CPU time of the calling
        thread: on a loaded machine it leaves out the time the thread waited
        for a core, which wall time of a long run always includes; only
        meaningful when ``run`` computes in the calling thread).
      between: called (untimed) before every call, e.g. to evict caches.
      rounds: time this many rounds and return the one with the lowest
        ``statistic``. Other processes only ever add time (cache and memory
        contention inflate even CPU time), so the quietest round is the
        best estimate of the op's own latency.
      statistic: ``median`` or ``p10`` (see :meth:`Timing.value`), the number
        the rounds are compared by.
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock: expected one of {sorted(CLOCKS)}, got {clock!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds: expected a positive int, got {rounds!r}")
    check_statistic(statistic)
    now = CLOCKS[clock]
    for _ in range(warmup):
        run()
    best = None
    for _ in range(rounds):
        samples = []
        start = time.perf_counter()
        while len(samples) < runs or (time.perf_counter() - start < min_time_s and len(samples) < max_runs):
            if between is not None:
                between()
            t0 = now()
            run()
            samples.append((now() - t0) / 1e6)
        timing = Timing.from_samples(samples)
        if best is None or timing.value(statistic) < best.value(statistic):
            best = timing
    return best
