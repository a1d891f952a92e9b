"""Agreement statistics between predicted and measured latencies (numpy only).

Shape letters: N architectures.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def pearson(x, y) -> float:
    """Pearson correlation of ``x, y`` (float[N]).

    >>> round(pearson([1, 2, 3], [2, 4, 7]), 4)
    0.9934
    """
    x, y = _pair(x, y)
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def ranks(x) -> np.ndarray:
    """Ranks 1..N, ties get their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # Each run of equal values gets the mean of the ranks it spans.
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    mean_rank = (starts + ends + 1) / 2.0
    out = np.empty(x.size)
    out[order] = np.repeat(mean_rank, ends - starts)
    return out


def spearman(x, y) -> float:
    """Spearman rank correlation (Pearson of average ranks)."""
    x, y = _pair(x, y)
    return pearson(ranks(x), ranks(y))


def kendall(x, y) -> float:
    """Kendall's tau-b (handles ties), O(N^2): meant for N up to a few thousand.

    >>> kendall([1, 2, 3, 4], [1, 3, 2, 4])
    0.6666666666666666
    """
    x, y = _pair(x, y)
    i, j = np.triu_indices(x.size, k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    n0 = i.size
    n1, n2 = np.count_nonzero(dx == 0), np.count_nonzero(dy == 0)
    denom = np.sqrt((n0 - n1) * (n0 - n2))
    return float((dx * dy).sum() / denom) if denom > 0 else float("nan")


class LinearFit(NamedTuple):
    """``y ~ a * x + b`` (least squares)."""

    a: float
    b: float


def fit_linear(x, y) -> LinearFit:
    """Least-squares ``a, b`` of ``y ~ a * x + b`` (needs two distinct x).

    >>> fit_linear([1.0, 2.0, 3.0], [3.0, 5.0, 7.0])
    LinearFit(a=2.0, b=1.0)
    """
    x, y = _pair(x, y)
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError(f"calibration: needs at least 2 architectures with different predictions, "
                         f"got {x.size}; validate with more architectures (--num-archs)")
    a, b = np.polyfit(x, y, 1)
    return LinearFit(round(float(a), 12), round(float(b), 12))


def abs_pct_error(predicted, measured) -> np.ndarray:
    """``100 * |predicted - measured| / measured`` (float[N])."""
    p, m = _pair(predicted, measured)
    return 100.0 * np.abs(p - m) / m


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"statistics: predicted and measured differ in length ({x.size} vs {y.size})")
    return x, y
