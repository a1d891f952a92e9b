"""XLA's compiled temp memory of one supernet training step, with and without remat.

TuNAS (appendix C): rematerialization cut the memory of a ProxylessNAS-space search
from 29.5 GiB to 4.8 GiB at batch 128 per core. This compiles (never runs) one
shared-weights SGD step of ``proxylessnas`` at batch 128, 224 x 224, with every op on
and the largest filters (full op + filter warmup), and reads
``.lower().compile().memory_analysis().temp_size_in_bytes``.

    python benchmarks/remat_memory.py [--batch 128] [--resolution 224] [--json]

Targets: <= 4.8 GiB with remat and >= 6x less than without.
"""

from __future__ import annotations

import argparse
import json
import time

from jaxnas.supernet import configure_xla

configure_xla()  # before jax starts: XLA:CPU keeps the barriers remat relies on

import jax
import jax.numpy as jnp
from jaxnas.searchspace import get_space
from jaxnas.supernet import SuperNet, make_sgd_step

GIB = 2 ** 30


def temp_bytes(space, remat: bool, batch: int, resolution: int) -> tuple[int, float]:
    net = SuperNet(space, num_classes=1000, remat=remat)
    params = net.params_shape()
    args = (params, jax.ShapeDtypeStruct((batch, resolution, resolution, 3), jnp.float32),
            jax.ShapeDtypeStruct((batch,), jnp.int32), jax.ShapeDtypeStruct((space.num_decisions,), jnp.int32),
            jax.random.PRNGKey(0), 1.0, 1.0)
    start = time.perf_counter()
    compiled = jax.jit(make_sgd_step(net)).lower(*args).compile()
    return int(compiled.memory_analysis().temp_size_in_bytes), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="proxylessnas")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    space = get_space(args.space)
    remat, t_remat = temp_bytes(space, True, args.batch, args.resolution)
    plain, t_plain = temp_bytes(space, False, args.batch, args.resolution)
    ratio = plain / remat
    print(f"{args.space}, batch {args.batch}, {args.resolution} px, all ops on, largest filters "
          f"(backend {jax.default_backend()})")
    print(f"{'':12s} {'temp GiB':>9s} {'compile s':>10s}")
    print(f"{'no remat':12s} {plain / GIB:9.2f} {t_plain:10.1f}")
    print(f"{'remat':12s} {remat / GIB:9.2f} {t_remat:10.1f}")
    print(f"ratio {ratio:.2f}x (targets: remat <= 4.8 GiB, ratio >= 6x; paper 29.5 -> 4.8 GiB)")
    if args.json:
        print(json.dumps({"temp_bytes_no_remat": plain, "temp_bytes_remat": remat, "ratio": ratio}))


if __name__ == "__main__":
    main()
