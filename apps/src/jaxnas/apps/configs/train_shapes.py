"""Stand-alone training on the built-in dataset (CPU, minutes).

    jaxnas-train classification --config train_shapes --space proxylessnas_micro --arch A --workdir W
"""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes", cache=True, resolution=32, min_crop_area=0.35),
        optim=OptimConfig(lr_per_256=0.165 * 4, warmup_fraction=0.05),
        space="proxylessnas_micro", epochs=2.0, per_device_batch=64, dropout=0.0,
        log_every=50, checkpoint_every=200)
