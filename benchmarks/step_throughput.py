"""Images/s of one supernet search step on a new architecture each step, vs OFA and PyTorch.

jaxnas: one shared-weights SGD step of the ``proxylessnas`` supernet (no warmup, as in
the search after warmup) on a freshly sampled architecture every step. In the same run,
as separate processes: the Once-for-All supernet step (``ofa``, ``OFAMobileNetV3`` with
``sample_active_subnet()`` before every step) and a plain MobileNetV2, both SGD, same
batch and size. The torch side needs ``torch`` and ``ofa`` in the interpreter given by
``--torch-python`` (a benchmark-only environment, never a package dependency).

``--device cpu`` (default): batch 32, 128 x 128, the supernet's defaults (remat on),
``ofa``'s ``MobileNetV2`` (``torchvision`` is stubbed: ofa only uses it for data loading).
The jaxnas step is compiled first; then torch, jaxnas and torch again run back to back
(the better torch run counts), so on a shared machine the frameworks see the same load.
Also reported: the float32 matmul peak of this machine and the share of it the step
reaches (XLA's FLOP count, and the sampled child networks' FLOPs: 3 x 2 x MACs x batch).

``--device gpu``: batch 128, 224 x 224 on CUDA; torchvision's MobileNetV2 in
``channels_last``; jaxnas in four variants, remat on/off x float32/bfloat16 compute, each
in its own process (they compile side by side, then each is timed alone; peak memory is
each process's own ``peak_bytes_in_use``). Each variant also trains 30 steps on a
learnable synthetic batch (same initial weights and architectures for every variant): a
precision setting counts only if its final loss is within 5% (+0.05) of float32's with
the same remat setting. ``jaxnas_img_per_s`` is the supernet's defaults on that device.

    python benchmarks/step_throughput.py [--device cpu|gpu] [--steps 10] [--torch-python PY] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = {"cpu": (32, 128), "gpu": (128, 224)}  # batch, resolution
VARIANTS = {  # name -> SuperNet settings measured on an accelerator
    "remat_float32": {"remat": True, "compute_dtype": "float32"},
    "remat_bfloat16": {"remat": True, "compute_dtype": "bfloat16"},
    "plain_float32": {"remat": False, "compute_dtype": "float32"},
    "plain_bfloat16": {"remat": False, "compute_dtype": "bfloat16"},
}
# XLA flags per variant on GPU. The remat step did not finish compiling in 230 s with
# XLA's convolution autotuning on (H200, jax 0.11.2); without it, 118 s.
GPU_XLA_FLAGS = {"remat_float32": "--xla_gpu_autotune_level=0", "remat_bfloat16": "--xla_gpu_autotune_level=0"}
TRAIN_STEPS, TRAIN_CLASSES, TRAIN_LR = 30, 10, 0.02


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


def torch_main(steps: int, device: str, batch: int, resolution: int) -> None:
    if device == "cpu":
        _stub_torchvision()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3

    dev = torch.device("cuda" if device == "gpu" else "cpu")

    def sync():
        if device == "gpu":
            torch.cuda.synchronize()

    def measure(model, before_step, memory_format=torch.contiguous_format):
        model = model.to(dev, memory_format=memory_format)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(batch, 3, resolution, resolution, device=dev).contiguous(memory_format=memory_format)
        y = torch.randint(0, 1000, (batch,), device=dev)
        model.train()
        if device == "gpu":
            torch.cuda.reset_peak_memory_stats()
        times = []
        for i in range(steps + 3):
            sync()
            start = time.perf_counter()
            before_step()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            sync()
            if i >= 3:  # warm-up steps (cuDNN picks its algorithms)
                times.append(time.perf_counter() - start)
        peak = torch.cuda.max_memory_allocated() if device == "gpu" else 0
        del model, opt
        if device == "gpu":
            torch.cuda.empty_cache()
        return batch * len(times) / sum(times), peak

    ofa_net = OFAMobileNetV3(n_classes=1000, dropout_rate=0.0, width_mult=1.0, ks_list=[3, 5, 7],
                             expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    ofa, ofa_peak = measure(ofa_net, ofa_net.sample_active_subnet)
    if device == "gpu":
        import torchvision

        # cuDNN autotuning pays for one fixed network (OFA's shapes change every step).
        torch.backends.cudnn.benchmark = True
        mbv2, mbv2_peak = measure(torchvision.models.mobilenet_v2(), lambda: None, torch.channels_last)
    else:
        from ofa.imagenet_classification.networks import MobileNetV2

        mbv2, mbv2_peak = measure(MobileNetV2(n_classes=1000), lambda: None)
    print(json.dumps({"ofa_img_per_s": ofa, "torch_mobilenetv2_img_per_s": mbv2, "ofa_peak_bytes": ofa_peak,
                      "torch_mobilenetv2_peak_bytes": mbv2_peak, "torch": torch.__version__}))


def torch_peers(python: str, steps: int, device: str, batch: int, resolution: int) -> dict:
    out = subprocess.run([python, __file__, "--torch-only", "--steps", str(steps), "--device", device,
                          "--batch", str(batch), "--resolution", str(resolution)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"torch side failed (needs torch and ofa in {python}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- jax side
def matmul_peak_flops(dtype: str = "float32") -> float:
    import jax
    import jax.numpy as jnp

    n = 2048 if jax.default_backend() == "cpu" else 8192
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
    f = jax.jit(lambda a: a @ a)
    jax.block_until_ready(f(a))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        jax.block_until_ready(f(a))
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def peak_bytes() -> int:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return int(stats.get("peak_bytes_in_use", 0))


def jaxnas_throughput(steps: int, space_name: str, batch: int, resolution: int, **settings):
    """Compiles the step; returns ``(compile info, run, train)``.

    ``run()`` times ``steps`` steps (after 2 warm-up steps) on random data; ``train()``
    runs :data:`TRAIN_STEPS` steps from the initial weights on a learnable synthetic
    batch and returns the losses.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jaxnas.searchspace import count_macs, get_space
    from jaxnas.supernet import SuperNet, make_sgd_step

    space = get_space(space_name)
    net = SuperNet(space, num_classes=1000, **settings)
    params, _ = net.init(jax.random.PRNGKey(0))
    images = jax.random.normal(jax.random.PRNGKey(1), (batch, resolution, resolution, 3))
    labels = jnp.zeros((batch,), jnp.int32)
    archs = space.sample(np.random.default_rng(0), max(steps + 2, TRAIN_STEPS))
    start = time.perf_counter()
    # A small rate: the same compiled step also runs the short training comparison.
    step = jax.jit(make_sgd_step(net, learning_rate=TRAIN_LR)).lower(params, images, labels, jnp.asarray(archs[0]),
                                             jax.random.PRNGKey(0), 0.0, 0.0).compile()
    compile_s = time.perf_counter() - start
    cost = step.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla_flops = float(cost.get("flops", 0.0)) if cost else 0.0
    useful = 3 * 2 * float(np.mean(count_macs(space, archs[2:steps + 2], resolution))) * batch

    def run() -> dict:
        state = params
        times = []
        for i, arch in enumerate(archs[:steps + 2]):
            start = time.perf_counter()
            state, loss = step(state, images, labels, jnp.asarray(arch), jax.random.PRNGKey(i), 0.0, 0.0)
            jax.block_until_ready(loss)
            if i >= 2:
                times.append(time.perf_counter() - start)
        seconds = sum(times) / len(times)
        return {"img_per_s": batch / seconds, "seconds_per_step": seconds}

    def train() -> list:
        # Class templates plus noise: a batch the network can learn in a few steps.
        gen = np.random.default_rng(1)
        templates = gen.standard_normal((TRAIN_CLASSES, resolution, resolution, 3)).astype(np.float32)
        y = gen.integers(0, TRAIN_CLASSES, batch)
        x = jnp.asarray(templates[y] + gen.standard_normal(templates[y].shape).astype(np.float32))
        y = jnp.asarray(y, jnp.int32)
        state, losses = params, []
        for i, arch in enumerate(archs[:TRAIN_STEPS]):
            state, loss = step(state, x, y, jnp.asarray(arch), jax.random.PRNGKey(i), 0.0, 0.0)
            losses.append(float(loss))
        return losses

    info = {"compile_seconds": compile_s, "xla_flops_per_step": xla_flops, "useful_flops_per_step": useful}
    return info, run, train


