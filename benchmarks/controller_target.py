"""Does one controller search land on its cost target? (TuNAS Table 11 in miniature)

A controller-only search on a synthetic problem that needs no training:

* space: ``proxylessnas``; cost T = MACs of the sampled architecture (exact,
  gathered from ``FactorizedCost`` tables inside jit);
* target T0 = MACs of ProxylessNAS-Mobile (320.4 M);
* quality Q = 0.75 + 0.05 * log2(T / 300 M) + N(0, 0.01^2) (about +5% accuracy
  per doubling of cost, the MnasNet observation);
* rewards: ``absolute`` (beta -0.1) and ``mnas_soft`` (beta -0.03, -0.07, -0.15);
* 27,051 steps (90 epochs of ImageNet's search split at 4096 images; the reference
  floors to 27,050), 32 sampled architectures per step, 20 seeds; the reference
  controller: Adam(b1=0, b2=0.999, eps=1e-8) with the second moment averaged over the
  per-architecture squared gradients (``second_moment="per_architecture"``, the TuNAS
  TPU optimiser), rate 3e-4 * 4096 / 256 (32 cores x 128 images), 0 for the first 25%
  of steps, then exponential growth to 10x.

Reported per run: ``argmax_rel_error = |T(argmax arch) / T0 - 1|`` (the argmax
canonicalised: decisions of layers whose op is Zero are irrelevant, and the cost
is checked to be the same) and ``ema_rel_error = |EMA of sampled T / T0 - 1|``
(EMA decay 0.9, updated every 100 steps with the step's mean sampled cost).
Per reward setting: ``within_1pct`` (share of seeds whose argmax is within 1% of
T0; the paper: "within 1 ms of 84 ms" = 1.19%), ``median_rel_error`` and
``max_rel_error`` of ``argmax_rel_error``. Every (reward, beta, seed) search runs at
once: one ``lax.scan`` over steps, ``vmap``-ed over the runs.

    python benchmarks/controller_target.py --rewards absolute --json   # the acceptance run
    python benchmarks/controller_target.py                 # all reward rows (4 x 20 searches)
    python benchmarks/controller_target.py --second-moment both   # reference and optax.adam side by side
    python benchmarks/controller_target.py --schedule constant   # Table 11's setting

With ``--second-moment both`` the JSON's top-level keys describe the reference
(per-architecture) run and ``by_second_moment`` holds both runs' summaries.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.controller import (
    SECOND_MOMENTS,
    ema_init,
    ema_value,
    periodic_ema_update,
    reinforce_controller,
    reward_absolute,
    reward_mnas_soft,
    scaled_learning_rate,
)
from jaxnas.searchspace import FactorizedCost, get_space, reference_arch

CONFIGS = (("absolute", -0.10), ("mnas_soft", -0.03), ("mnas_soft", -0.07), ("mnas_soft", -0.15))
QUALITY_AT = 300e6  # Q = 0.75 at 300 M MACs


def mac_counter(space):
    """``(numpy counter, jittable int32[N, D] -> float32[N] MACs)`` from the same tables."""
    counter = FactorizedCost(space, lambda op: op.macs, dtype=np.int64)
    if counter.table.max() * counter.deps.shape[0] >= 2**31:
        raise ValueError("MAC table too large for int32 sums")
    table = jnp.asarray(counter.table, jnp.int32)
    deps = jnp.asarray(counter.deps, jnp.int32)      # [P, J], value D = padding column
    radix = jnp.asarray(counter.radix, jnp.int32)    # [P, J]
    offsets = jnp.asarray(counter.offsets, jnp.int32)  # [P]

    def macs(archs):                                  # [N, D] -> [N]
        ext = jnp.concatenate([archs, jnp.zeros((archs.shape[0], 1), archs.dtype)], axis=1)
        index = offsets + jnp.sum(ext[:, deps] * radix, axis=-1)   # [N, P]
        return jnp.sum(table[index], axis=-1).astype(jnp.float32)

    return counter, macs


STEPS = 27_051   # round(90 * 1,231,121 / 4096); the reference's floor is 27,050


def make_search(space, target, steps, batch, learning_rate, schedule, second_moment="per_architecture"):
    ctrl = reinforce_controller(space, learning_rate, schedule=schedule, total_steps=steps,
                                second_moment=second_moment)
    _, macs = mac_counter(space)

    def search(key, is_absolute, beta):
        def step(carry, i):
            state, ema, key = carry
            key, k_sample, k_noise = jax.random.split(key, 3)
            archs = ctrl.sample(k_sample, state, batch)
            cost = macs(archs)
            quality = 0.75 + 0.05 * jnp.log2(cost / QUALITY_AT) + 0.01 * jax.random.normal(k_noise, (batch,))
            reward = jnp.where(is_absolute, reward_absolute(quality, cost, target, beta),
                               reward_mnas_soft(quality, cost, target, beta))
            state, _ = ctrl.update(state, archs, reward)
            ema = periodic_ema_update(ema, i, jnp.mean(cost), decay=0.9, every=100)
            return (state, ema, key), None

        carry = (ctrl.init(), ema_init(), key)
        (state, ema, _), _ = jax.lax.scan(step, carry, jnp.arange(steps))
        return ctrl.argmax(state), ema_value(ema, 0.9)

    return jax.jit(jax.vmap(search))


def run(steps=STEPS, batch=32, seeds=20, learning_rate=None, schedule="exponential",
        second_moment="per_architecture", rewards=("absolute", "mnas_soft")):
    space = get_space("proxylessnas")
    counter, _ = mac_counter(space)
    target = float(counter(space.parse(reference_arch("proxylessnas_mobile")))[0])
    learning_rate = scaled_learning_rate(4096) if learning_rate is None else learning_rate
    configs = [(name, beta) for name, beta in CONFIGS if name in rewards]
    runs = [(name, beta, seed) for name, beta in configs for seed in range(seeds)]
    keys = jnp.stack([jax.random.key(seed) for _, _, seed in runs])
    is_absolute = jnp.array([name == "absolute" for name, _, _ in runs])
    betas = jnp.array([beta for _, beta, _ in runs], jnp.float32)
    search = make_search(space, target, steps, batch, learning_rate, schedule, second_moment)
    start = time.perf_counter()
    argmax_archs, ema_costs = jax.block_until_ready(search(keys, is_absolute, betas))
    seconds = time.perf_counter() - start
    raw = np.asarray(argmax_archs)
    argmax_archs = space.canonicalize(raw)
    argmax_costs = counter(argmax_archs)
    if not np.array_equal(argmax_costs, counter(raw)):
        raise RuntimeError("canonicalising the argmax changed its MACs: the cost tables read a decision "
                           "of a skipped layer")
    results = []
    for (name, beta, seed), arch_cost, ema_cost in zip(runs, argmax_costs, np.asarray(ema_costs)):
        results.append({"reward": name, "beta": beta, "seed": seed,
                        "argmax_macs": int(arch_cost), "ema_macs": float(ema_cost),
                        "argmax_arch": space.format(argmax_archs[len(results)]),
                        "argmax_rel_error": abs(float(arch_cost) / target - 1.0),
                        "ema_rel_error": abs(float(ema_cost) / target - 1.0)})
    return {"seconds": seconds, "target_macs": int(target), "steps": steps, "batch": batch,
            "learning_rate": learning_rate, "schedule": schedule, "second_moment": second_moment,
            "configs": configs, "results": results, "summary": summarize(configs, results)}


def summarize(configs, results) -> list:
    """Per (reward, beta): ``within_1pct``, ``median_rel_error``, ``max_rel_error`` of the argmax, max EMA error."""
    rows = []
    for name, beta in configs:
        runs = [r for r in results if r["reward"] == name and r["beta"] == beta]
        err = np.array([r["argmax_rel_error"] for r in runs])
        rows.append({"reward": name, "beta": beta, "seeds": len(runs),
                     "within_1pct": float(np.mean(err <= 0.01)), "median_rel_error": float(np.median(err)),
                     "max_rel_error": float(err.max()),
                     "max_ema_rel_error": float(max(r["ema_rel_error"] for r in runs))})
    return rows


def print_table(out):
    print(f"controller_target: proxylessnas, target {out['target_macs'] / 1e6:.1f} M MACs, "
          f"{out['steps']} steps x {out['batch']} archs, lr {out['learning_rate']:g} ({out['schedule']}), "
          f"Adam second moment: {out['second_moment']}")
    print(f"{'reward':<10} {'beta':>6} {'seed':>4} {'argmax MMACs':>13} {'argmax err':>11} "
          f"{'EMA MMACs':>10} {'EMA err':>8}")
    for r in out["results"]:
        print(f"{r['reward']:<10} {r['beta']:>6.2f} {r['seed']:>4d} {r['argmax_macs'] / 1e6:>13.1f} "
              f"{100 * r['argmax_rel_error']:>10.2f}% {r['ema_macs'] / 1e6:>10.1f} {100 * r['ema_rel_error']:>7.2f}%")
    print_summary({out["second_moment"]: out})
    print(f"seconds (compile + all searches): {out['seconds']:.1f}")


def print_summary(outs: dict):
    """One row per (second moment, reward, beta): the argmax's errors over the seeds."""
    print(f"{'second moment':<17} {'reward':<10} {'beta':>6} {'argmax within 1%':>17} {'median argmax err':>18} "
          f"{'max argmax err':>15} {'max EMA err':>12}")
    for moment, out in outs.items():
        for s in out["summary"]:
            within = f"{round(s['within_1pct'] * s['seeds'])}/{s['seeds']}"
            print(f"{moment:<17} {s['reward']:<10} {s['beta']:>6.2f} {within:>17} "
                  f"{100 * s['median_rel_error']:>17.2f}% {100 * s['max_rel_error']:>14.2f}% "
                  f"{100 * s['max_ema_rel_error']:>11.2f}%")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=32, help="sampled architectures per step")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="controller base rate (default 3e-4 * 4096 / 256 = 4.8e-3, the paper's)")
    parser.add_argument("--schedule", choices=("exponential", "constant"), default="exponential")
    parser.add_argument("--second-moment", choices=SECOND_MOMENTS + ("both",), default="per_architecture",
                        help="Adam second moment: per-architecture squares (the reference TPU optimiser), "
                             "the batch-mean gradient (optax.adam), or both side by side")
    parser.add_argument("--rewards", nargs="+", choices=("absolute", "mnas_soft"),
                        default=["absolute"], help="which reward rows to run (absolute: beta -0.1; mnas_soft: "
                             "beta -0.03, -0.07, -0.15)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    moments = ("per_architecture", "batch") if args.second_moment == "both" else (args.second_moment,)
    outs = {m: run(args.steps, args.batch, args.seeds, args.learning_rate, args.schedule, m, tuple(args.rewards))
            for m in moments}
    for out in outs.values():
        print_table(out)
    out = dict(outs[moments[0]])
    if len(outs) > 1:
        print("side by side:")
        print_summary(outs)
        out["by_second_moment"] = {m: {"summary": o["summary"], "seconds": o["seconds"]} for m, o in outs.items()}
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
