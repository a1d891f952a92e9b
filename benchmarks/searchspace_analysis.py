"""Params + MACs throughput of jaxnas-searchspace on random architectures.

    python benchmarks/searchspace_analysis.py [--num-archs 10000] [--repeats 5] [--json]

For each searchable space: sample N architectures, then time count_params +
count_macs on all of them at once (224 x 224, 1000 classes). The one-off table
build (enumerating every slot's op variants) is timed separately. With --json the
last line of stdout is ``{space: {"archs_per_second": x, ...}}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from jaxnas.searchspace import count_macs, count_params, get_space

SPACES = ("proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like")


def measure(name: str, num_archs: int, repeats: int) -> dict:
    space = get_space(name)
    archs = space.sample(np.random.default_rng(0), num_archs)
    start = time.perf_counter()
    count_params(space, archs[:1]), count_macs(space, archs[:1])  # builds and caches the tables
    build = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        params = count_params(space, archs)
        macs = count_macs(space, archs)
        best = min(best, time.perf_counter() - start)
    return {"archs_per_second": num_archs / best, "seconds": best, "table_build_seconds": build,
            "mean_params": float(params.mean()), "mean_macs": float(macs.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-archs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {name: measure(name, args.num_archs, args.repeats) for name in SPACES}
    print(f"params + MACs of {args.num_archs:,} random architectures, best of {args.repeats}, "
          f"{platform.processor() or platform.machine()}")
    print(f"{'space':<24} {'archs/s':>12} {'seconds':>9} {'table build s':>14} {'mean params':>12} {'mean MMACs':>11}")
    for name, r in results.items():
        print(f"{name:<24} {r['archs_per_second']:>12,.0f} {r['seconds']:>9.4f} {r['table_build_seconds']:>14.3f} "
              f"{r['mean_params']:>12,.0f} {r['mean_macs'] / 1e6:>11.1f}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
