"""Time of the supernet's reducing C++ CPU kernels on MobileNet-like layer shapes.

The reducing kernels (depthwise and 1x1 weight gradients, batch-norm statistics and
backward) sum partial results over a fixed grid of row slices (bit-identical results for
any thread count); this measures what that costs. Each case is one jitted FFI call, timed
as the median of ``--reps`` calls after one warm-up call: wall time, and the process's CPU
time (all threads; less sensitive than wall time to other jobs on a shared machine).

    python benchmarks/kernel_reductions.py [--batch 16] [--reps 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import numpy as np
from jaxnas.supernet import _cpu_kernel


def _cases(batch: int):
    """``(name, thunk)`` pairs: each thunk runs one kernel call and blocks on its result."""
    rng = np.random.default_rng(0)

    def normal(*shape):
        return jax.device_put(rng.standard_normal(shape, dtype=np.float32))

    cases = []
    for size, ch, k in ((56, 144, 3), (28, 240, 5), (14, 480, 7)):
        x, g = normal(batch, size, size, ch), normal(batch, size, size, ch)
        fn = jax.jit(lambda x, g, k=k, ch=ch: _cpu_kernel.call(
            "jaxnas_depthwise_weight_grad", (k, k, ch), x, g, stride=np.int64(1),
            pad_top=np.int64(k // 2), pad_left=np.int64(k // 2)))
        cases.append((f"depthwise_weight_grad {size}x{size}x{ch} k{k}", lambda fn=fn, x=x, g=g: fn(x, g)))
    for size, m, n in ((56, 24, 144), (28, 40, 240), (7, 960, 160)):
        x, g = normal(batch * size * size, m), normal(batch * size * size, n)
        fn = jax.jit(lambda x, g, m=m, n=n: _cpu_kernel.call("jaxnas_pointwise_weight_grad", (m, n), x, g))
        cases.append((f"pointwise_weight_grad {size}x{size} {m}->{n}", lambda fn=fn, x=x, g=g: fn(x, g)))
    for size, c in ((112, 32), (56, 144), (14, 480)):
        x, g = normal(batch * size * size, c), normal(batch * size * size, c)
        ones = jax.device_put(np.ones(c, np.float32))
        stats = jax.jit(lambda x, c=c: _cpu_kernel.call("jaxnas_bn_stats", ((c,), (c,)), x))
        back = jax.jit(lambda g, x, m, v, c=c: _cpu_kernel.call(
            "jaxnas_bn_act_backward", (x.shape, (c,), (c,), (c,)), g, x, m, v, ones, ones, ones,
            eps=np.float32(1e-3), act=np.int64(1)))
        mean, var = stats(x)
        cases.append((f"bn_stats {size}x{size}x{c}", lambda stats=stats, x=x: stats(x)))
        cases.append((f"bn_act_backward {size}x{size}x{c}",
                      lambda back=back, g=g, x=x, m=mean, v=var: back(g, x, m, v)))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if not _cpu_kernel.available():
        raise SystemExit(f"the C++ kernels are unavailable: {_cpu_kernel.unavailable_reason()}")
    wall, cpu = {}, {}
    for name, thunk in _cases(args.batch):
        jax.block_until_ready(thunk())
        walls, cpus = [], []
        for _ in range(args.reps):
            start, start_cpu = time.perf_counter(), time.process_time()
            jax.block_until_ready(thunk())
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        wall[name], cpu[name] = statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3
        if not args.json:
            print(f"{name:45s} {wall[name]:8.3f} ms wall {cpu[name]:8.3f} ms CPU")
    if args.json:
        print(json.dumps({"batch": args.batch, "median_ms": wall, "median_cpu_ms": cpu}))


if __name__ == "__main__":
    main()
