"""Stand-alone detection training on the built-in shapes dataset, on this machine's CPU.

A fixed small architecture of ``proxylessnas_enlarged`` (the jaxnas ChildNet; kernels 3,
expansion 3, two bottlenecks per block, widths 16-16-24-32-64-96-160-256) with the SSDLite head on
its C4/C5 endpoints is trained from scratch for a fixed number of steps on
``jaxnas_shapes_detection`` (128 x 128, 6 classes; prepared into the TFDS data dir on first use),
then evaluated on its 500 validation images with pycocotools. Also times the jittable batch mAP
(the search reward) on one validation batch.

    python benchmarks/detection_small.py            # about 16 minutes on the shared 2-core CPU
    python benchmarks/detection_small.py --json     # JSON object as the last line

Measured (2026-11-28, 2 shared cores, load average 3.9-4.8): 2000 steps x 16 images, 843 s of
training at 37.9 img/s: COCO AP 0.193, AP50 0.361, AP75 0.173; jit batch mAP 8.8 ms per batch of
50. At 800 steps (480 s, load 4.4-5.8) AP was only 0.020 (AP50 0.068): from scratch, SSDLite needs
the longer budget.

JSON keys: ``map`` and ``map50`` (COCOeval AP@[.5:.95] and AP50), ``img_per_s`` (training images
per second after compilation), ``jit_map_ms_per_batch`` (jitted batch mAP of ``--eval_batch``
images x 100 detections), plus the settings and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

# Why: XLA:CPU spends tens of seconds optimising the many threefry draws of a Haiku init;
# the init runs once, so it is compiled without backend optimisation (see compile_init).
_INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}

WIDTHS = {"block0": 16, "block1": 16, "block2": 24, "block3": 32, "block4": 64, "block5": 96,
          "block6": 160, "block7": 256, "block8": 512}


def small_arch(space):
    """Kernel 3, expansion 3, the first two layers of each block, the WIDTHS above."""
    arch = []
    for d in space.decisions:
        block = d.path.split("/")[0]
        if d.kind == "width":
            arch.append(d.choices.index(WIDTHS[block]))
        elif d.kind == "op" and "zero" in d.choices:
            arch.append(0 if "/layer1/" in d.path else d.choices.index("zero"))
        else:
            arch.append(0)
    return space.canonicalize(np.asarray(arch, np.int32))


def build_model(num_classes: int):
    """(transformed model, description) of the jaxnas ChildNet backbone with the SSDLite head.

    Raises:
      ImportError: jaxnas-supernet (or jaxnas-searchspace) cannot be imported; the
        figures in the module docstring are of the ChildNet, so there is no stand-in.
    """
    import haiku as hk

    from jaxnas.detection import DetectionModel

    try:
        from jaxnas.searchspace import get_space
        from jaxnas.supernet import ChildNet
        from jaxnas.supernet import depthwise_conv
    except ImportError as error:
        raise ImportError(f"detection_small.py trains the jaxnas ChildNet backbone, and importing it failed "
                          f"({error}); install jaxnas-supernet and jaxnas-searchspace (`hatch run "
                          f"bench:detection_small` from the repository root has them)") from error
    space = get_space("proxylessnas_enlarged")
    arch = small_arch(space)

    def backbone(x, is_training):
        return ChildNet(space, arch, num_classes=1, name="backbone")(x, is_training)[1]

    def forward(images, is_training):
        return DetectionModel(backbone, num_classes, depthwise_fn=depthwise_conv)(images, is_training)

    return hk.transform_with_state(forward), f"ChildNet proxylessnas_enlarged {space.format(arch)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="adam, or SGD with momentum 0.9 (the paper's COCO recipe, slower to start)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--dataset", default="jaxnas_shapes_detection")
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--eval_batch", type=int, default=50)
    parser.add_argument("--crop_probability", type=float, default=0.0,
                        help="SSD random-crop rate (0.625 in long runs; at a few hundred steps the "
                             "objects a crop cuts off but leaves visible unlabelled cost more than it gives)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import optax

    from jaxnas.apps.detection import DetectionData
    from jaxnas.apps.detection import DetectionPreprocess
    from jaxnas.detection import CocoEvaluator
    from jaxnas.detection import DetectionModel
    from jaxnas.detection import assign_targets
    from jaxnas.detection import batch_map
    from jaxnas.detection import postprocess
    from jaxnas.detection import ssd_loss

    t0 = time.time()
    data = DetectionData(args.dataset, data_dir=args.data_dir)
    resolution = int(data.builder.info.features["image"].shape[0])
    prepare_s = time.time() - t0
    pre = DetectionPreprocess(resolution=resolution, max_boxes=20, crop_probability=args.crop_probability)
    model, desc = build_model(data.num_classes)
    anchors = jnp.asarray(DetectionModel.anchors(resolution))

    train = data.stream("train", args.batch, pre, train=True, seed=args.seed).batches()
    first = next(train)
    init = jax.jit(lambda key, x: model.init(key, x, True)).lower(
        jax.random.PRNGKey(args.seed), first["image"]).compile(_INIT_COMPILER_OPTIONS)
    params, state = init(jax.random.PRNGKey(args.seed), first["image"])
    num_params = sum(x.size for x in jax.tree_util.tree_leaves(params))
    warmup = min(args.warmup, args.steps // 10)
    schedule = optax.warmup_cosine_decay_schedule(0.0, args.lr, warmup, args.steps)
    base = optax.adam(schedule) if args.optimizer == "adam" else optax.sgd(schedule, momentum=0.9)
    opt = optax.chain(optax.clip_by_global_norm(10.0), base)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, state, opt_state, batch):
        targets = assign_targets(anchors, batch["boxes"], batch["labels"], batch["valid"])

        def loss_fn(p):
            (box, logits), new_state = model.apply(p, state, None, batch["image"], True)
            loss, aux = ssd_loss(box, logits, targets)
            return loss, (new_state, aux)

        (loss, (state, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), state, opt_state, loss

    keys = ("image", "boxes", "labels", "valid")
    batch = {k: first[k] for k in keys}
    t_compile = time.time()
    params, state, opt_state, loss = step(params, state, opt_state, batch)
    loss.block_until_ready()
    compile_s = time.time() - t_compile
    losses = []
    t_train = time.time()
    for i in range(1, args.steps):
        batch = {k: v for k, v in next(train).items() if k in keys}
        params, state, opt_state, loss = step(params, state, opt_state, batch)
        if i % 100 == 0 or i == args.steps - 1:
            losses.append((i, float(loss)))
            print(f"step {i:5d}  loss {float(loss):.3f}  {time.time() - t_train:.0f}s", flush=True,
                  file=sys.stderr if args.json else sys.stdout)
    jax.block_until_ready(params)
    train_s = time.time() - t_train
    img_per_s = (args.steps - 1) * args.batch / train_s

    @jax.jit
    def detect(params, state, images):
        (box, logits), _ = model.apply(params, state, None, images, False)
        return postprocess(box, logits, anchors)

    jit_map = jax.jit(batch_map, static_argnames=("num_classes", "max_dets"))
    evaluator = CocoEvaluator(data.num_classes)
    test = data.stream("test", args.eval_batch, pre, train=False)
    jit_maps, timed = [], None
    for b in test.epoch_batches():
        det = detect(params, state, b["image"])
        keep = b["mask"] > 0
        d = [np.asarray(x)[keep] for x in det]
        evaluator.add(*d, b["boxes"][keep], b["labels"][keep], b["valid"][keep],
                      gt_crowd=b["crowd"][keep], image_sizes=np.full((keep.sum(), 2), resolution))
        args_map = (*det, b["boxes"], b["labels"], b["valid"] & keep[:, None])
        jit_maps.append(float(jit_map(*args_map, num_classes=data.num_classes)["map"]))
        timed = timed or args_map
    stats = evaluator.evaluate()
    jax.block_until_ready(jit_map(*timed, num_classes=data.num_classes))
    reps = 20
    t = time.time()
    for _ in range(reps):
        out = jit_map(*timed, num_classes=data.num_classes)
    jax.block_until_ready(out)
    jit_ms = (time.time() - t) / reps * 1e3
    load = os.getloadavg()

    result = {
        "map": round(stats["AP"], 4), "map50": round(stats["AP50"], 4), "map75": round(stats["AP75"], 4),
        "aps": round(stats["APs"], 4), "apm": round(stats["APm"], 4), "apl": round(stats["APl"], 4),
        "img_per_s": round(img_per_s, 1), "jit_map_ms_per_batch": round(jit_ms, 2),
        "jit_map_mean_over_val_batches": round(float(np.mean(jit_maps)), 4),
        "steps": args.steps, "batch": args.batch, "resolution": resolution, "lr": args.lr,
        "optimizer": args.optimizer, "crop_probability": args.crop_probability,
        "train_s": round(train_s, 1), "compile_s": round(compile_s, 1), "prepare_s": round(prepare_s, 1),
        "eval_images": data.sizes["test"], "eval_batch": args.eval_batch, "params": int(num_params),
        "model": desc, "dataset": args.dataset, "devices": str(jax.devices()[0]), "cpu_count": os.cpu_count(),
        "loadavg_1_5_15": [round(x, 2) for x in load], "final_loss": losses[-1][1] if losses else None,
    }
    rows = [("model", desc), ("parameters", f"{num_params:,}"),
            ("training", f"{args.steps} steps x {args.batch} images at {resolution}px, {train_s:.0f}s"),
            ("train images/s", f"{img_per_s:.1f}"),
            ("COCO AP / AP50 / AP75", f"{stats['AP']:.3f} / {stats['AP50']:.3f} / {stats['AP75']:.3f}"),
            ("AP small / medium / large", f"{stats['APs']:.3f} / {stats['APm']:.3f} / {stats['APl']:.3f}"),
            ("jit batch mAP (mean of val batches)", f"{np.mean(jit_maps):.3f}"),
            (f"jit batch mAP ms / batch of {args.eval_batch}", f"{jit_ms:.2f}"),
            ("load average (1, 5, 15 min)", " ".join(f"{x:.2f}" for x in load))]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
