"""``random_search(config, workdir)``: the random-search baseline of the paper (Table 4).

Samples architectures uniformly from the space, keeps those whose predicted cost
lies within ``window`` of the target (the reference tool kept 83-85 ms for 84
ms), trains each with the stand-alone recipe (``config.train``) in
``workdir/arch_<i>/`` and reports the distribution of their accuracies.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
from jaxnas.apps._cost import search_cost
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.classification._configs import RandomConfig


def sample_in_window(space, predict, target: float, window: float, n: int, seed: int,
                     max_samples: int = 1_000_000, chunk: int = 4096) -> tuple[np.ndarray, int]:
    """``n`` distinct uniform architectures with ``|cost - target| <= window``.

    Returns:
      ``(int32[n, D], number of architectures drawn)``.

    Raises:
      ValueError: fewer than ``n`` found within ``max_samples`` draws (names the share found).

    >>> from jaxnas.searchspace import get_space, count_macs
    >>> space = get_space("proxylessnas")
    >>> archs, _ = sample_in_window(space, lambda a: count_macs(space, a) / 1e6, 320.0, 10.0, 3, seed=0)
    >>> bool(np.all(np.abs(count_macs(space, archs) / 1e6 - 320.0) <= 10.0))
    True
    """
    rng = np.random.default_rng(seed)
    found, seen, drawn = [], set(), 0
    while len(found) < n and drawn < max_samples:
        archs = space.canonicalize(space.sample(rng, min(chunk, max_samples - drawn)))
        drawn += len(archs)
        costs = np.asarray(predict(archs)).reshape(-1)
        for a in archs[np.abs(costs - target) <= window]:
            key = a.tobytes()
            if key not in seen:
                seen.add(key)
                found.append(a)
                if len(found) == n:
                    break
    if len(found) < n:
        raise ValueError(f"only {len(found)} of {n} random architectures of {space.name!r} fall within "
                         f"{target:g} +/- {window:g} after {drawn} draws; widen --config.window or move the target")
    return np.stack(found).astype(np.int32), drawn


def random_search(config: RandomConfig, workdir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Trains ``config.num_archs`` latency-matched random architectures; returns the summary.

    ``resume`` skips architectures whose training already finished and resumes the
    one that was interrupted.
    """
    from jaxnas.apps.classification._train import train
    from jaxnas.searchspace import get_space
    config.validate()
    register_app_spaces()
    tc = config.train
    space = get_space(tc.space)
    from jaxnas.apps.data import ClassificationData
    num_classes = ClassificationData(tc.data.dataset, tc.data.data_dir, tc.data.holdout_fraction,
                                     tc.data.cache).num_classes
    cost = search_cost(space, config.latency_table, config.target, tc.data.resolution, num_classes)
    archs, drawn = sample_in_window(space, cost.predict, cost.target, config.window, config.num_archs,
                                    config.seed, config.max_samples)
    os.makedirs(workdir, exist_ok=True)
    rows = []
    for i, arch in enumerate(archs):
        sub = os.path.join(workdir, f"arch_{i}")
        done = os.path.join(sub, "result.json")
        if resume and os.path.exists(done):
            with open(done) as f:
                r = json.load(f)
        else:
            r = train(dataclasses.replace(tc, arch=space.format(arch)), sub,
                      resume=resume and os.path.isdir(os.path.join(sub, "checkpoints")), progress=progress)
        rows.append({"arch": space.format(arch), "cost": float(cost.predict(arch[None])[0]),
                     "accuracy": r["accuracy"], "params": r["params"], "macs": r["macs"]})
    accs = np.array([r["accuracy"] for r in rows])
    result = {"space": space.name, "target": cost.target, "unit": cost.unit, "window": config.window,
              "cost_source": cost.source, "drawn": drawn, "archs": rows,
              "accuracy_mean": float(accs.mean()), "accuracy_std": float(accs.std()),
              "accuracy_min": float(accs.min()), "accuracy_max": float(accs.max())}
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result
