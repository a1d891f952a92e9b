"""Tests: stand-alone detection training for a few steps on ``jaxnas_shapes_detection/tiny`` (64 px)."""

from jaxnas.apps.detection import DetectionDataConfig, DetectionTrainConfig, SGDConfig


def get_config():
    return DetectionTrainConfig(
        data=DetectionDataConfig(dataset="jaxnas_shapes_detection/tiny", cache=True, resolution=64, max_boxes=8,
                                 crop_probability=0.0, holdout_fraction=0.25,
                                 extra_depths=(32,)),
        optim=SGDConfig(lr_per_1024=16.0, warmup_fraction=0.25, clip_norm=10.0),
        space="detection_nano", arch="", steps=2, per_device_batch=4, eval_split="validation", log_every=1,
        checkpoint_every=2)
