"""Do the shared weights rank architectures as stand-alone training does? (weight-sharing diagnostic)

    python benchmarks/ranking_correlation.py [--json] [--workdir W] [--num-archs 20] [--candidates 200]
        [--search-steps S] [--train-steps T] [--eval-batches E] [--window 0.05]
        [--latency-table T.json] [--target X] [--from-search DIR] [--checkpoint-step K]
        [--seed 0] [--sample-seed 0] [--train-seed 0] [--bootstrap 2000]
        [--search-config NAME] [--workers N]
        [--search.KEY=VALUE ...] [--train.KEY=VALUE ...]   # overrides of the search config / train_shapes

1. Shared weights: run a search with ``--search-config`` (default ``search_shapes_long``; plus ``--search.*`` overrides,
   ``--search-steps``, ``--latency-table``, ``--target``, ``--seed``) into ``W/search`` (a finished
   search there with the same config is reused, an unfinished one resumed), or reuse the finished
   search in ``--from-search DIR`` (its ``config.json`` and checkpoint, ``--checkpoint-step`` to pick
   an older one). The supernet is read back from the checkpoint.
2. Candidates: ``--candidates`` distinct architectures drawn uniformly from the space with cost
   within ``--window`` (relative, +/-5% by default) of the search's target; the cost is the
   search's (millions of MACs at the search resolution, or the latency table's milliseconds).
3. One-shot accuracy of every candidate, the reward's way: the shared weights with batch
   statistics (no warmup) on batches of ``per_device_batch * validation_multiplier`` validation
   images (``--eval-batches``, 0 = every full batch of the split), the same images for every arch.
4. ``--num-archs`` of them at evenly spaced quantiles of that score (lowest and highest included),
   so the expensive part covers the quality range: each trained stand-alone with ``train_shapes``
   (``--train-steps``, ``--train-seed``, ``--train.*``) through the apps' ``train``, test accuracy.
5. Kendall's tau-b and Spearman's rho (both handle ties) between one-shot and stand-alone
   accuracy, each with a percentile bootstrap interval (90% by default) over resampled pairs.

The real run (2026-12-04, 2-core CPU), on the seed-0 search of ``small_scale_tunas_vs_random.py``
(``search_shapes_long`` at the median latency of a LiteRT table, 0.2520 ms):

    python benchmarks/ranking_correlation.py --json --workdir /tmp/s5/rank \\
        --from-search /tmp/s5/tvr/search_0 --eval-batches 8

one-shot 18.8%-43.6% over the 200 candidates (2,048 validation images each, 521 s), stand-alone
42.8%-66.2% for the 20 picked; Kendall tau +0.558 (90% interval +0.299 .. +0.796), Spearman
+0.687 (+0.349 .. +0.918); 56 minutes in all, the trainings two at a time beside the other
benchmark. Table: ``apps/README.md`` ("Do the shared weights rank networks?").

The last line with --json is one JSON object: ``kendall_tau``, ``spearman``, ``tau_ci`` and
``spearman_ci`` ([low, high]), ``archs`` (each: arch, cost, one_shot, standalone), the candidates'
one-shot scores, the target and window, the settings, ``command``, ``load_start`` and ``load``
(the load average at the start and the end) and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _parallel import JobPool, run_job  # noqa: E402

# --- Statistics (numpy only: scipy is not a dependency of the project) -------------------------


def _paired(x, y) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``y`` as float64 arrays ``[..., n]`` of equal shape with n >= 2 finite values."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim == 0:
        raise ValueError(f"x and y must be arrays of the same shape [..., n], got {x.shape} and {y.shape}")
    if x.shape[-1] < 2:
        raise ValueError(f"a rank correlation needs at least 2 pairs, got {x.shape[-1]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite (drop the architectures without a measurement)")
    return x, y


def kendall_tau(x, y) -> np.ndarray:
    """Kendall's tau-b: ``(concordant - discordant) / sqrt((n0 - ties_x) (n0 - ties_y))``.

    Tau-b counts a pair tied in one variable in neither the concordant nor the discordant
    pairs and shrinks the denominator instead, so ties (equal one-shot accuracies) are allowed.

    Args:
      x, y: float ``[..., n]`` paired values (the leading axes are independent samples).

    Returns:
      float64 ``[...]``; NaN where x or y is constant (tau undefined).

    >>> float(kendall_tau([1, 2, 3], [1, 3, 2]))
    0.3333333333333333
    """
    x, y = _paired(x, y)
    sx = np.sign(x[..., :, None] - x[..., None, :])     # [..., n, n]; each pair twice, same sign product
    sy = np.sign(y[..., :, None] - y[..., None, :])
    num = np.sum(sx * sy, axis=(-2, -1))
    den = np.sqrt(np.sum(sx * sx, axis=(-2, -1)) * np.sum(sy * sy, axis=(-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def average_ranks(x) -> np.ndarray:
    """Ranks 1..n along the last axis; tied values share the mean of their ranks.

    >>> average_ranks([10.0, 30.0, 20.0, 20.0]).tolist()
    [1.0, 4.0, 2.5, 2.5]
    """
    x = np.asarray(x, np.float64)
    less = np.sum(x[..., None, :] < x[..., :, None], axis=-1)
    equal = np.sum(x[..., None, :] == x[..., :, None], axis=-1)
    return less + (equal + 1) / 2.0


def spearman(x, y) -> np.ndarray:
    """Spearman's rho: Pearson's correlation of the average ranks (ties allowed).

    Args:
      x, y: float ``[..., n]`` paired values.

    Returns:
      float64 ``[...]``; NaN where x or y is constant.

    >>> float(spearman([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]))
    0.6
    """
    x, y = _paired(x, y)
    rx, ry = average_ranks(x), average_ranks(y)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt(np.sum(rx * rx, axis=-1) * np.sum(ry * ry, axis=-1))
    num = np.sum(rx * ry, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def bootstrap_ci(x, y, statistic, level: float = 0.9, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float, int]:
    """Percentile bootstrap interval of ``statistic(x, y)`` over pairs resampled with replacement.

    Args:
      x, y: float ``[n]`` paired values.
      statistic: ``(x [B, n], y [B, n]) -> [B]`` (:func:`kendall_tau`, :func:`spearman`).
      level: the interval's coverage, in (0, 1): 0.9 = the 5th to the 95th percentile.
      resamples: bootstrap samples.
      seed: of the resampling.

    Returns:
      ``(low, high, used)``: ``used`` resamples had a defined statistic (a resample that
      repeats one architecture only, or ties everything, has none and is left out).

    Raises:
      ValueError: bad arguments, or no resample with a defined statistic.
    """
    x, y = _paired(x, y)
    if x.ndim != 1:
        raise ValueError(f"bootstrap_ci takes 1-D x and y, got shape {x.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level}: the interval's coverage must be in (0, 1), e.g. 0.9")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples={resamples!r}: must be a positive integer, e.g. 2000")
    idx = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    values = np.asarray(statistic(x[idx], y[idx]), np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError(f"no bootstrap resample of the {len(x)} pairs has a defined statistic "
                         f"(x or y constant); measure more architectures")
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high), int(values.size)


def spread_by_score(scores, n: int) -> np.ndarray:
    """Indices of ``n`` of ``scores`` at evenly spaced quantiles (lowest and highest included).

    Args:
      scores: float ``[M]`` (one-shot accuracy of the candidates), ``M >= n``.
      n: how many to pick, >= 2.

    Returns:
      int ``[n]`` distinct indices into ``scores``, in increasing order of score.

    >>> spread_by_score([0.5, 0.1, 0.9, 0.3, 0.7], 3).tolist()
    [1, 0, 2]
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"--num-archs={n!r}: a rank correlation needs at least 2 architectures")
    if len(scores) < n:
        raise ValueError(f"--num-archs={n} is more than the {len(scores)} candidates; raise --candidates")
    order = np.argsort(scores, kind="stable")
    # Consecutive quantile positions differ by (M - 1) / (n - 1) >= 1, so they round to distinct ranks.
    return order[np.rint(np.linspace(0, len(scores) - 1, n)).astype(int)]


