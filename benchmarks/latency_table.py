"""Build a latency table on this CPU, validate it on random whole networks, time prediction.

Command (the figures in packages/latency/README.md come from it):

    python benchmarks/latency_table.py --space proxylessnas --resolution 224 --num-archs 100 \
        --out-dir benchmarks/out/latency --json

Steps: ``build_table`` with the ``litert`` backend (fresh unless ``--resume``),
``validate_table`` on ``--num-archs`` random architectures (seeded), a linear
calibration fitted on all of them and stored in the table, and the prediction
throughput of ``latency_model(table).predict`` on 1,000,000 random
architectures (best of 3). The machine is shared: ``uptime`` is printed before
and after. With ``--json`` the last line of stdout is one JSON object with keys
pearson, spearman, mape, mape_calibrated, within_10pct, additivity,
spread_median / spread_max (each network's (p90 - p10) / median of its timed
runs: the median and the largest over the networks), build_seconds,
validate_seconds, predict_archs_per_second (and more).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time

import numpy as np
from jaxnas.latency import (
    build_table,
    calibrate_table,
    get_backend,
    latency_model,
    space_ops,
    validate_table,
)
from jaxnas.searchspace import get_space


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def predict_throughput(model, space, n: int = 1_000_000, repeats: int = 3) -> float:
    """Architectures per second of ``model.predict`` on ``n`` random architectures (best of ``repeats``)."""
    archs = space.sample(np.random.default_rng(123), n)
    model.predict(archs[:1000])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(archs)
        best = min(best, time.perf_counter() - start)
    return n / best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="proxylessnas")
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--backend", default="litert")
    p.add_argument("--num-archs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default="benchmarks/out/latency")
    p.add_argument("--name", default=None, help="table file name (default SPACE_BACKEND_RESOLUTION.json)")
    p.add_argument("--resume", action="store_true", help="keep an existing table (build_seconds is then partial)")
    p.add_argument("--cache-dir", default=None,
                   help="keep converted .tflite models here, so a rerun only measures (litert)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    space = get_space(args.space)
    path = os.path.join(args.out_dir, args.name or f"{args.space}_{args.backend}_{args.resolution}.json")
    if os.path.exists(path) and not args.resume:
        os.remove(path)
    load_before = _uptime()
    print(f"uptime before: {load_before}")
    backend = get_backend(args.backend, **({} if args.cache_dir is None else {"cache_dir": args.cache_dir}))
    start = time.perf_counter()
    table = build_table(space, backend, args.resolution, out=path, progress=not args.json)
    build_seconds = time.perf_counter() - start
    report = validate_table(table, backend, space, args.num_archs, args.seed, progress=not args.json)
    calibration = calibrate_table(table, report)
    table.save()
    throughput = predict_throughput(latency_model(table, space), space)
    load_after = _uptime()
    print(f"uptime after: {load_after}")

    result = {key: report[key] for key in ("pearson", "spearman", "kendall", "mape", "mape_calibrated",
                                           "within_10pct", "within_10pct_calibrated", "additivity", "spread_median",
                                           "spread_max", "num_archs")}
    result.update(build_seconds=round(build_seconds, 1), validate_seconds=round(report["validate_seconds"], 1),
                  predict_archs_per_second=round(throughput), num_signatures=len(space_ops(space, args.resolution)),
                  space=args.space, resolution=args.resolution, backend=args.backend,
                  clock=table.provenance.get("clock"), device=table.provenance.get("device"),
                  calibration={"a": calibration.a, "b": calibration.b}, table=path,
                  uptime_before=load_before, uptime_after=load_after)
    print()
    print(f"{'metric':<28} value")
    for key, value in result.items():
        if key not in ("calibration", "uptime_before", "uptime_after"):
            print(f"{key:<28} {value:.4f}" if isinstance(value, float) else f"{key:<28} {value}")
    print(f"{'calibration':<28} measured = {calibration.a:.4f} * sum + {calibration.b:.4f} ms")
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