def variant_main(name: str, steps: int, space: str, batch: int, resolution: int) -> None:
    """One variant in its own process: compile, say ``ready``, wait for ``go``, time, report."""
    from jaxnas.supernet import configure_xla

    configure_xla()
    try:
        info, run, train = jaxnas_throughput(steps, space, batch, resolution, **VARIANTS[name])
    except Exception as error:  # noqa: BLE001 - a variant that fails is reported, the others still run
        print(json.dumps({"error": f"{type(error).__name__}: {str(error)[:400]}"}), flush=True)
        return
    print(f"{name}: compiled in {info['compile_seconds']:.0f} s", file=sys.stderr, flush=True)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent times one variant at a time
    result = {**info, **run()}
    result["peak_bytes"] = peak_bytes()
    result["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    losses = train()
    result.update({"train_first_loss": losses[0], "train_final_loss": sum(losses[-5:]) / 5})
    print(json.dumps(result), flush=True)


def gpu_variants(names, steps: int, space: str, batch: int, resolution: int, compile_timeout: float,
                 report=lambda name, result: None) -> dict:
    """Starts every variant process (they compile side by side), then times them one by one.

    A variant not ready within ``compile_timeout`` seconds is stopped and reported as such.
    ``report(name, result)`` is called as soon as a variant's result is known (a run cut
    short by a time limit still shows what it measured).
    """
    import threading

    def env(name):
        flags = " ".join(f for f in (os.environ.get("XLA_FLAGS", ""), GPU_XLA_FLAGS.get(name, "")) if f)
        return {**os.environ, "XLA_FLAGS": flags} if flags else dict(os.environ)

    procs = {name: subprocess.Popen([sys.executable, __file__, "--variant", name, "--steps", str(steps),
                                     "--space", space, "--batch", str(batch), "--resolution", str(resolution)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env(name))
             for name in names}
    first = {}
    readers = [threading.Thread(target=lambda n=n, p=p: first.__setitem__(n, p.stdout.readline().strip()),
                                daemon=True) for n, p in procs.items()]
    for thread in readers:
        thread.start()
    deadline = time.monotonic() + compile_timeout
    for thread in readers:
        thread.join(max(0.0, deadline - time.monotonic()))
    results = {}
    for name, proc in procs.items():
        line = first.get(name)
        if line == "ready":
            continue
        if line is None:
            proc.kill()
            results[name] = {"error": f"not compiled within {compile_timeout:.0f} s"}
        else:
            results[name] = json.loads(line) if line.startswith("{") else {"error": f"exit {proc.wait()}"}
        proc.wait()
    for name in results:
        report(name, results[name])
    for name, proc in procs.items():
        if name in results:
            continue
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline().strip()
        results[name] = json.loads(line) if line.startswith("{") else {"error": f"exit {proc.wait()}"}
        proc.wait()
        report(name, results[name])
    return {name: results[name] for name in names}


def trains_as_well(results: dict, name: str) -> bool:
    """A bfloat16 variant counts only if it trains as well as float32 with the same remat."""
    r = results.get(name, {})
    if "error" in r:
        return False
    if VARIANTS[name]["compute_dtype"] == "float32":
        return True
    ref = results.get(name.replace("bfloat16", "float32"), {})
    if "error" in ref or "train_final_loss" not in ref:
        return False
    return r["train_final_loss"] <= ref["train_final_loss"] * 1.05 + 0.05


def default_variant() -> str:
    """The variant that ``SuperNet(space)`` with no settings is on this device."""
    import inspect

    from jaxnas.supernet import SuperNet
    from jaxnas.supernet._supernet import compute_dtype_of

    defaults = {k: p.default for k, p in inspect.signature(SuperNet).parameters.items()}
    dtype = compute_dtype_of(defaults["compute_dtype"]).name
    return f"{'remat' if defaults['remat'] else 'plain'}_{dtype}"


def gpu_main(args) -> dict:
    names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; choose from {list(VARIANTS)} or 'all'")
    # Several processes share the GPU: none may take most of its memory up front.
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    default = default_variant()
    batch, resolution = args.batch, args.resolution
    # The peers first (a minute at most): each row is printed as soon as it is measured.
    peers = torch_peers(args.torch_python, args.steps, "gpu", batch, resolution)
    print(f"batch {batch}, {resolution} px, {args.space}, torch {peers['torch']}", flush=True)
    print(f"{'':38s} {'img/s':>8s} {'peak GiB':>9s} {'compile s':>10s} {'train loss':>16s}", flush=True)
    print(f"{'OFA OFAMobileNetV3 (random subnet)':38s} {peers['ofa_img_per_s']:8.1f} "
          f"{peers['ofa_peak_bytes'] / 2**30:9.2f}", flush=True)
    print(f"{'torchvision MobileNetV2 channels_last':38s} {peers['torch_mobilenetv2_img_per_s']:8.1f} "
          f"{peers['torch_mobilenetv2_peak_bytes'] / 2**30:9.2f}", flush=True)

    def report(name, r):
        label = "jaxnas " + name + (" [default]" if name == default else "")
        if "error" in r:
            print(f"{label:38s} failed: {r['error']}", flush=True)
            return
        print(f"{label:38s} {r['img_per_s']:8.1f} {r['peak_bytes'] / 2**30:9.2f} {r['compile_seconds']:10.1f} "
              f"{r['train_first_loss']:6.2f} -> {r['train_final_loss']:5.2f}  {json.dumps(r)}", flush=True)

    results = gpu_variants(names, args.steps, args.space, batch, resolution, args.compile_timeout, report)
    for name in results:
        if not trains_as_well(results, name):
            print(f"{name}: does not train as well as float32 (or failed): it does not count", flush=True)
    import jax

    peak32, peak16 = matmul_peak_flops("float32"), matmul_peak_flops("bfloat16")
    ours = results.get(default, {"error": "not measured (see --variants)"})
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}; matmul peak {peak32 / 1e12:.0f} TFLOP/s "
          f"float32, {peak16 / 1e12:.0f} bfloat16")
    ratio = ours.get("img_per_s", 0.0) / peers["ofa_img_per_s"]
    print(f"default ({default}) ratio vs OFA {ratio:.2f}")
    out = {"jaxnas_img_per_s": ours.get("img_per_s"), "ofa_img_per_s": peers["ofa_img_per_s"],
           "torch_mobilenetv2_img_per_s": peers["torch_mobilenetv2_img_per_s"], "ratio_vs_ofa": ratio,
           "jaxnas_peak_bytes": ours.get("peak_bytes"), "ofa_peak_bytes": peers["ofa_peak_bytes"],
           "compile_seconds": ours.get("compile_seconds"), "default_variant": default,
           "matmul_peak_flops": peak32, "matmul_peak_flops_bfloat16": peak16}
    for name, r in results.items():
        out[name] = {**r, "trains_as_well": trains_as_well(results, name)}
        if "img_per_s" in r:
            out[name]["ratio_vs_ofa"] = r["img_per_s"] / peers["ofa_img_per_s"]
    return out


