"""Images/s of one supernet search step on a new architecture each step, vs OFA and PyTorch.

jaxnas: one shared-weights SGD step of the ``proxylessnas`` supernet (no warmup,
remat on, as in the search after warmup) on a freshly sampled architecture every
step, batch 32, 128 x 128. In the same run, as separate processes (so each
framework gets the whole CPU): the Once-for-All supernet step (``ofa``,
``OFAMobileNetV3`` with ``sample_active_subnet()`` before every step) and a plain
PyTorch MobileNetV2 (``ofa``'s ``MobileNetV2``), both SGD, same batch and size.
The torch side needs ``torch`` and ``ofa`` in the interpreter given by
``--torch-python`` (a benchmark-only environment, never a package dependency);
``torchvision`` is stubbed, ofa only uses it for data loading. The jaxnas step is
compiled first; then torch, jaxnas and torch again run back to back (the better torch
run counts), so on a shared machine the frameworks are timed under the same load.

Also reported: the float32 matmul peak of this machine (a big ``jnp`` matmul) and
the share of it the jaxnas step reaches (XLA's own FLOP count of the compiled step,
and the useful FLOPs of the sampled child networks: 3 x 2 x MACs x batch).

    python benchmarks/step_throughput.py [--steps 10] [--torch-python PY] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BATCH, RESOLUTION = 32, 128


# ---------------------------------------------------------------- torch side (subprocess)
def _stub_torchvision() -> None:
    """Puts a stand-in ``torchvision`` in ``sys.modules``: any attribute is a dummy class."""
    import types

    def getattr_(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return type(attr, (), {})  # subclassable (ofa subclasses transforms.RandomResizedCrop)

    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional",
             "torchvision.datasets", "torchvision.datasets.folder", "torchvision.models", "torchvision.utils")
    for name in names:
        module = types.ModuleType(name)
        module.__path__ = []  # a package, so `import torchvision.x` finds the stubs below
        module.__getattr__ = getattr_
        sys.modules[name] = module
    for name in names[1:]:
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, sys.modules[name])


def torch_main(steps: int) -> None:
    _stub_torchvision()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3
    from ofa.imagenet_classification.networks import MobileNetV2

    def measure(model, before_step):
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(BATCH, 3, RESOLUTION, RESOLUTION)
        y = torch.randint(0, 1000, (BATCH,))
        model.train()
        times = []
        for i in range(steps + 2):
            start = time.perf_counter()
            before_step()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            if i >= 2:  # two warm-up steps
                times.append(time.perf_counter() - start)
        return BATCH * len(times) / sum(times)

    ofa_net = OFAMobileNetV3(n_classes=1000, dropout_rate=0.0, width_mult=1.0, ks_list=[3, 5, 7],
                             expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    ofa = measure(ofa_net, ofa_net.sample_active_subnet)
    mbv2 = measure(MobileNetV2(n_classes=1000), lambda: None)
    print(json.dumps({"ofa_img_per_s": ofa, "torch_mobilenetv2_img_per_s": mbv2, "torch": torch.__version__}))


# ---------------------------------------------------------------- jax side
def matmul_peak_flops() -> float:
    import jax
    import jax.numpy as jnp

    n = 2048
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    jax.block_until_ready(f(a))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        jax.block_until_ready(f(a))
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def jaxnas_throughput(steps: int, space_name: str):
    """Compiles the step; returns ``(compile info, run)`` where ``run()`` times the steps."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jaxnas.searchspace import count_macs, get_space
    from jaxnas.supernet import SuperNet, make_sgd_step

    space = get_space(space_name)
    net = SuperNet(space, num_classes=1000)
    params, _ = net.init(jax.random.PRNGKey(0))
    images = jax.random.normal(jax.random.PRNGKey(1), (BATCH, RESOLUTION, RESOLUTION, 3))
    labels = jnp.zeros((BATCH,), jnp.int32)
    rng = np.random.default_rng(0)
    archs = space.sample(rng, steps + 2)
    start = time.perf_counter()
    step = jax.jit(make_sgd_step(net)).lower(params, images, labels, jnp.asarray(archs[0]),
                                             jax.random.PRNGKey(0), 0.0, 0.0).compile()
    compile_s = time.perf_counter() - start
    cost = step.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla_flops = float(cost.get("flops", 0.0)) if cost else 0.0
    useful = 3 * 2 * float(np.mean(count_macs(space, archs[2:], RESOLUTION))) * BATCH

    def run() -> dict:
        state = params
        times = []
        for i, arch in enumerate(archs):
            start = time.perf_counter()
            state, loss = step(state, images, labels, jnp.asarray(arch), jax.random.PRNGKey(i), 0.0, 0.0)
            jax.block_until_ready(loss)
            if i >= 2:
                times.append(time.perf_counter() - start)
        seconds = sum(times) / len(times)
        return {"jaxnas_img_per_s": BATCH / seconds, "seconds_per_step": seconds}

    return {"compile_s": compile_s, "xla_flops_per_step": xla_flops, "useful_flops_per_step": useful}, run


