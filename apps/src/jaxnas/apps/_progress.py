"""A progress bar with ETA and live metrics (tqdm), shown by process 0 only."""

from __future__ import annotations

import sys


class Progress:
    """``tqdm`` over ``[start, total)`` steps; ``update(metrics)`` shows the latest metrics.

    Args:
      total: number of steps of the run.
      start: first step (after a resume).
      enabled: False hides it (other processes, tests).
      desc: label.
    """

    def __init__(self, total: int, start: int = 0, enabled: bool = True, desc: str = "search"):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=total, initial=start, desc=desc, dynamic_ncols=True, file=sys.stderr,
                             smoothing=0.1, mininterval=1.0)

    def step(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def show(self, metrics: dict) -> None:
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
