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
``map75``, ``map_small``, ``map_medium``, ``map_large``. In a multi-process run the detections
and ground truth of every process are gathered first (``_evaluate.coco_metrics``), so every
process scores the whole split.

Writes ``config.json``, ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``, ``result.json`` and
``export/`` (``jaxnas.apps.detection._export``): ``params.npz`` (params and BN statistics,
``/``-joined names), ``model.json`` (space, architecture, classes, resolution, normalisation,
head, NMS settings) and, with ``export_tflite``, ``model.tflite`` (boxes and class scores).
"""

from __future__ import annotations

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
from jaxnas.apps.detection._evaluate import coco_metrics
from jaxnas.apps.detection._export import export_detector
from jaxnas.apps.detection._network import detection_network
from jaxnas.apps.detection._recipe import (
    detection_facts,
    detection_l2,
    preprocess_of,
    sgd_optimizer,
    ssdlite_head,
)


def train(config: DetectionTrainConfig, workdir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Trains ``config.arch`` of ``config.space`` with the SSDLite head; returns ``result.json``'s dict.

    Raises:
      ValueError: bad config or architecture, a space without C4/C5, an unprepared dataset, or
        an existing checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.detection import (
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
        return coco_metrics(lambda images: detect(params, bn_state, images), eval_stream.epoch_batches(), mesh, K, r)

    setup = TrainSetup(init, loss_fn, optimizer, schedule, train_stream, config.steps, evaluate, "map")
    state, metrics = run_training(config, workdir, setup, mesh, resume=resume, progress=progress)
    result = {"space": space.name, "arch": config.arch, "steps": config.steps, "eval_split": config.eval_split,
              **metrics, **detection_facts(space, arch, K, r, extra), "exports": []}
    if pi == 0:
        result["exports"] = export_detector(os.path.join(workdir, "export"), space, arch, K, config,
                                            jax.device_get(state.params), jax.device_get(state.bn_state),
                                            tflite=config.export_tflite)
    write_result(workdir, result)
    return result