def cpu_main(args) -> dict:
    import jax

    # The machine may be shared: compile first, then time torch, jaxnas, torch again back to
    # back, so the frameworks see the same load. The torch figures are the better of both runs:
    # a run slowed down by other jobs must not flatter jaxnas.
    batch, resolution = args.batch, args.resolution
    info, run_jaxnas, _ = jaxnas_throughput(args.steps, args.space, batch, resolution)
    before = torch_peers(args.torch_python, args.steps, "cpu", batch, resolution)
    load = os.getloadavg()[0]
    ours = {**info, **run_jaxnas()}
    peak = matmul_peak_flops()
    after = torch_peers(args.torch_python, args.steps, "cpu", batch, resolution)
    peers = {k: max(before[k], after[k]) for k in ("ofa_img_per_s", "torch_mobilenetv2_img_per_s")}
    peers["torch"] = before["torch"]
    share_xla = ours["xla_flops_per_step"] / ours["seconds_per_step"] / peak
    share_useful = ours["useful_flops_per_step"] / ours["seconds_per_step"] / peak
    ratio = ours["img_per_s"] / peers["ofa_img_per_s"]
    print(f"torch runs before / after jaxnas: OFA {before['ofa_img_per_s']:.1f} / {after['ofa_img_per_s']:.1f}, "
          f"MobileNetV2 {before['torch_mobilenetv2_img_per_s']:.1f} / {after['torch_mobilenetv2_img_per_s']:.1f} img/s")
    print(f"batch {batch}, {resolution} px, {os.cpu_count()} CPUs, load {load:.2f}, "
          f"jax {jax.__version__} ({jax.default_backend()}), torch {peers['torch']}")
    print(f"{'':34s} {'img/s':>8s}")
    print(f"{'jaxnas supernet (new arch/step)':34s} {ours['img_per_s']:8.1f}")
    print(f"{'OFA OFAMobileNetV3 (random subnet)':34s} {peers['ofa_img_per_s']:8.1f}")
    print(f"{'PyTorch MobileNetV2':34s} {peers['torch_mobilenetv2_img_per_s']:8.1f}")
    print(f"ratio vs OFA {ratio:.2f}; matmul peak {peak / 1e9:.1f} GFLOP/s; jaxnas reaches "
          f"{share_xla * 100:.1f}% of it (XLA-counted FLOPs), {share_useful * 100:.1f}% (child FLOPs); "
          f"compile {ours['compile_seconds']:.0f} s")
    return {"jaxnas_img_per_s": ours["img_per_s"], "ofa_img_per_s": peers["ofa_img_per_s"],
            "torch_mobilenetv2_img_per_s": peers["torch_mobilenetv2_img_per_s"],
            "ratio_vs_ofa": ratio, "share_of_peak": share_xla, "share_of_peak_child_flops": share_useful,
            "matmul_peak_flops": peak, "compile_seconds": ours["compile_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--space", default="proxylessnas")
    parser.add_argument("--batch", type=int, help="default: 32 on cpu, 128 on gpu")
    parser.add_argument("--resolution", type=int, help="default: 128 on cpu, 224 on gpu")
    parser.add_argument("--compile-timeout", type=float, default=240.0,
                        help="gpu: seconds a variant may take to compile (they compile side by side)")
    parser.add_argument("--variants", default="all", help="gpu: comma-separated names of VARIANTS, or 'all'")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="interpreter with torch and ofa installed (default: this one)")
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    args.batch = args.batch or SHAPES[args.device][0]
    args.resolution = args.resolution or SHAPES[args.device][1]
    if args.torch_only:
        torch_main(args.steps, args.device, args.batch, args.resolution)
        return
    if args.variant:
        variant_main(args.variant, args.steps, args.space, args.batch, args.resolution)
        return
    from jaxnas.supernet import configure_xla

    configure_xla()
    out = gpu_main(args) if args.device == "gpu" else cpu_main(args)
    out.update(space=args.space, batch=args.batch, resolution=args.resolution)  # what search_step_throughput compares
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
