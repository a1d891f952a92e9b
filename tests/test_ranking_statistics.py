"""The statistics of ``benchmarks/ranking_correlation.py``: Kendall's tau-b, Spearman's rho, bootstrap, spread.

The expected values are worked out by hand in the comments (pairs counted, ranks written out).
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("ranking_correlation", ROOT / "benchmarks" / "ranking_correlation.py")
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)


def test_perfect_and_reversed_orders():
    x = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert rc.kendall_tau(x, [1, 5, 6, 9, 20]) == pytest.approx(1.0)     # monotone, not linear
    assert rc.spearman(x, [1, 5, 6, 9, 20]) == pytest.approx(1.0)
    assert rc.kendall_tau(x, [20, 9, 6, 5, 1]) == pytest.approx(-1.0)
    assert rc.spearman(x, [20, 9, 6, 5, 1]) == pytest.approx(-1.0)


def test_mixed_order_by_hand():
    # y = [3, 1, 2, 5, 4]: of the 10 pairs, (1,2) (1,3) (4,5) are discordant, 7 concordant:
    # tau = (7 - 3) / 10. Rank differences d = [-2, 1, 1, -1, 1], sum d^2 = 8:
    # rho = 1 - 6 * 8 / (5 * (25 - 1)) = 0.6.
    x, y = [1, 2, 3, 4, 5], [3, 1, 2, 5, 4]
    assert rc.kendall_tau(x, y) == pytest.approx(0.4)
    assert rc.spearman(x, y) == pytest.approx(0.6)


def test_ties_by_hand():
    # x = [1, 2, 2, 3], y = [1, 2, 3, 4]: 6 pairs, 1 tied in x, 5 concordant, 0 discordant:
    # tau-b = 5 / sqrt((6 - 1) * (6 - 0)) = 5 / sqrt(30).
    x, y = [1, 2, 2, 3], [1, 2, 3, 4]
    assert rc.kendall_tau(x, y) == pytest.approx(5 / np.sqrt(30))
    # Ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]; centred [-1.5, 0, 0, 1.5] and [-1.5, -.5, .5, 1.5]:
    # rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    assert rc.average_ranks(x).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert rc.spearman(x, y) == pytest.approx(3 / np.sqrt(10))
    # Symmetric in its arguments.
    assert rc.kendall_tau(y, x) == pytest.approx(5 / np.sqrt(30))


def test_constant_input_is_undefined_and_batches_are_independent():
    assert np.isnan(rc.kendall_tau([1, 1, 1], [1, 2, 3]))
    assert np.isnan(rc.spearman([1, 2, 3], [4, 4, 4]))
    x = np.array([[1, 2, 3], [1, 2, 3], [1, 1, 1]])
    y = np.array([[1, 2, 3], [3, 2, 1], [1, 2, 3]])
    tau = rc.kendall_tau(x, y)
    assert tau[:2].tolist() == [1.0, -1.0] and np.isnan(tau[2])


def test_matches_scipy_on_random_data_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.integers(0, 5, 12).astype(float)      # many ties, as accuracies on few images have
        y = x + rng.integers(0, 4, 12)
        assert rc.kendall_tau(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
        assert rc.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_bootstrap_interval_contains_the_estimate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    y = x + rng.normal(scale=1.0, size=20)
    tau = float(rc.kendall_tau(x, y))
    low, high, used = rc.bootstrap_ci(x, y, rc.kendall_tau, level=0.9, resamples=1000, seed=0)
    assert low < tau < high and used == 1000
    # A wider coverage gives a wider interval; the same seed gives the same interval.
    low99, high99, _ = rc.bootstrap_ci(x, y, rc.kendall_tau, level=0.99, resamples=1000, seed=0)
    assert low99 <= low and high <= high99
    assert rc.bootstrap_ci(x, y, rc.kendall_tau, 0.9, 1000, 0) == (low, high, used)
    rho = float(rc.spearman(x, y))
    low, high, _ = rc.bootstrap_ci(x, y, rc.spearman, level=0.9, resamples=1000, seed=0)
    assert low < rho < high
    # A perfect order stays perfect in every resample that has two distinct architectures.
    low, high, used = rc.bootstrap_ci([1, 2, 3, 4], [2, 4, 6, 8], rc.kendall_tau, resamples=200)
    assert (low, high) == (1.0, 1.0) and 0 < used < 200


def test_spread_by_score_covers_the_range():
    scores = np.array([0.30, 0.10, 0.50, 0.20, 0.40, 0.15, 0.45])
    picked = rc.spread_by_score(scores, 4)
    # Sorted: 0.10 0.15 0.20 0.30 0.40 0.45 0.50 -> quantile positions 0, 2, 4, 6.
    assert scores[picked].tolist() == [0.10, 0.20, 0.40, 0.50]
    assert len(set(rc.spread_by_score(scores, 7).tolist())) == 7


@pytest.mark.parametrize("call, message", [
    (lambda: rc.kendall_tau([1, 2, 3], [1, 2]), "same shape"),
    (lambda: rc.spearman([1], [1]), "at least 2 pairs"),
    (lambda: rc.kendall_tau([1, np.nan], [1, 2]), "finite"),
    (lambda: rc.bootstrap_ci([1, 2], [1, 2], rc.kendall_tau, level=90), "coverage"),
    (lambda: rc.bootstrap_ci([1, 2], [1, 2], rc.kendall_tau, resamples=0), "positive integer"),
    (lambda: rc.bootstrap_ci([1, 1], [1, 2], rc.kendall_tau), "no bootstrap resample"),
    (lambda: rc.spread_by_score([0.1, 0.2], 3), "raise --candidates"),
    (lambda: rc.spread_by_score([0.1, 0.2], 1), "at least 2"),
])
def test_bad_input_names_the_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()
