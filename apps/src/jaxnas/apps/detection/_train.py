"""``train(config, workdir)``: stand-alone training of a backbone architecture + SSDLite head.

The paper's COCO recipe (appendix E.3): SGD with momentum 0.9, learning rate warmed up from 0 to
4 (at a global batch of 1024, scaled linearly) over the first 10% of the steps then cosine decay
to 0, 50K steps of 32 images per device, L2 4e-5 on conv kernels (gradient 4e-5 * w), the focal + smooth-L1 SSDLite
loss, BN with moving averages (momentum 0.97, eps 1e-3). The backbone is the jaxnas ChildNet of
``(space, arch)``; its C4/C5 endpoints feed :class:`jaxnas.detection.DetectionModel`. Runs on the
shared driver (``jaxnas.apps._train_driver.run_training``): data parallel, orbax checkpoints and
resume, metrics JSON lines + TensorBoard, progress bar.

Evaluation: pycocotools COCOeval (``jaxnas.detection.CocoEvaluator``) on ``eval_split`` after
post-processing (per-class NMS at IoU 0.6, 100 detections): ``map`` (AP@[.5:.95]), ``map50``,
``map75``, ``map_small``, ``map_medium``, ``map_large``. In a multi-process run each process
scores its own share of the split and process 0 reports its share.

Writes ``config.json``, ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``, ``result.json`` and
``export/``: ``params.npz`` (params and BN statistics, ``/``-joined names) and ``model.json``
(space, architecture, classes, resolution, normalisation, anchors).
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.apps import _distributed as dist
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps._train_driver import TrainSetup, run_training, write_result
from jaxnas.apps.classification._train import parse_arch
from jaxnas.apps.detection._configs import DetectionTrainConfig
from jaxnas.apps.detection._data import DetectionData
from jaxnas.apps.detection._recipe import (
    detection_facts,
    detection_l2,
    preprocess_of,
    sgd_optimizer,
    ssdlite_head,
)

METRICS = {"AP": "map", "AP50": "map50", "AP75": "map75", "APs": "map_small", "APm": "map_medium",
           "APl": "map_large"}


def detection_network(space, arch, num_classes: int, bn_momentum: float, bn_eps: float, extra_depths=None):
    """``hk.transform_with_state``: ``apply(params, state, rng, images, is_training) -> (boxes, logits)``."""
    import haiku as hk
    from jaxnas.detection import DetectionModel
    from jaxnas.supernet import ChildNet, depthwise_conv

    def backbone(images, is_training):
        net = ChildNet(space, arch, num_classes=1, bn_decay=bn_momentum, bn_eps=bn_eps, name="backbone")
        return net(images, is_training)[1]

    def forward(images, is_training):
        kw = {} if extra_depths is None else {"extra_depths": tuple(extra_depths)}
        return DetectionModel(backbone, num_classes, depthwise_fn=depthwise_conv, **kw)(images, is_training)

    return hk.transform_with_state(forward)


def train(config: DetectionTrainConfig, workdir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Trains ``config.arch`` of ``config.space`` with the SSDLite head; returns ``result.json``'s dict.

    Raises:
      ValueError: bad config or architecture, a space without C4/C5, an unprepared dataset, or
        an existing checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.detection import (
        CocoEvaluator,
        DetectionModel,
        assign_targets,
        postprocess,
        ssd_loss,
    )
    from jaxnas.latency._heads import endpoints_of
    from jaxnas.searchspace import get_space
    from jaxnas.supernet import l2_penalty
    space = get_space(config.space)
    arch = parse_arch(space, config.arch)
    r = config.data.resolution
    data = DetectionData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction, config.data.cache)
    K = data.num_classes
    extra = tuple(config.data.extra_depths)
    endpoints_of(space, ssdlite_head(K, extra), r)  # a clear error for a space without C4/C5
    mesh = dist.make_mesh()
    pi, pc = jax.process_index(), jax.process_count()
    gb = config.per_device_batch * mesh.size
    pre = preprocess_of(config.data)
    train_stream = data.stream("train", gb, pre, train=True, seed=config.seed, process_index=pi, process_count=pc)
    eval_stream = data.stream(config.eval_split, gb, pre, train=False, process_index=pi, process_count=pc)
    net = detection_network(space, arch, K, config.bn_momentum, config.bn_eps, extra)
    anchors = jnp.asarray(DetectionModel.anchors(r, len(extra)))
    optimizer, schedule = sgd_optimizer(config.optim, gb, config.steps)
    wd = config.optim.weight_decay

    def init(key):
        images = jnp.zeros((1, r, r, 3), jnp.float32)
        # Why compiled at level 0: XLA:CPU takes tens of seconds to optimise Haiku's many random draws.
        lowered = jax.jit(lambda k: net.init(k, images, True)).lower(key)
        return lowered.compile({"xla_backend_optimization_level": 0})(key)

    def loss_fn(params, bn_state, batch, key):
        (box, logits), bn_state = net.apply(params, bn_state, key, batch["image"], True)
        targets = assign_targets(anchors, batch["boxes"], batch["labels"], batch["valid"])
        loss, aux = ssd_loss(box, logits, targets)
        return loss + l2_penalty(detection_l2(params), wd), (bn_state, {"loc_loss": aux["localization"],
                                                             "cls_loss": aux["classification"]})

    @jax.jit
    def detect(params, bn_state, images):
        (box, logits), _ = net.apply(params, bn_state, None, images, False)
        return postprocess(box, logits, anchors)

    def evaluate(params, bn_state) -> dict:
        evaluator = CocoEvaluator(K)
        for batch in eval_stream.epoch_batches():
            det = detect(params, bn_state, dist.shard_batch(mesh, {"image": batch["image"]})["image"])
            keep = batch["mask"] > 0
            d = [np.asarray(dist.to_host(x))[: len(keep)][keep] for x in det]
            evaluator.add(*d, batch["boxes"][keep], batch["labels"][keep], batch["valid"][keep],
                          gt_crowd=batch["crowd"][keep], image_sizes=np.full((int(keep.sum()), 2), r))
        stats = evaluator.evaluate()
        return {name: float(stats[key]) for key, name in METRICS.items()}

    setup = TrainSetup(init, loss_fn, optimizer, schedule, train_stream, config.steps, evaluate, "map")
    state, metrics = run_training(config, workdir, setup, mesh, resume=resume, progress=progress)
    result = {"space": space.name, "arch": config.arch, "steps": config.steps, "eval_split": config.eval_split,
              **metrics, **detection_facts(space, arch, K, r, extra), "exports": []}
    if pi == 0:
        result["exports"] = export_detector(os.path.join(workdir, "export"), space, arch, K, config,
                                            jax.device_get(state.params), jax.device_get(state.bn_state))
    write_result(workdir, result)
    return result


def export_detector(folder: str, space, arch, num_classes: int, config, params, bn_state) -> list:
    """``params.npz`` (``params/...`` and ``state/...``) and ``model.json``; returns the paths."""
    from jaxnas.apps.classification._export import flatten_params
    os.makedirs(folder, exist_ok=True)
    flat = {f"params/{k}": v for k, v in flatten_params(params).items()}
    flat.update({f"state/{k}": v for k, v in flatten_params(bn_state).items()})
    paths = [os.path.join(folder, "params.npz"), os.path.join(folder, "model.json")]
    np.savez(paths[0], **flat)
    with open(paths[1], "w") as f:
        json.dump({"task": "detection", "head": "ssdlite", "space": space.name, "arch": space.format(arch),
                   "num_classes": num_classes, "resolution": config.data.resolution,
                   "mean": list(config.data.mean), "std": list(config.data.std),
                   "extra_depths": list(config.data.extra_depths),
                   "bn_momentum": config.bn_momentum, "bn_eps": config.bn_eps,
                   "postprocess": {"iou_threshold": 0.6, "max_detections": 100}}, f, indent=1)
    return paths
