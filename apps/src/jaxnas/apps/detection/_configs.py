"""Config dataclasses of the detection apps (defaults: the paper's COCO settings, appendix E.3).

Weights (search and stand-alone): SGD with momentum 0.9, learning rate warmed up linearly from 0
to 4 at a global batch of 1024 (scaled linearly with the batch) over the first 5K of 50K steps,
then cosine decay to 0; batch 32 per device; L2 4e-5 on conv kernels. Search: reward = jittable
COCO mAP@[.5:.95] of the validation batch, REINFORCE controller with Adam at base rate 5e-3 (the
classification schedule otherwise), absolute reward, cost = latency (or MACs) of backbone +
SSDLite head; target ms or a reference network (``mobilenet_v3_large``: MobileNetV3-Large +
SSDLite on the same table, as the paper's 106 ms). Every field can be overridden with
``--config.FIELD=VALUE``.
"""

from __future__ import annotations

import dataclasses

from jaxnas.apps.classification._configs import _positive, check_search_fields
from jaxnas.apps.data import IMAGENET_MEAN, IMAGENET_STD


@dataclasses.dataclass(frozen=True)
class DetectionDataConfig:
    """Detection dataset and SSD preprocessing."""

    dataset: str = "coco/2017"           # or the built-in "jaxnas_shapes_detection" ("/320", "/tiny")
    data_dir: str | None = None          # TFDS data folder; None = TFDS's default (~/tensorflow_datasets)
    holdout_fraction: float = 0.1        # share of train held out for the search reward
    cache: bool = False                  # keep decoded examples in memory (small datasets)
    resolution: int = 320                # image side in pixels
    max_boxes: int = 100                 # ground-truth slots per image
    crop_probability: float = 0.625      # SSD random crop rate
    extra_depths: tuple = (512, 256, 256, 128)  # SSDLite extra layers after C5 (fewer for small images)
    mean: tuple = IMAGENET_MEAN          # per-channel mean subtracted (RGB, 0-255 pixel scale)
    std: tuple = IMAGENET_STD            # per-channel standard deviation divided by


@dataclasses.dataclass(frozen=True)
class SGDConfig:
    """Weights: SGD with momentum, linear warm-up then cosine decay to 0."""

    lr_per_1024: float = 4.0             # peak rate at a global batch of 1024 (scaled linearly)
    warmup_fraction: float = 0.1         # 5K of 50K steps
    momentum: float = 0.9                # SGD momentum
    weight_decay: float = 4e-5           # L2 on conv kernels only, gradient 4e-5 * w (reference: l2(wd / 2))
    clip_norm: float = 0.0               # global gradient-norm clipping; 0 = off (the paper: off)


@dataclasses.dataclass(frozen=True)
class DetectionSearchConfig:
    """One TuNAS detection search (``jaxnas-search detection``)."""

    data: DetectionDataConfig = DetectionDataConfig()
    optim: SGDConfig = SGDConfig()
    space: str = "mobilenet_v3_like"     # backbone search space name (jaxnas-space list)
    steps: int = 50_000                  # training steps
    per_device_batch: int = 32           # training images per architecture per step
    archs_per_step: int = 0              # 0 = one per device
    validation_multiplier: int = 1       # reward batch = this x training batch
    # Controller (the classification settings, base rate 5e-3: paper appendix E.3).
    reward: str = "absolute"             # absolute, mnas_soft or mnas_hard (TuNAS's reward functions)
    reward_beta: float = -0.10           # beta of the cost term: Q + beta |c/c0 - 1| (absolute), Q (c/c0)^beta (mnas)
    controller_lr: float = 5e-3          # Adam base rate, not scaled with the batch
    controller_schedule: str = "exponential"  # controller rate over the steps: exponential or constant
    controller_delay_fraction: float = 0.25  # share of the steps before the controller starts learning
    entropy_weight: float = 0.0          # entropy bonus of the controller's loss (a separate plain SGD step)
    baseline_momentum: float = 0.95      # moving average of the reward that REINFORCE subtracts
    controller_second_moment: str = "per_architecture"  # Adam's second moment: reference TPU form; "batch" = optax.adam
    # Cost of backbone + SSDLite head: a jaxnas-latency table built with the head (ms), else MACs (M).
    latency_table: str | None = None     # jaxnas-latency table JSON (cost in ms); None = MACs (millions)
    target: object = "mobilenet_v3_large"  # cost units, or a reference network + SSDLite on the same cost
    # Supernet.
    warmup_fraction: float = 0.25         # op and filter warmup, probability 1 -> 0
    op_warmup: bool = True               # op warmup: every op on with a probability falling 1 -> 0
    filter_warmup: bool = True           # filter warmup: every filter on with a probability falling 1 -> 0
    # Why a compile-time knob: remat saves activation memory, but on ``detection_micro`` at 128 px
    # (16 images) it made the backbone's gradient 173k StableHLO lines / 72 s of XLA:CPU compile
    # against 18k lines / 19 s without it, and the whole ``search_detection_shapes`` step 79 s trace
    # + 143 s compile against 12 s + 53 s (measured 2026-11-28, load 0.5-2.7); turn it off
    # (``--config.remat=False``) where memory allows, e.g. small CPU runs.
    remat: bool = True                   # rematerialise the backbone's activations (see the comment above)
    # Book-keeping.
    seed: int = 0                        # random seed (weights, data order, sampled architectures)
    log_every: int = 100                 # steps between rows of metrics.jsonl
    checkpoint_every: int = 1000         # steps between checkpoints (a multiple of log_every)
    eval_batches: int = 0                # final one-shot mAP batches of the argmax (0 = whole split)
    plots: bool = True                   # write PNG plots at the end

    def validate(self):
        _positive(self, "steps", "per_device_batch", "validation_multiplier", "log_every", "checkpoint_every")
        if self.controller_lr <= 0:
            raise ValueError(f"--config.controller_lr={self.controller_lr}: must be positive")
        check_search_fields(self, "mobilenet_v3_large")
        check_detection(self.data, self.optim)


