"""Tests: stand-alone training for a few steps on ``jaxnas_shapes/tiny`` at 32 px.

The rate is 4x the paper's 0.165 per 256: with the reference's RMSProp (eps 1.0 inside the square
root, mean square from 1.0) small gradients take steps about 3-4x smaller than with the eps 0.1
this config was first tuned with, and 300 steps must visibly learn.
"""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes/tiny", cache=True, resolution=32, min_crop_area=0.35,
                        holdout_fraction=0.25),
        optim=OptimConfig(lr_per_256=0.66, warmup_fraction=0.05),
        space="proxylessnas_nano", arch="", epochs=1.0, steps=300, per_device_batch=32, bn_momentum=0.9,
        log_every=50, checkpoint_every=150, export_tflite=True)
