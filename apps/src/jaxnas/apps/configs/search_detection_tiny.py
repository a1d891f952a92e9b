"""Tests: a few detection search steps on ``jaxnas_shapes_detection/tiny`` (64 px) in ``detection_nano``."""

from jaxnas.apps.detection import DetectionDataConfig, DetectionSearchConfig, SGDConfig


def get_config():
    return DetectionSearchConfig(
        data=DetectionDataConfig(dataset="jaxnas_shapes_detection/tiny", cache=True, resolution=64, max_boxes=8,
                                 crop_probability=0.0, holdout_fraction=0.25,
                                 extra_depths=(32,)),
        optim=SGDConfig(lr_per_1024=16.0, warmup_fraction=0.25, clip_norm=10.0),
        space="detection_nano", steps=4, per_device_batch=4, archs_per_step=1, controller_lr=0.05,
        controller_delay_fraction=0.0, target=0.55, remat=False, log_every=2, checkpoint_every=2,
        eval_batches=1, plots=False)
