"""``benchmarks/small_scale_tunas_vs_random.py``'s statistics and checks, and the job pool's reuse rules.

Values are worked out by hand in the comments. No search or training runs here.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("tunas_vs_random", ROOT / "benchmarks" / "small_scale_tunas_vs_random.py")
tvr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tvr)
import _parallel  # noqa: E402


def test_seed_statistics_by_hand():
    # Network 1: 0.40, 0.44 (var 0.0008); network 2: 0.50, 0.50 (var 0); network 3: 0.60, 0.58 (var 0.0002).
    # Pooled seed variance = (0.0008 + 0 + 0.0002) / 3 = 1/3000. Means 0.42, 0.50, 0.59: var (ddof 1) =
    # ((-0.0833..)^2 + (-0.0033..)^2 + (0.0866..)^2) / 2 = 0.0072333..; minus seed var / 2 -> arch var.
    acc = np.array([[0.40, 0.44], [0.50, 0.50], [0.60, 0.58]])
    seed_sd, arch_sd = tvr.seed_statistics(acc)
    assert seed_sd == pytest.approx(np.sqrt(1 / 3000))
    assert arch_sd == pytest.approx(np.sqrt(0.0072333333 - 1 / 6000), rel=1e-6)


def test_seed_statistics_noise_only_gives_no_architecture_effect():
    # Same mean for every network, all the spread within networks: the architecture sd is 0, not negative.
    acc = np.array([[0.3, 0.5], [0.5, 0.3], [0.4, 0.4]])
    seed_sd, arch_sd = tvr.seed_statistics(acc)
    assert seed_sd > 0.05 and arch_sd == 0.0


def test_seed_statistics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="networks >= 2"):
        tvr.seed_statistics(np.array([0.1, 0.2]))
    one_seed = tvr.seed_statistics(np.array([[0.1], [0.3]]))
    assert np.isnan(one_seed[0])


def test_checks_by_hand():
    random = [0.30, 0.32, 0.34, 0.36, 0.38]       # median 0.34, mean 0.34, sd (ddof 1) 0.0316
    ok = tvr.checks([0.38, 0.40, 0.37], [1.01, 0.99, 1.02], random, target=1.0)
    assert ok["every_seed_above_random_median"] and ok["mean_at_least_random_mean_plus_sd"]
    assert ok["within_3pct_of_target"] and ok["max_cost_error"] == pytest.approx(0.02)
    # One seed at the median fails the first check; mean 0.370 < 0.34 + 0.0316 fails the second; 4% off fails the third.
    bad = tvr.checks([0.34, 0.40, 0.37], [1.04, 1.0, 1.0], random, target=1.0)
    assert not bad["every_seed_above_random_median"]
    assert not bad["mean_at_least_random_mean_plus_sd"]
    assert not bad["within_3pct_of_target"]


def test_entropy_curve_reads_the_search_rows(tmp_path):
    rows = [{"step": 50, "entropy": 20.28, "loss": 2.6}, {"step": 100, "eval": 1}, {"step": 100, "entropy": 19.5}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert tvr.entropy_curve(str(tmp_path)) == [[50, 20.28], [100, 19.5]]


def _train_config(**changes):
    import dataclasses

    from jaxnas.apps._config import load_config
    return dataclasses.replace(load_config("train_tiny"), **changes)


def test_finished_result_needs_the_same_config(tmp_path):
    from jaxnas.apps._config import to_dict
    config = _train_config(seed=3)
    assert _parallel.finished_result(config, str(tmp_path)) is None          # nothing there
    (tmp_path / "config.json").write_text(json.dumps(to_dict(config)))
    assert _parallel.finished_result(config, str(tmp_path)) is None          # not finished
    (tmp_path / "result.json").write_text(json.dumps({"accuracy": 0.5}))
    assert _parallel.finished_result(config, str(tmp_path)) == {"accuracy": 0.5}
    assert _parallel.finished_result(_train_config(seed=4), str(tmp_path)) is None


def test_run_job_refuses_another_config_and_unknown_kinds(tmp_path):
    from jaxnas.apps._config import to_dict
    (tmp_path / "config.json").write_text(json.dumps(to_dict(_train_config(seed=3))))
    with pytest.raises(ValueError, match="another config"):
        _parallel.run_job("train", _train_config(seed=4), str(tmp_path))
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 3    # nothing overwritten
    with pytest.raises(ValueError, match="choose 'search' or 'train'"):
        _parallel.run_job("evaluate", _train_config(), str(tmp_path))


def test_job_pool_rejects_a_bad_worker_count():
    with pytest.raises(ValueError, match="--workers"):
        _parallel.JobPool(workers=-1)


def test_architecture_sd_of_means_with_fewer_seeds():
    # Means 0.4 and 0.6 (var 0.02) each of 1 seed, seed sd 0.1: 0.02 - 0.01 = 0.01 -> 0.1.
    assert tvr.architecture_sd([0.4, 0.6], 0.1, 1) == pytest.approx(0.1)
    assert np.isnan(tvr.architecture_sd([0.4, 0.6], float("nan"), 1))     # seed noise unknown


def test_job_pool_runs_jobs_in_spawned_workers_and_returns_their_errors():
    # The worker is a fresh spawned process (jax is never forked); its ValueError reaches the caller.
    with _parallel.JobPool(workers=1) as pool:
        with pytest.raises(ValueError, match="choose 'search' or 'train'"):
            pool.submit("evaluate", None, "/tmp/unused").result()
