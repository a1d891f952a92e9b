"""Tracking a search for plots: per-decision probabilities over time.

The argmax architecture is ``controller.argmax(state)`` and the EMA of sampled
costs is ``periodic_ema_update`` (both jittable); this module holds the small
host-side recorder of probabilities, the data behind "probability of each
choice vs. step" plots.

Shape letters: T recorded steps, D decisions, C = most choices of any decision.
"""

from __future__ import annotations

import numpy as np
from jaxnas.controller._policy import probabilities


class ProbabilityHistory:
    """Collects the choice probabilities of every decision at chosen steps.

    >>> import jax.numpy as jnp
    >>> h = ProbabilityHistory()
    >>> h.record(0, jnp.zeros((2, 3)))
    >>> h.record(100, jnp.array([[0.0, 0.0, 1e9], [0.0, 0.0, 0.0]]))
    >>> h.steps.tolist(), h.probabilities.shape, float(h.probabilities[1, 0, 2])
    ([0, 100], (2, 2, 3), 1.0)
    """

    def __init__(self):
        self._steps: list[int] = []
        self._probs: list[np.ndarray] = []

    def record(self, step, logits_or_state) -> None:
        """Adds the probabilities of ``logits`` (``[D, C]``) or of a ``ControllerState`` at ``step``."""
        logits = getattr(logits_or_state, "logits", logits_or_state)
        probs = np.asarray(probabilities(logits), np.float32)
        self.record_probabilities(step, probs)

    def extend(self, steps, probs) -> None:
        """Adds many records at once: ``steps int[T]`` and ``probs float[T, D, C]`` (e.g. from ``lax.scan``)."""
        steps = np.asarray(steps).reshape(-1)
        probs = np.asarray(probs, np.float32)
        if probs.ndim != 3 or probs.shape[0] != steps.shape[0]:
            raise ValueError(f"extend: expected probs [T, D, C] with T = {steps.shape[0]}, got {probs.shape}")
        for s, p in zip(steps, probs):
            self.record_probabilities(int(s), p)

    def record_probabilities(self, step: int, probs) -> None:
        """Adds already-normalised probabilities ``[D, C]``."""
        probs = np.asarray(probs, np.float32)
        if probs.ndim != 2:
            raise ValueError(f"record: expected logits or probabilities of shape [D, C] (or a ControllerState), "
                             f"got shape {probs.shape}")
        if self._probs and probs.shape != self._probs[0].shape:
            raise ValueError(f"record: shape {probs.shape} differs from the first record {self._probs[0].shape}")
        self._steps.append(int(step))
        self._probs.append(probs)

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> np.ndarray:
        """``int64[T]``."""
        return np.asarray(self._steps, np.int64)

    @property
    def probabilities(self) -> np.ndarray:
        """``float32[T, D, C]`` (padded choices have probability 0)."""
        if not self._probs:
            return np.zeros((0, 0, 0), np.float32)
        return np.stack(self._probs)

    def to_dict(self, paths=None) -> dict:
        """JSON-ready ``{"steps": [...], "decisions": {name: [[p per choice] per step]}}``.

        Args:
          paths: names of the decisions (e.g. ``[d.path for d in space.decisions]``);
            default ``decision0``, ``decision1``...
        """
        probs = self.probabilities
        D = probs.shape[1] if probs.size else 0
        names = list(paths) if paths is not None else [f"decision{i}" for i in range(D)]
        if len(names) != D:
            raise ValueError(f"to_dict: got {len(names)} paths for {D} decisions")
        return {"steps": self.steps.tolist(),
                "decisions": {n: probs[:, i, :].tolist() for i, n in enumerate(names)}}
