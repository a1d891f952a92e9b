"""Tests: stand-alone training for a few steps on ``jaxnas_shapes/tiny`` at 32 px."""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes/tiny", cache=True, resolution=32, min_crop_area=0.35,
                        holdout_fraction=0.25),
        optim=OptimConfig(warmup_fraction=0.1, lr_per_256=4.0),
        space="proxylessnas_micro", arch="", epochs=1.0, steps=60, per_device_batch=32, bn_momentum=0.9,
        log_every=10, checkpoint_every=30, export_tflite=True)