# --- The shared weights -------------------------------------------------------------------------


def config_from_dict(base, values: dict):
    """``base`` (a config dataclass) with every leaf of ``values`` (a ``config.json``) set."""
    from jaxnas.apps._config import apply_overrides

    def leaves(d, prefix=""):
        for key, value in d.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}={value!r}"

    return apply_overrides(base, list(leaves(values)))


def restore_supernet(workdir: str, config, setup, layout, step: int | None = None):
    """The shared weights of the search checkpoint in ``workdir/checkpoints`` (``step``: default latest).

    Raises:
      jaxnas.apps._checkpoint.CheckpointError: no checkpoint, or one of another config.
    """
    from jaxnas.apps._checkpoint import Checkpointer
    from jaxnas.apps._config import to_dict
    from jaxnas.apps._search_driver import initial_state
    template = initial_state(config, setup, layout)   # only the structure matters: it is overwritten
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    try:
        state, meta = ckpt.restore(template, step=step, expect={"config": to_dict(config)})
    finally:
        ckpt.close()
    return state.params, int(meta["step"])


def one_shot_accuracy(config, setup, layout, data, params, archs: np.ndarray,
                      eval_batches: int) -> tuple[np.ndarray, int]:
    """Accuracy of each arch with the shared weights, as the reward measures it.

    Every arch sees the same ``eval_batches`` validation batches of ``per_device_batch *
    validation_multiplier`` images, with batch statistics (``setup.task.quality``); one call
    scores the step's ``A`` architectures, each on its own copy of the batch.

    Args:
      archs: int32 ``[M, D]``.

    Returns:
      ``(float64 [M], images)``: the mean accuracy over the batches, and the images each arch saw.
    """
    import jax.numpy as jnp
    from jaxnas.apps import _distributed as dist
    from jaxnas.apps._search_loop import make_quality_fn
    from jaxnas.apps.classification._search import preprocess_of
    quality_fn = make_quality_fn(setup.task, layout.mesh, layout.groups)
    A = layout.archs
    stream = data.stream("validation", config.per_device_batch * config.validation_multiplier,
                         preprocess_of(config.data), train=False, seed=config.seed + 2)
    n = eval_batches or stream.steps_per_epoch
    it = stream.batches(0)
    batches = [dist.shard_batch(layout.mesh, {k: np.concatenate([v] * A) for k, v in next(it).items()})
               for _ in range(n)]
    padded = np.concatenate([archs, np.repeat(archs[-1:], (-len(archs)) % A, axis=0)])
    scores = []
    for start in range(0, len(padded), A):
        chunk = jnp.asarray(padded[start:start + A], jnp.int32)
        scores.append(np.mean([np.asarray(dist.to_host(quality_fn(params, b, chunk))) for b in batches], axis=0))
    return np.concatenate(scores)[:len(archs)].astype(np.float64), n * stream.global_batch


