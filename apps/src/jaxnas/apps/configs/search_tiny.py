"""Tests: a few steps on ``jaxnas_shapes/tiny`` at 32 px."""

from jaxnas.apps.classification import DataConfig, OptimConfig, SearchConfig


def get_config():
    return SearchConfig(
        data=DataConfig(dataset="jaxnas_shapes/tiny", cache=True, resolution=32, min_crop_area=0.35,
                        holdout_fraction=0.25),
        optim=OptimConfig(warmup_fraction=0.1),
        space="proxylessnas_nano", steps=8, per_device_batch=4, archs_per_step=1,
        controller_lr_per_256=0.5, target=0.15, log_every=2, checkpoint_every=4, eval_batches=2, plots=False)