@dataclasses.dataclass(frozen=True)
class DetectionTrainConfig:
    """Stand-alone training of one backbone architecture + SSDLite (``jaxnas-train detection``)."""

    data: DetectionDataConfig = DetectionDataConfig()
    optim: SGDConfig = SGDConfig()
    space: str = "mobilenet_v3_like"     # backbone search space name (jaxnas-space list)
    arch: str = ""                       # architecture index string (0:1:...); "" for fixed spaces
    steps: int = 50_000                  # training steps
    per_device_batch: int = 32           # training images per device per step
    bn_momentum: float = 0.97            # backbone and head (TF Object Detection API SSDLite)
    bn_eps: float = 1e-3                 # batch norm epsilon
    eval_split: str = "test"             # "test" (COCO val2017) or "validation" (held-out train)
    eval_every: int = 0                  # steps between evaluations; 0 = only at the end
    seed: int = 0                        # random seed (weights, data order)
    log_every: int = 100                 # steps between rows of metrics.jsonl
    checkpoint_every: int = 1000         # steps between checkpoints
    export_tflite: bool = True           # export/model.tflite (boxes and class scores; NMS left to the caller)

    def validate(self):
        _positive(self, "steps", "per_device_batch", "log_every", "checkpoint_every")
        if self.eval_split not in ("validation", "test"):
            raise ValueError(f"--config.eval_split={self.eval_split!r}: choose 'validation' or 'test'")
        if not 0.0 < self.bn_momentum < 1.0:
            raise ValueError(f"--config.bn_momentum={self.bn_momentum}: must be in (0, 1)")
        check_detection(self.data, self.optim)


def check_detection(data: DetectionDataConfig, optim: SGDConfig):
    """Checks the data and optimizer groups (shared by search and training)."""
    if data.resolution < 32:
        raise ValueError(f"--config.data.resolution={data.resolution}: must be at least 32 (stride-32 endpoint C5)")
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 2 for d in data.extra_depths):
        raise ValueError(f"--config.data.extra_depths={data.extra_depths}: a tuple of ints >= 2 (SSDLite: "
                         f"(512, 256, 256, 128))")
    if data.max_boxes < 1:
        raise ValueError(f"--config.data.max_boxes={data.max_boxes}: must be at least 1")
    if not 0.0 <= data.crop_probability <= 1.0:
        raise ValueError(f"--config.data.crop_probability={data.crop_probability}: must be in [0, 1]")
    if not 0.0 < data.holdout_fraction < 1.0:
        raise ValueError(f"--config.data.holdout_fraction={data.holdout_fraction}: must be in (0, 1)")
    if optim.lr_per_1024 <= 0:
        raise ValueError(f"--config.optim.lr_per_1024={optim.lr_per_1024}: must be positive")
    if not 0.0 <= optim.warmup_fraction < 1.0:
        raise ValueError(f"--config.optim.warmup_fraction={optim.warmup_fraction}: must be in [0, 1)")
    if not 0.0 <= optim.momentum < 1.0:
        raise ValueError(f"--config.optim.momentum={optim.momentum}: must be in [0, 1)")
    if optim.weight_decay < 0 or optim.clip_norm < 0:
        raise ValueError("--config.optim.weight_decay and --config.optim.clip_norm must be >= 0")