# --- The benchmark ------------------------------------------------------------------------------


def _search_config(args, search_over):
    """The search config and its work dir: ``--from-search`` or search_shapes + overrides."""
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps.classification import SearchConfig
    if args.from_search:
        given = [f"--search.{o}" for o in search_over] + [
            flag for flag, value in (("--search-steps", args.search_steps), ("--latency-table", args.latency_table),
                                     ("--target", args.target)) if value]
        if given:
            raise ValueError(f"{', '.join(given)} cannot change a finished search (--from-search "
                             f"{args.from_search}); drop them, or run a new search without --from-search")
        path = os.path.join(args.from_search, "config.json")
        if not os.path.isfile(path):
            raise ValueError(f"--from-search {args.from_search}: no config.json there; give the work dir of a "
                             f"jaxnas search (it holds config.json and checkpoints/)")
        with open(path) as f:
            return config_from_dict(SearchConfig(), json.load(f)), args.from_search
    extra = [f"seed={args.seed}"]
    extra += [f"steps={args.search_steps}"] if args.search_steps else []
    extra += [f"latency_table={args.latency_table!r}"] if args.latency_table else []
    extra += [f"target={args.target!r}"] if args.target else []
    return apply_overrides(load_config(args.search_config), search_over + extra), os.path.join(args.workdir, "search")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--workdir", default="/tmp/jaxnas_bench_ranking")
    p.add_argument("--num-archs", type=int, default=20, help="architectures trained stand-alone")
    p.add_argument("--candidates", type=int, default=200, help="architectures scored one-shot")
    p.add_argument("--search-steps", type=int, default=0, help="0 = the config's")
    p.add_argument("--train-steps", type=int, default=0, help="0 = the config's epochs")
    p.add_argument("--eval-batches", type=int, default=0, help="one-shot validation batches; 0 = all")
    p.add_argument("--window", type=float, default=0.05, help="relative cost window around the target")
    p.add_argument("--latency-table", default=None,
                   help="cost = this table's latency (default: MACs); give --target in ms with it")
    p.add_argument("--target", type=float, default=None, help="cost target; default: the config's")
    p.add_argument("--search-config", default="search_shapes_long", help="the search's config (no --from-search)")
    p.add_argument("--from-search", default=None, help="work dir of a finished search to reuse")
    p.add_argument("--checkpoint-step", type=int, default=None, help="with --from-search: an older checkpoint")
    p.add_argument("--seed", type=int, default=0, help="search seed")
    p.add_argument("--sample-seed", type=int, default=0, help="candidates and bootstrap")
    p.add_argument("--train-seed", type=int, default=0, help="stand-alone trainings")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--level", type=float, default=0.9, help="coverage of the bootstrap intervals")
    p.add_argument("--workers", type=int, default=None, help="stand-alone trainings at once (default: one per core)")
    args, extra = p.parse_known_args(argv)
    search_over = [a.removeprefix("--search.") for a in extra if a.startswith("--search.")]
    train_over = [a.removeprefix("--train.") for a in extra if a.startswith("--train.")]
    if len(search_over) + len(train_over) != len(extra):
        p.error(f"unknown arguments {extra}: overrides are --search.KEY=VALUE or --train.KEY=VALUE")
    if args.window <= 0:
        p.error(f"--window={args.window}: must be positive (0.05 = +/-5% of the target)")
    if args.num_archs < 2 or args.candidates < args.num_archs:
        p.error(f"--num-archs={args.num_archs} must be >= 2 and <= --candidates={args.candidates}")
    if args.checkpoint_step is not None and not args.from_search:
        p.error("--checkpoint-step picks a checkpoint of a finished search: give --from-search DIR too")
    load_start, t_start = os.getloadavg(), time.time()
    progress = not args.json

    from jaxnas.supernet import configure_xla
    configure_xla()
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps.classification import sample_in_window
    from jaxnas.apps.classification._search import search_setup

    config, search_dir = _search_config(args, search_over)
    config, setup, layout, data = search_setup(config)
    space, cost = setup.space, setup.cost
    t_cmp = apply_overrides(load_config("train_shapes"), train_over)
    if (t_cmp.data.dataset, t_cmp.data.resolution) != (config.data.dataset, config.data.resolution):
        raise ValueError(f"the stand-alone data ({t_cmp.data.dataset} at {t_cmp.data.resolution} px) differs from "
                         f"the search's ({config.data.dataset} at {config.data.resolution} px); set "
                         f"--train.data.dataset / --train.data.resolution to match")
    t_cfg = apply_overrides(t_cmp, [f"space={config.space!r}", f"steps={args.train_steps}", "eval_split='test'",
                                    "export_tflite=False", f"seed={args.train_seed}"])

    t0 = time.time()
    if not args.from_search:
        run_job("search", config, search_dir, progress)   # a finished one with this config is reused
    search_wall = time.time() - t0
    params, step = restore_supernet(search_dir, config, setup, layout, args.checkpoint_step)

    window = args.window * cost.target
    candidates, drawn = sample_in_window(space, cost.predict, cost.target, window, args.candidates, args.sample_seed)
    t0 = time.time()
    scores, images = one_shot_accuracy(config, setup, layout, data, params, candidates, args.eval_batches)
    one_shot_seconds = time.time() - t0
    picked = spread_by_score(scores, args.num_archs)

    t0 = time.time()
    texts = [space.format(candidates[j]) for j in picked]
    with JobPool(args.workers) as pool:      # one training per core at once; finished ones are read back
        jobs = [pool.submit("train", apply_overrides(t_cfg, [f"arch={text!r}"]),
                            os.path.join(args.workdir, "standalone", f"arch_{i}")) for i, text in enumerate(texts)]
        results = [job.result() for job in jobs]
    rows = [{"arch": text, "cost": float(cost.predict(candidates[j])[0]), "one_shot": float(scores[j]),
             "standalone": float(r["accuracy"]), "params": r["params"], "macs": r["macs"]}
            for text, j, r in zip(texts, picked, results)]
    train_seconds = time.time() - t0
    x = np.array([r["one_shot"] for r in rows])
    y = np.array([r["standalone"] for r in rows])
    tau, rho = float(kendall_tau(x, y)), float(spearman(x, y))
    tau_ci = bootstrap_ci(x, y, kendall_tau, args.level, args.bootstrap, args.sample_seed)
    rho_ci = bootstrap_ci(x, y, spearman, args.level, args.bootstrap, args.sample_seed)

    out = {"kendall_tau": tau, "spearman": rho, "tau_ci": list(tau_ci[:2]), "spearman_ci": list(rho_ci[:2]),
           "ci_level": args.level, "bootstrap": args.bootstrap, "bootstrap_used": tau_ci[2], "archs": rows,
           "candidate_one_shot": scores.tolist(), "candidates_drawn": drawn, "space": space.name,
           "target": cost.target, "unit": cost.unit, "cost_source": cost.source, "window": args.window,
           "search_dir": search_dir, "search_step": step, "search_steps": config.steps,
           "search_wall_seconds": search_wall, "one_shot_seconds": one_shot_seconds,
           "one_shot_images": images,
           "train_steps": args.train_steps, "train_seconds": train_seconds, "seed": args.seed,
           "sample_seed": args.sample_seed, "train_seed": args.train_seed, "search_overrides": search_over,
           "train_overrides": train_over, "command": " ".join(["python", *sys.argv]),
           "load_start": load_start, "load": os.getloadavg(), "seconds": time.time() - t_start}
    lo, hi = float(np.min(scores)), float(np.max(scores))
    print(f"{space.name}: {len(candidates)} candidates within +/-{100 * args.window:g}% of {cost.target:.4g} "
          f"{cost.unit} ({cost.source}), one-shot {100 * lo:.2f}%-{100 * hi:.2f}% after search step {step} "
          f"({out['one_shot_images']} validation images each, {one_shot_seconds:.0f} s)")
    print(f"{'':3s} {'one-shot':>9s} {'stand-alone':>12s} {'cost':>9s}  arch")
    for i, r in enumerate(rows):
        print(f"{i:3d} {100 * r['one_shot']:8.2f}% {100 * r['standalone']:11.2f}% {r['cost']:9.4f}  {r['arch']}")
    pct = f"{100 * args.level:g}%"
    print(f"Kendall tau {tau:+.3f} ({pct} CI {tau_ci[0]:+.3f} .. {tau_ci[1]:+.3f}), "
          f"Spearman {rho:+.3f} ({pct} CI {rho_ci[0]:+.3f} .. {rho_ci[1]:+.3f}); "
          f"{len(rows)} archs, {out['seconds']:.0f} s, load {load_start[0]:.1f} -> {out['load'][0]:.1f}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
