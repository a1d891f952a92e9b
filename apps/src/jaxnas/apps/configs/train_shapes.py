"""Stand-alone training on the built-in dataset (CPU, minutes).

    jaxnas-train classification --config train_shapes --space proxylessnas_micro --arch A --workdir W

2 epochs (675 steps) of 64 images at 32 x 32 px with the paper's peak rate, 0.165
per 256 images. Four times that rate (the previous default) left the largest
``proxylessnas_micro`` network at chance (10% train accuracy after 200 of 300
steps, measured); 0.165 reached 24.5% test accuracy in 300 steps and 0.04 only
20.5%. Measured with ``benchmarks/shapes_capacity_gap.py`` (2 shared cores, load
7.5): the smallest network (0.41 M MACs) reaches 37.7% test accuracy in 72 s, the
largest (5.59 M MACs) 39.2% in 528 s: both are still learning at the end, so this
budget ranks architectures only weakly; give more ``--config.epochs`` for that.
"""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes", cache=True, resolution=32, min_crop_area=0.35),
        optim=OptimConfig(lr_per_256=0.165, warmup_fraction=0.05),
        space="proxylessnas_micro", epochs=2.0, per_device_batch=64, dropout=0.0,
        log_every=50, checkpoint_every=200)
