"""TuNAS vs random search in miniature (the paper's Table 4) on the built-in dataset, on this CPU.

    python benchmarks/small_scale_tunas_vs_random.py [--json] [--workdir W] [--random-archs 10]
        [--search-steps 300] [--train-steps 300] [--latency-table T.json] [--target-ms X]
        [--search.KEY=VALUE ...] [--train.KEY=VALUE ...]   # overrides of search_shapes / train_shapes

1. Latency: a LiteRT table of ``proxylessnas_micro`` at the search resolution (built once into the
   work dir with jaxnas-latency, or --latency-table); the target (--target-ms) defaults to the
   median predicted latency of 4096 architectures drawn uniformly from the space (seed 0).
2. Search with the ``search_shapes`` config at that target; time it (search_seconds, images/s of
   the search's training batches).
3. Train the found architecture and ``--random-archs`` random architectures whose predicted latency
   is within +/-2.5% of the target, each with the same stand-alone budget (``train_shapes``,
   ``--train-steps`` steps), and report test accuracy and latency of each.

Measured (2026-11-28, 2 shared cores, load 4.7 -> 7.1, about 40 minutes in all) with
``--search-steps 300 --train-steps 300`` and a LiteRT table at 32 px (target 0.2162 ms):
search 959.8 s at 40.0 train img/s; searched 23.33% test accuracy at 0.2263 ms (+4.7%);
10 random within +/-2.5%: mean 23.70%, sd 3.71%, 18.20%-29.50%. At this budget the
shared weights reach only 10-18% reward accuracy before the controller's policy collapses
(entropy 0.47 at step 300), so the search does not beat random here.

The last line with --json is one JSON object: searched {accuracy, latency_ms, arch}, random [...],
target_ms, search_seconds, search_img_per_s (plus the settings, the command and the load average
at the start and the end).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--workdir", default="/tmp/jaxnas_bench_tunas_vs_random")
    p.add_argument("--random-archs", type=int, default=10)
    p.add_argument("--search-steps", type=int, default=300)
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--latency-table", default=None)
    p.add_argument("--target-ms", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    args, extra = p.parse_known_args(argv)
    search_over = [a.removeprefix("--search.") for a in extra if a.startswith("--search.")]
    train_over = [a.removeprefix("--train.") for a in extra if a.startswith("--train.")]
    if len(search_over) + len(train_over) != len(extra):
        p.error(f"unknown arguments {extra}: overrides are --search.KEY=VALUE or --train.KEY=VALUE")
    load_start = os.getloadavg()

    from jaxnas.supernet import configure_xla
    configure_xla()
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps._spaces import register_app_spaces
    from jaxnas.apps.classification import random_search, search, train
    from jaxnas.searchspace import get_space
    register_app_spaces()
    os.makedirs(args.workdir, exist_ok=True)
    space = get_space("proxylessnas_micro")
    search_cfg = apply_overrides(load_config("search_shapes"), search_over)
    resolution = search_cfg.data.resolution

    table = args.latency_table or os.path.join(args.workdir, f"latency_micro_{resolution}.json")
    if not os.path.exists(table):
        from jaxnas.latency import build_table, get_backend
        build_table(space, get_backend("litert"), resolution=resolution, num_classes=10, out=table, progress=False)
    from jaxnas.latency import LatencyTable, latency_model
    model = latency_model(LatencyTable.load(table), space)
    import numpy as np
    sample = model.predict(space.sample(np.random.default_rng(0), 4096))
    target = args.target_ms or float(np.median(sample))
    window = 0.025 * target

    s_cfg = apply_overrides(search_cfg, [f"steps={args.search_steps}", f"latency_table={table!r}",
                                         f"target={target!r}", f"seed={args.seed}", "plots=True"])
    t0 = time.time()
    found = search(s_cfg, os.path.join(args.workdir, "search"), progress=not args.json)
    search_wall = time.time() - t0

    t_cfg = apply_overrides(load_config("train_shapes"), train_over + [f"steps={args.train_steps}", "eval_split='test'",
                                                         "export_tflite=False", f"seed={args.seed}"])
    searched = train(apply_overrides(t_cfg, [f"arch={found['arch']!r}"]), os.path.join(args.workdir, "searched"),
                     progress=not args.json)
    r_cfg = apply_overrides(load_config("random_shapes"), [f"latency_table={table!r}", f"target={target!r}",
                                                          f"window={window!r}", f"num_archs={args.random_archs}",
                                                          f"seed={args.seed}"])
    import dataclasses
    r_cfg = dataclasses.replace(r_cfg, train=t_cfg)
    rand = random_search(r_cfg, os.path.join(args.workdir, "random"), progress=not args.json)

    out = {"searched": {"accuracy": searched["accuracy"], "latency_ms": found["cost"], "arch": found["arch"]},
           "random": [{"accuracy": r["accuracy"], "latency_ms": r["cost"], "arch": r["arch"]} for r in rand["archs"]],
           "target_ms": target, "search_seconds": found["search_seconds"], "search_wall_seconds": search_wall,
           "search_img_per_s": found["train_img_per_s"], "search_steps": args.search_steps,
           "train_steps": args.train_steps, "table": table, "search_overrides": search_over,
           "train_overrides": train_over, "one_shot_accuracy": found["one_shot_accuracy"],
           "command": " ".join(["python", *sys.argv]), "load_start": load_start, "load": os.getloadavg()}
    accs = [r["accuracy"] for r in out["random"]]
    print(f"target {target:.3f} ms (LiteRT table {table}), search {found['search_seconds']:.0f} s, "
          f"{found['train_img_per_s']:.1f} train img/s")
    print(f"{'':10s} {'test acc':>9s} {'latency':>9s}  arch")
    print(f"{'searched':10s} {100 * searched['accuracy']:8.2f}% {found['cost']:8.3f}ms  {found['arch']}")
    for r in out["random"]:
        print(f"{'random':10s} {100 * r['accuracy']:8.2f}% {r['latency_ms']:8.3f}ms  {r['arch']}")
    print(f"random: mean {100 * np.mean(accs):.2f}% sd {100 * np.std(accs):.2f}% max {100 * np.max(accs):.2f}%")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
