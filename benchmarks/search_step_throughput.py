"""Images/s of the apps' search step (``jaxnas-search classification``) vs the bare supernet step.

What it times: the step ``jaxnas-search classification --config CONFIG`` runs, built by the
apps' own functions (``classification_setup``, ``search_step_fn``, ``initial_state``: what
``search_setup`` + ``run_search`` build), at the config's shape: per architecture, the shared
weights' update on ``per_device_batch`` training images (forward + backward + RMSProp), the
reward of the same architecture with the updated weights on ``validation_multiplier`` times as
many validation images (forward only), then the cost and the controller's REINFORCE update. The
controller samples a new architecture every step. No dataset and no TensorFlow: synthetic float32
images and int labels of the config's shape (``num_classes`` from ``--num-classes``).

* ``search_img_per_s``: training images per second of the step on device-resident batches,
  timed as ``benchmarks/step_throughput.py`` times its step (compiled ahead, 2 warm-up steps,
  then ``--steps`` steps, each waited for).
* ``search_fed_img_per_s``: the same steps fed as ``run_search`` feeds them: host numpy batches
  put on the devices every step (``dist.shard_batch``), no wait between steps.

Phase: after op/filter warmup (the state's step counter starts at the first step past
``warmup_fraction`` and the controller's delay, so the warmup probability is 0, reported as
``warmup_probability``), as step_throughput times the supernet with warmup off. Settings:
the config's ``remat`` and ``compute_dtype`` (what the apps run); on ``--device gpu`` the XLA
flags step_throughput gives the same variant (``GPU_XLA_FLAGS``: autotuning off with remat), so
compile times compare. Cost: MACs (no latency table needed); target ``--target``, else the
config's, else the median MACs of 64 sampled architectures (the target changes the reward's
value, not the work). ``config.steps=0`` is resolved from ``epochs`` with ``--train-examples``
(default: ImageNet's search split, 1,231,121).

With ``--reference-json FILE`` (a ``step_throughput.py --json`` line): ``benchmark_img_per_s``
(its ``jaxnas_img_per_s``) and ``ratio_vs_benchmark`` = search / benchmark, plus the benchmark's
figure for the same remat/dtype variant where it has one. Expect a ratio below 1 even for a
perfect step: the search step also runs the forward pass of the validation batch, 4 x the
training batch in the TuNAS recipe, about as much work again as the training step (a forward
pass is ~1/3 of forward + backward, ~1/4 with remat): ~0.43 without remat, ~0.5 with.

    python benchmarks/search_step_throughput.py [--config search_imagenet] [--config.KEY=VALUE ...]
        [--device cpu|gpu|default] [--steps 10] [--num-classes 1000] [--target T]
        [--reference-json step_throughput.json] [--json]

The last line with ``--json`` is one JSON object (keys above, the settings, ``compile_seconds``,
``step_seconds``, ``peak_bytes``). Bad input (device, config, override, reference file) prints
one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np

DEVICES = ("cpu", "gpu", "default")
IMAGENET_SEARCH_SPLIT = 1_231_121  # ImageNet train images minus the 50,046 held out for the reward
WARMUP_STEPS = 2  # untimed steps after compiling, as step_throughput


def _step_throughput():
    """``benchmarks/step_throughput.py`` as a module (its variants, XLA flags and device helpers)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "step_throughput.py")
    spec = importlib.util.spec_from_file_location("_jaxnas_step_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def variant_of(config) -> str:
    """The step_throughput variant name of the config's settings (``remat_float32``, ...)."""
    return f"{'remat' if config.remat else 'plain'}_{config.compute_dtype}"


def check_device_name(device: str) -> None:
    """Raises a ValueError unless ``device`` is one of :data:`DEVICES`."""
    if device not in DEVICES:
        raise ValueError(f"--device {device!r}: choose one of {', '.join(DEVICES)}")


def prepare_process(device: str, config) -> str:
    """Before jax starts: the platform of ``device`` and step_throughput's XLA flags of the variant.

    ``cpu`` sets ``JAX_PLATFORMS=cpu``; ``gpu`` appends ``GPU_XLA_FLAGS`` of the config's
    variant to ``XLA_FLAGS``. Then ``configure_xla()``, as the command lines do. Returns the
    XLA flags the process runs with.
    """
    check_device_name(device)
    if device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
        if "jax" in sys.modules:  # imported (not started) already: its config read the variable at import
            sys.modules["jax"].config.update("jax_platforms", "cpu")
    elif device == "gpu":
        extra = _step_throughput().GPU_XLA_FLAGS.get(variant_of(config), "")
        flags = os.environ.get("XLA_FLAGS", "")
        if extra and extra not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
    from jaxnas.supernet import configure_xla
    configure_xla()
    return os.environ.get("XLA_FLAGS", "")


def check_backend(device: str) -> None:
    """Raises a ValueError when jax's backend is not the one ``device`` asks for."""
    check_device_name(device)
    import jax
    backend = jax.default_backend()
    if device != "default" and backend != device:
        kinds = sorted({d.device_kind for d in jax.devices()})
        fix = ("install jax with CUDA (pip install 'jax[cuda13]') or pass --device cpu/default" if device == "gpu"
               else "run in a new process with --device cpu (it sets JAX_PLATFORMS=cpu before jax starts)")
        raise ValueError(f"--device {device}: jax computes on {backend} here ({', '.join(kinds)}); {fix}")


def load_search_config(name: str, overrides=()):
    """The classification search config ``name`` with ``--config.KEY=VALUE`` overrides, validated.

    Raises:
      ValueError: unknown config, bad override, or a config that is not a classification search.
    """
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps.classification import SearchConfig
    config = load_config(name)
    if not isinstance(config, SearchConfig):
        raise ValueError(f"--config {name!r} is a {type(config).__name__}, not a classification search config; "
                         f"pass one such as search_imagenet, search_shapes or search_tiny")
    return apply_overrides(config, list(overrides))


class SyntheticStream:
    """A data stream of one fixed batch: ``batches(start)`` yields it forever (``steps_per_epoch`` 1)."""

    steps_per_epoch = 1

    def __init__(self, batch: dict):
        self.batch = batch

    def batches(self, start: int = 0):
        del start
        while True:
            yield self.batch


def synthetic_batch(rows: int, resolution: int, num_classes: int, seed: int) -> dict:
    """``{"image": float32[rows, R, R, 3] (standard normal), "label": int32[rows]}`` on the host."""
    gen = np.random.default_rng(seed)
    return {"image": gen.standard_normal((rows, resolution, resolution, 3), dtype=np.float32),
            "label": gen.integers(0, num_classes, rows).astype(np.int32)}


def median_macs_target(space, resolution: int, num_classes: int) -> float:
    """Median MACs (millions) of 64 architectures sampled with seed 0: a target any space reaches."""
    from jaxnas.searchspace import count_macs
    archs = space.sample(np.random.default_rng(0), 64)
    return float(np.median(np.asarray(count_macs(space, archs, resolution, num_classes), np.float64))) / 1e6


def timed_from_step(config) -> int:
    """First step past op/filter warmup and the controller's delay (where the timing starts)."""
    warm = config.warmup_fraction if (config.op_warmup or config.filter_warmup) else 0.0
    return min(config.steps, math.floor(max(warm, config.controller_delay_fraction) * config.steps) + 1)


def search_step_throughput(config, steps: int = 10, num_classes: int = 1000, target=None,
                           train_examples: int = IMAGENET_SEARCH_SPLIT, device: str = "default") -> dict:
    """Compiles the apps' search step of ``config`` and times it on synthetic batches.

    Args:
      config: a classification ``SearchConfig`` (its ``latency_table`` is dropped: MACs cost).
      steps: timed steps (after :data:`WARMUP_STEPS` untimed ones), also the fed run's length.
      num_classes: classifier outputs (labels are drawn in ``[0, num_classes)``).
      target: MACs target (millions) or a reference network name; None: the config's, else
        :func:`median_macs_target`.
      train_examples: images of the search split, resolves ``config.steps=0`` from ``epochs``.
      device: ``cpu``, ``gpu`` or ``default``: the backend jax must be computing on.

    Returns:
      ``search_img_per_s``, ``search_fed_img_per_s``, ``compile_seconds``, ``step_seconds``,
      ``fed_step_seconds``, ``warmup_probability``, ``peak_bytes``, ``xla_flops_per_step`` and
      the settings (space, batch, validation batch, resolution, remat, compute_dtype,
      archs_per_step, devices, backend, ...).

    Raises:
      ValueError: bad ``device``/``steps``/``num_classes``, a backend that is not ``device``,
        or a target the space cannot reach.
    """
    check_backend(device)
    for name, value in (("steps", steps), ("num_classes", num_classes), ("train_examples", train_examples)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"--{name.replace('_', '-')}={value!r}: must be a positive int")
    import jax
    import jax.numpy as jnp
    from jaxnas.apps import _distributed as dist
    from jaxnas.apps._search_driver import initial_state, search_layout, search_step_fn
    from jaxnas.apps._search_loop import steps_for_epochs
    from jaxnas.apps.classification._search import classification_setup
    from jaxnas.searchspace import get_space

    layout = search_layout(config)
    A, b, r = layout.archs, config.per_device_batch, config.data.resolution
    if target is None:
        target = config.target if config.target is not None else median_macs_target(get_space(config.space), r,
                                                                                     num_classes)
    config = dataclasses.replace(config, latency_table=None, target=target,
                                 steps=config.steps or steps_for_epochs(config.epochs, train_examples, A * b))
    config.validate()
    valid_rows = A * b * config.validation_multiplier
    train = synthetic_batch(A * b, r, num_classes, config.seed)
    valid = synthetic_batch(valid_rows, r, num_classes, config.seed + 1)
    streams = {"train_stream": SyntheticStream(train), "valid_stream": SyntheticStream(valid),
               "eval_stream": SyntheticStream(valid), "init_batch": {"image": np.zeros((b, r, r, 3), np.float32)}}
    setup = classification_setup(config, layout, num_classes, streams)
    step_fn = search_step_fn(config, setup, layout)
    first = timed_from_step(config)
    state = initial_state(config, setup, layout)
    state = state._replace(step=dist.replicate(layout.mesh, jnp.asarray(first, jnp.int32)))
    train_d = dist.shard_batch(layout.mesh, next(setup.train_stream.batches(0)))
    valid_d = dist.shard_batch(layout.mesh, next(setup.valid_stream.batches(0)))

    print(f"compiling the search step ({A} x {b} + {valid_rows} images at {r} px) ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    compiled = step_fn.lower(state, train_d, valid_d).compile()
    compile_s = time.perf_counter() - start
    print(f"compiled in {compile_s:.1f} s; timing {WARMUP_STEPS} + {steps} steps", file=sys.stderr, flush=True)
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    xla_flops = float(cost.get("flops", 0.0)) if cost else 0.0

    times, warmup_p = [], []
    for i in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        state, info = compiled(state, train_d, valid_d)
        jax.block_until_ready((state, info))
        if i >= WARMUP_STEPS:
            times.append(time.perf_counter() - start)
            warmup_p.append(float(info.warmup))
    step_s = sum(times) / len(times)

    # As run_search feeds the step: host batches put on the devices every step, no wait between steps.
    train_it, valid_it = setup.train_stream.batches(0), setup.valid_stream.batches(0)
    start = time.perf_counter()
    for _ in range(steps):
        state, info = compiled(state, dist.shard_batch(layout.mesh, next(train_it)),
                               dist.shard_batch(layout.mesh, next(valid_it)))
    jax.block_until_ready((state, info))
    fed_s = (time.perf_counter() - start) / steps
    if not math.isfinite(float(info.loss)):
        raise RuntimeError(f"the search step's loss is {float(info.loss)}: the timing ran on a broken step")

    return {
        "search_img_per_s": A * b / step_s, "search_fed_img_per_s": A * b / fed_s,
        "compile_seconds": compile_s, "step_seconds": step_s, "fed_step_seconds": fed_s,
        "timed_steps": steps, "timed_from_step": first, "total_steps": config.steps,
        "warmup_probability": max(warmup_p), "xla_flops_per_step": xla_flops,
        "peak_bytes": _step_throughput().peak_bytes(),
        "space": config.space, "per_device_batch": b, "validation_batch": valid_rows, "resolution": r,
        "num_classes": num_classes, "remat": config.remat, "compute_dtype": config.compute_dtype,
        "variant": variant_of(config), "archs_per_step": A, "groups_per_device": layout.groups,
        "devices": layout.mesh.size, "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
        "cost": f"{setup.cost.unit} ({setup.cost.source})", "target": setup.cost.target,
        "xla_flags": os.environ.get("XLA_FLAGS", ""), "jax": jax.__version__,
    }


def read_reference(path: str) -> dict:
    """The step_throughput JSON object in ``path`` (its last line).

    Raises:
      ValueError: a missing file, or no JSON object with ``jaxnas_img_per_s`` on its last line.
    """
    try:
        with open(path) as f:
            lines = f.read().strip().splitlines()
    except OSError as err:
        raise ValueError(f"--reference-json {path!r}: cannot read it ({err.strerror}); give the JSON line of "
                         f"benchmarks/step_throughput.py --json") from None
    try:
        ref = json.loads(lines[-1]) if lines else None
    except ValueError:
        ref = None
    if not isinstance(ref, dict) or "jaxnas_img_per_s" not in ref:
        raise ValueError(f"--reference-json {path!r}: its last line is not step_throughput's JSON object (no "
                         f"'jaxnas_img_per_s'); did benchmarks/step_throughput.py --json finish?")
    return ref


def compare(result: dict, ref: dict) -> dict:
    """``benchmark_*`` keys and ``ratio_vs_benchmark`` (search / benchmark) of ``result`` vs ``ref``."""
    bench = ref.get("jaxnas_img_per_s")
    same = ref.get(result["variant"]) if isinstance(ref.get(result["variant"]), dict) else {}
    # The CPU line has no variant: it times SuperNet's defaults, the same as in this process.
    variant = ref.get("default_variant") or _step_throughput().default_variant()
    out = {"benchmark_img_per_s": bench, "benchmark_variant": variant,
           "settings_match_benchmark": variant == result["variant"],
           "ratio_vs_benchmark": result["search_img_per_s"] / bench if bench else None,
           "fed_ratio_vs_benchmark": result["search_fed_img_per_s"] / bench if bench else None,
           "benchmark_same_variant_img_per_s": same.get("img_per_s")}
    if same.get("img_per_s"):
        out["ratio_vs_same_variant"] = result["search_img_per_s"] / same["img_per_s"]
    if "batch" in ref and "resolution" in ref:
        out["shape_matches_benchmark"] = (ref["batch"], ref["resolution"]) == (result["per_device_batch"],
                                                                              result["resolution"])
    return out


def report(result: dict) -> str:
    """A readable table of :func:`search_step_throughput`'s result (with ``compare``'s keys)."""
    r = result
    lines = [f"{r.get('config', 'search step')}: {r['space']}, {r['archs_per_step']} arch(s) x "
             f"{r['per_device_batch']} images "
             f"(+ {r['validation_batch']} validation) at {r['resolution']} px, {r['variant']}, "
             f"{r['devices']} {r['backend']} device(s) ({r['device_kind']}), jax {r['jax']}",
             f"timed: {r['timed_steps']} steps from step {r['timed_from_step']} of {r['total_steps']} "
             f"(warmup probability {r['warmup_probability']:g}); compile {r['compile_seconds']:.1f} s; "
             f"peak {r['peak_bytes'] / 2**30:.2f} GiB; XLA_FLAGS={r['xla_flags'] or '(none)'}",
             f"{'':44s} {'img/s':>9s} {'s/step':>8s}",
             f"{'search step (batches on device)':44s} {r['search_img_per_s']:9.1f} {r['step_seconds']:8.3f}",
             f"{'search step fed as run_search':44s} {r['search_fed_img_per_s']:9.1f} {r['fed_step_seconds']:8.3f}"]
    if r.get("benchmark_img_per_s"):
        lines.append(f"{'step_throughput jaxnas_img_per_s (' + str(r['benchmark_variant']) + ')':44s} "
                     f"{r['benchmark_img_per_s']:9.1f}")
        lines.append(f"ratio search / benchmark {r['ratio_vs_benchmark']:.3f} (fed {r['fed_ratio_vs_benchmark']:.3f})"
                     + (f"; vs the benchmark's {r['variant']} {r['ratio_vs_same_variant']:.3f}"
                        if r.get("ratio_vs_same_variant") else "")
                     + ("" if r.get("shape_matches_benchmark", True) else "; the benchmark ran at another shape")
                     + ("" if r.get("settings_match_benchmark", True) else "; the benchmark ran other settings"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="search_imagenet", help="classification search config (name or .py)")
    parser.add_argument("--device", default="default", help=f"one of {', '.join(DEVICES)} (default: jax's)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--target", default=None, help="MACs target (millions) or a reference network name")
    parser.add_argument("--train-examples", type=int, default=IMAGENET_SEARCH_SPLIT,
                        help="search-split images (resolves config.steps=0 from epochs)")
    parser.add_argument("--reference-json", default=None, help="step_throughput.py --json output to compare with")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args, rest = parser.parse_known_args(argv)
    unknown = [a for a in rest if not a.startswith("--config.")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        check_device_name(args.device)
        target = None
        if args.target is not None:
            from jaxnas.apps._config import _parse_value
            target = _parse_value(args.target)
        config = load_search_config(args.config, rest)
        ref = read_reference(args.reference_json) if args.reference_json else None
        prepare_process(args.device, config)
        result = {"config": args.config, **search_step_throughput(
            config, args.steps, args.num_classes, target, args.train_examples, args.device)}
    except (ValueError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if ref is not None:
        result.update(compare(result, ref))
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