def torch_peers(python: str, steps: int) -> dict:
    out = subprocess.run([python, __file__, "--torch-only", "--steps", str(steps)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"torch side failed (needs torch and ofa in {python}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--space", default="proxylessnas")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="interpreter with torch and ofa installed (default: this one)")
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    if args.torch_only:
        torch_main(args.steps)
        return
    from jaxnas.supernet import configure_xla

    configure_xla()
    import jax

    # The machine may be shared: compile first, then time torch, jaxnas, torch again back to
    # back, so the frameworks see the same load. The torch figures are the better of both runs:
    # a run slowed down by other jobs must not flatter jaxnas.
    info, run_jaxnas = jaxnas_throughput(args.steps, args.space)
    before = torch_peers(args.torch_python, args.steps)
    load = os.getloadavg()[0]
    ours = {**info, **run_jaxnas()}
    peak = matmul_peak_flops()
    after = torch_peers(args.torch_python, args.steps)
    peers = {k: max(before[k], after[k]) for k in ("ofa_img_per_s", "torch_mobilenetv2_img_per_s")}
    peers["torch"] = before["torch"]
    share_xla = ours["xla_flops_per_step"] / ours["seconds_per_step"] / peak
    share_useful = ours["useful_flops_per_step"] / ours["seconds_per_step"] / peak
    ratio = ours["jaxnas_img_per_s"] / peers["ofa_img_per_s"]
    print(f"torch runs before / after jaxnas: OFA {before['ofa_img_per_s']:.1f} / {after['ofa_img_per_s']:.1f}, "
          f"MobileNetV2 {before['torch_mobilenetv2_img_per_s']:.1f} / {after['torch_mobilenetv2_img_per_s']:.1f} img/s")
    print(f"batch {BATCH}, {RESOLUTION} px, {os.cpu_count()} CPUs, load {load:.2f}, "
          f"jax {jax.__version__} ({jax.default_backend()}), torch {peers['torch']}")
    print(f"{'':34s} {'img/s':>8s}")
    print(f"{'jaxnas supernet (new arch/step)':34s} {ours['jaxnas_img_per_s']:8.1f}")
    print(f"{'OFA OFAMobileNetV3 (random subnet)':34s} {peers['ofa_img_per_s']:8.1f}")
    print(f"{'PyTorch MobileNetV2':34s} {peers['torch_mobilenetv2_img_per_s']:8.1f}")
    print(f"ratio vs OFA {ratio:.2f}; matmul peak {peak / 1e9:.1f} GFLOP/s; jaxnas reaches "
          f"{share_xla * 100:.1f}% of it (XLA-counted FLOPs), {share_useful * 100:.1f}% (child FLOPs); "
          f"compile {ours['compile_s']:.0f} s")
    if args.json:
        print(json.dumps({"jaxnas_img_per_s": ours["jaxnas_img_per_s"], "ofa_img_per_s": peers["ofa_img_per_s"],
                          "torch_mobilenetv2_img_per_s": peers["torch_mobilenetv2_img_per_s"],
                          "ratio_vs_ofa": ratio, "share_of_peak": share_xla,
                          "share_of_peak_child_flops": share_useful, "matmul_peak_flops": peak}))


if __name__ == "__main__":
    main()
