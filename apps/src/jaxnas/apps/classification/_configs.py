"""Config dataclasses of the classification apps (defaults: the TuNAS reference code, docs/design.md section 8).

Where the paper's text and the reference code differ, the defaults follow the code (it produced
the published results) and the paper's value is noted beside the field; ``docs/fidelity.md``
lists every setting with the test that pins it.

Config files in ``jaxnas.apps.configs`` build these with ``get_config()`` and
change what differs; every field can be overridden with ``--config.FIELD=VALUE``.
"""

from __future__ import annotations

import dataclasses

from jaxnas.apps.data import IMAGENET_MEAN, IMAGENET_STD

REWARDS = ("absolute", "mnas_soft", "mnas_hard")
COSTS = ("latency", "macs")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Dataset and preprocessing."""

    dataset: str = "imagenet2012"        # TFDS name: imagenet2012, or the built-in jaxnas_shapes (/small, /tiny)
    data_dir: str | None = None          # TFDS data folder; None = TFDS's default (~/tensorflow_datasets)
    holdout_fraction: float = 0.1        # validation share of train (not ImageNet: fixed 50,046)
    cache: bool = False                  # keep decoded examples in memory (small datasets)
    resolution: int = 224                # image side in pixels
    min_crop_area: float = 0.08          # smallest random-crop area (share of the image) in training
    crop_fraction: float = 0.875         # centre-crop share of the shorter side in evaluation
    mean: tuple = IMAGENET_MEAN          # per-channel mean subtracted (RGB, 0-255 pixel scale)
    std: tuple = IMAGENET_STD            # per-channel standard deviation divided by


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """Shared / stand-alone weights: TF1 RMSProp, linear warm-up then cosine decay to 0."""

    lr_per_256: float = 0.165            # peak rate per 256 images (2.64 at 4096)
    warmup_fraction: float = 0.025       # share of the steps of linear learning-rate warm-up
    rmsprop_decay: float = 0.9           # RMSProp's decay of the squared-gradient average
    rmsprop_momentum: float = 0.9        # RMSProp's momentum
    rmsprop_eps: float = 1.0             # inside the square root (TF1); the reference code: 1.0, paper text: 0.1
    rmsprop_initial_scale: float = 1.0   # mean-square accumulator's start (TF1 RMSPropOptimizer: 1.0)
    weight_decay: float = 4e-5           # L2 on conv kernels only, gradient 4e-5 * w (reference: l2(wd / 2))


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """One TuNAS search (``jaxnas-search classification``)."""

    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    space: str = "proxylessnas"          # search space name (jaxnas-space list)
    epochs: float = 90.0                 # of the search split: 27,050 steps at 4096 (floor, as the reference)
    steps: int = 0                       # training steps; > 0 overrides epochs
    per_device_batch: int = 128          # training images per architecture per step
    label_smoothing: float = 0.1         # of the shared weights' cross-entropy (reference code; paper: stand-alone)
    archs_per_step: int = 0              # architectures per step; 0 = one per device
    validation_multiplier: int = 4       # reward batch = 4 x training batch
    # Controller (docs/design.md section 5).
    reward: str = "absolute"             # absolute, mnas_soft or mnas_hard (TuNAS's reward functions)
    reward_beta: float = -0.10           # beta of the cost term: Q + beta |c/c0 - 1| (absolute), Q (c/c0)^beta (mnas)
    controller_lr_per_256: float = 3e-4  # controller (Adam) rate per 256 training images of a step (scaled linearly)
    controller_schedule: str = "exponential"  # controller rate over the steps: exponential or constant
    controller_delay_fraction: float = 0.25  # share of the steps before the controller starts learning
    entropy_weight: float = 0.0          # entropy bonus of the controller's loss (a separate plain SGD step)
    baseline_momentum: float = 0.95      # moving average of the reward that REINFORCE subtracts
    controller_second_moment: str = "per_architecture"  # Adam's second moment: reference TPU form; "batch" = optax.adam
    # Cost: a jaxnas-latency table (ms) or MACs (millions) when latency_table is None.
    latency_table: str | None = None     # jaxnas-latency table JSON (cost in ms); None = MACs (millions)
    target: object = None                # cost units or a reference network name; None: 84 ms (ProxylessNAS) / 57 ms (mobilenet_v3_like), latency tables only
    # Supernet.
    warmup_fraction: float = 0.25        # op and filter warmup, probability 1 -> 0
    op_warmup: bool = True               # op warmup: every op on with a probability falling 1 -> 0
    filter_warmup: bool = True           # filter warmup: every filter on with a probability falling 1 -> 0
    remat: bool = True                   # rematerialise the supernet's activations (memory for time)
    compute_dtype: str = "float32"       # supernet convolutions: float32 or bfloat16 (GPU/TPU; params stay float32)
    # Book-keeping.
    seed: int = 0                        # random seed (weights, data order, sampled architectures)
    log_every: int = 100                 # steps between rows of metrics.jsonl
    checkpoint_every: int = 1000         # steps between checkpoints (a multiple of log_every)
    eval_batches: int = 0                # final one-shot eval batches of the argmax (0 = whole split)
    plots: bool = True                   # PNG plots at the end

    def validate(self):
        _positive(self, "per_device_batch", "validation_multiplier", "log_every", "checkpoint_every")
        if self.steps < 0 or self.epochs <= 0:
            raise ValueError(f"--config.steps={self.steps} must be >= 0 (0 = from epochs) and "
                             f"--config.epochs={self.epochs} > 0")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"--config.label_smoothing={self.label_smoothing}: must be in [0, 1)")
        check_search_fields(self, "proxylessnas_mobile")
        _check_data(self.data)


def check_search_fields(config, reference_example: str):
    """Checks the fields every search config shares (classification and detection).

    Reward, controller schedule and second moment, target, warmup fraction, and that
    checkpoints fall on log steps; ``reference_example`` names a reference network in messages.
    """
    from jaxnas.controller import SECOND_MOMENTS
    if config.reward not in REWARDS:
        raise ValueError(f"--config.reward={config.reward!r}: choose one of {', '.join(REWARDS)}")
    if getattr(config, "compute_dtype", "float32") not in ("float32", "bfloat16"):
        raise ValueError(f"--config.compute_dtype={config.compute_dtype!r}: choose float32 or bfloat16")
    if config.controller_schedule not in ("constant", "exponential"):
        raise ValueError(f"--config.controller_schedule={config.controller_schedule!r}: "
                         f"choose 'constant' or 'exponential'")
    if config.controller_second_moment not in SECOND_MOMENTS:
        raise ValueError(f"--config.controller_second_moment={config.controller_second_moment!r}: choose "
                         f"'per_architecture' (the reference's TPU Adam) or 'batch' (optax.adam)")
    target = config.target
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float, str))):
        raise TypeError(f"--config.target={target!r}: give milliseconds (a number), a reference network name "
                        f"such as {reference_example!r}, or None (the space's default with a latency table)")
    if isinstance(target, (int, float)) and target <= 0:
        raise ValueError(f"--config.target={target}: must be positive")
    if not 0.0 <= config.warmup_fraction <= 1.0:
        raise ValueError(f"--config.warmup_fraction={config.warmup_fraction}: must be in [0, 1]")
    if config.checkpoint_every % config.log_every:
        raise ValueError(f"--config.checkpoint_every={config.checkpoint_every} must be a multiple of "
                         f"--config.log_every={config.log_every} (a resumed run then logs the same windows)")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Stand-alone training of one architecture (``jaxnas-train classification``)."""

    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    space: str = "proxylessnas"          # search space name (jaxnas-space list)
    arch: str = ""                       # architecture index string (0:1:...); "" for fixed spaces
    epochs: float = 360.0                # training epochs (ignored when steps > 0)
    steps: int = 0                       # training steps; > 0 overrides epochs
    per_device_batch: int = 128          # training images per device per step
    label_smoothing: float = 0.1         # label smoothing of the cross-entropy
    dropout: float | None = None        # classifier dropout; None = the paper's rule (0 <= 90 epochs, else 0.15/0.25)
    bn_momentum: float = 0.99            # batch norm moving-average momentum
    bn_eps: float = 1e-3                 # batch norm epsilon
    eval_split: str = "validation"       # evaluation split: "validation" (held-out train) or "test"
    eval_every: int = 0                  # steps between evaluations; 0 = only at the end
    seed: int = 0                        # random seed (weights, data order)
    log_every: int = 100                 # steps between rows of metrics.jsonl
    checkpoint_every: int = 1000         # steps between checkpoints
    export_tflite: bool = True           # export the trained network as a .tflite file

    def validate(self):
        _positive(self, "per_device_batch", "log_every", "checkpoint_every")
        if self.eval_split not in ("validation", "test"):
            raise ValueError(f"--config.eval_split={self.eval_split!r}: choose 'validation' or 'test'")
        if self.steps < 0 or self.epochs <= 0:
            raise ValueError("--config.steps must be >= 0 and --config.epochs > 0")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--config.dropout={self.dropout}: must be in [0, 1) or None (the paper's rule)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"--config.label_smoothing={self.label_smoothing}: must be in [0, 1)")
        _check_data(self.data)


@dataclasses.dataclass(frozen=True)
class RandomConfig:
    """Random-search baseline (``jaxnas-random classification``)."""

    train: TrainConfig = TrainConfig()
    num_archs: int = 10                  # architectures sampled and trained
    latency_table: str | None = None     # jaxnas-latency table JSON (cost in ms); None = MACs (millions)
    target: object = None                # as SearchConfig.target (None: default with a latency table only)
    window: float = 1.0                  # keep archs with |cost - target| <= window (83-85 ms for 84)
    max_samples: int = 1_000_000         # give up after this many uniform samples
    seed: int = 0                        # random seed of the sampling

    def validate(self):
        _positive(self, "num_archs", "max_samples")
        if self.window <= 0:
            raise ValueError(f"--config.window={self.window}: must be positive")
        self.train.validate()


def _positive(config, *names):
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"--config.{name}={value!r}: must be a positive integer")


def _check_data(data: DataConfig):
    if data.resolution < 8:
        raise ValueError(f"--config.data.resolution={data.resolution}: must be at least 8")
    if not 0.0 < data.min_crop_area <= 1.0:
        raise ValueError(f"--config.data.min_crop_area={data.min_crop_area}: must be in (0, 1]")
    if not 0.0 < data.crop_fraction <= 1.0:
        raise ValueError(f"--config.data.crop_fraction={data.crop_fraction}: must be in (0, 1]")


def default_dropout(space: str, epochs: float) -> float:
    """The paper's rule: 0 for up to 90 epochs, else 0.15 (ProxylessNAS spaces) / 0.25 (MobileNetV3-like)."""
    if epochs <= 90:
        return 0.0
    return 0.25 if "mobilenet_v3" in space else 0.15
