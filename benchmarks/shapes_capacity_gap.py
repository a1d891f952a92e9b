"""Is the built-in dataset hard enough that architecture choice changes accuracy? (on this CPU)

Trains the smallest and the largest network of ``proxylessnas_micro`` (by MACs at the
search resolution) with the same stand-alone budget (the ``train_shapes`` config, same
seed, same data order) on ``jaxnas_shapes`` and reports their test accuracies. The
extremes are found by coordinate search over the decisions (a pass per decision,
repeated until nothing changes): smallest = 3x3 kernels, expansion 3, every
skippable layer skipped, narrowest widths; largest = 7x7, expansion 6, no skips,
widest widths.

    python benchmarks/shapes_capacity_gap.py [--json] [--train-steps N] [--workdir W]
        [--config.KEY=VALUE ...]      # overrides of train_shapes, e.g. --config.optim.lr_per_256=0.165

Measured (2026-11-28, 2 shared cores, commit ab501ce + train_shapes at 0.165 per 256):
2 epochs (675 steps, load 7.5): small 37.72%, large 39.23%, gap +1.50 points (both still in
the steep part of their learning curves); 4 epochs (1,350 steps, ``--config.epochs=4.0``,
now the default, load 4.1): small 72.35% (99 s), large 66.40% (467 s), gap -5.95 points: the
deep, wide network stays near chance for its first ~150 steps and is still behind at 4 epochs.
With the reference-code recipe (TF1 RMSProp eps 1.0 inside the square root, mean square from
1.0; L2 gradient 4e-5 * w; 2026-12-04, load 6-7, 4 epochs): small 42.33% (134 s), large 64.35%
(514 s), gap +22.02 points: the small network learns far more slowly with eps 1.0.

The last line with --json is one JSON object: ``small`` and ``large`` ({arch, params,
macs, accuracy}), ``gap`` (large - small accuracy, as fractions: in [-1, 1], negative
when the small network wins), plus the settings, ``seconds`` and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def extreme_arch(space, sign: int, resolution: int, num_classes: int) -> np.ndarray:
    """The arch minimising (sign=-1) or maximising (sign=+1) MACs by coordinate search.

    Returns:
      int32[D] canonical architecture.
    """
    from jaxnas.searchspace import count_macs
    arch = np.zeros(space.num_decisions, np.int32)
    changed = True
    while changed:
        changed = False
        for i, decision in enumerate(space.decisions):
            candidates = np.repeat(arch[None], len(decision.choices), axis=0)
            candidates[:, i] = np.arange(len(decision.choices))
            macs = np.asarray(count_macs(space, candidates, resolution, num_classes), np.float64)
            best = int(np.argmax(sign * macs))
            if sign * macs[best] > sign * macs[arch[i]]:
                arch[i], changed = best, True
    return space.canonicalize(arch)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--workdir", default="/tmp/jaxnas_bench_capacity_gap")
    p.add_argument("--train-steps", type=int, default=0, help="0 = the config's epochs")
    p.add_argument("--seed", type=int, default=0)
    args, overrides = p.parse_known_args(argv)

    from jaxnas.supernet import configure_xla
    configure_xla()
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps._spaces import register_app_spaces
    from jaxnas.apps.classification import train
    from jaxnas.searchspace import get_space
    register_app_spaces()
    base = apply_overrides(load_config("train_shapes"), overrides + [
        f"steps={args.train_steps}", "eval_split='test'", "export_tflite=False", f"seed={args.seed}"])
    space = get_space(base.space)
    rows, t0 = {}, time.time()
    for name, sign in (("small", -1), ("large", 1)):
        arch = space.format(extreme_arch(space, sign, base.data.resolution, 10))
        workdir = os.path.join(args.workdir, f"{name}_{int(time.time())}")
        t = time.time()
        r = train(apply_overrides(base, [f"arch={arch!r}"]), workdir, progress=not args.json)
        rows[name] = {"arch": arch, "params": r["params"], "macs": r["macs"], "accuracy": r["accuracy"],
                      "initial_accuracy": r["initial_accuracy"], "steps": r["steps"], "epochs": r["epochs"],
                      "seconds": time.time() - t}
    out = {"small": rows["small"], "large": rows["large"], "gap": rows["large"]["accuracy"] - rows["small"]["accuracy"],
           "space": space.name, "resolution": base.data.resolution, "lr_per_256": base.optim.lr_per_256,
           "per_device_batch": base.per_device_batch, "overrides": overrides, "seconds": time.time() - t0,
           "load": os.getloadavg()}
    print(f"{space.name} on jaxnas_shapes at {base.data.resolution} px, {rows['small']['steps']} steps "
          f"({rows['small']['epochs']:.2f} epochs) x {base.per_device_batch} images, "
          f"lr {base.optim.lr_per_256} per 256; load {os.getloadavg()[0]:.1f}")
    print(f"{'':6s} {'test acc':>9s} {'params':>8s} {'MACs':>7s} {'time':>6s}  arch")
    for name in ("small", "large"):
        r = rows[name]
        print(f"{name:6s} {100 * r['accuracy']:8.2f}% {r['params']:8d} {r['macs'] / 1e6:6.2f}M "
              f"{r['seconds']:5.0f}s  {r['arch']}")
    print(f"gap (large - small): {100 * out['gap']:+.2f} points")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
