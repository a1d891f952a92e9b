"""Step time of the supernet with and without rematerialization (CPU-sized).

One shared-weights SGD step with every op on and the largest filters (full op +
filter warmup: the case remat exists for), at a size that runs on a small CPU.
TuNAS reports about +30% search time for rematerialization.

    python benchmarks/remat_time.py [--space proxylessnas] [--batch 16] [--resolution 96] [--steps 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from jaxnas.supernet import configure_xla

configure_xla()  # before jax starts: XLA:CPU keeps the barriers remat relies on

import jax
import jax.numpy as jnp
from jaxnas.searchspace import get_space
from jaxnas.supernet import SuperNet, make_sgd_step


def step_seconds(space, remat: bool, batch: int, resolution: int, steps: int) -> tuple[float, float]:
    """(median seconds per step, compile seconds)."""
    net = SuperNet(space, num_classes=1000, remat=remat)
    params, _ = net.init(jax.random.PRNGKey(0))
    images = jax.random.normal(jax.random.PRNGKey(1), (batch, resolution, resolution, 3))
    labels = jnp.zeros((batch,), jnp.int32)
    arch = jnp.zeros((space.num_decisions,), jnp.int32)
    step = jax.jit(make_sgd_step(net))
    start = time.perf_counter()
    step = step.lower(params, images, labels, arch, jax.random.PRNGKey(0), 1.0, 1.0).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(step(params, images, labels, arch, jax.random.PRNGKey(0), 1.0, 1.0))
    times = []
    for i in range(steps):
        start = time.perf_counter()
        jax.block_until_ready(step(params, images, labels, arch, jax.random.PRNGKey(i), 1.0, 1.0))
        times.append(time.perf_counter() - start)
    return statistics.median(times), compile_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="proxylessnas")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--resolution", type=int, default=96)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    space = get_space(args.space)
    plain, c_plain = step_seconds(space, False, args.batch, args.resolution, args.steps)
    remat, c_remat = step_seconds(space, True, args.batch, args.resolution, args.steps)
    overhead = remat / plain - 1.0
    print(f"{args.space}, batch {args.batch}, {args.resolution} px, all ops on, largest filters, "
          f"median of {args.steps} steps (backend {jax.default_backend()}, load {os.getloadavg()[0]:.2f})")
    print(f"{'':10s} {'s/step':>8s} {'compile s':>10s}")
    print(f"{'no remat':10s} {plain:8.3f} {c_plain:10.1f}")
    print(f"{'remat':10s} {remat:8.3f} {c_remat:10.1f}")
    print(f"overhead {overhead * 100:+.1f}% (target <= +30%)")
    if args.json:
        print(json.dumps({"seconds_no_remat": plain, "seconds_remat": remat, "overhead": overhead}))


if __name__ == "__main__":
    main()
