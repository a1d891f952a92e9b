"""Tests: stand-alone training for a few steps on ``jaxnas_shapes/tiny`` at 32 px."""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes/tiny", cache=True, resolution=32, min_crop_area=0.35,
                        holdout_fraction=0.25),
        optim=OptimConfig(warmup_fraction=0.1, lr_per_256=0.5),
        space="proxylessnas_micro", arch="", epochs=1.0, steps=30, per_device_batch=16,
        log_every=10, checkpoint_every=15, export_tflite=True)
