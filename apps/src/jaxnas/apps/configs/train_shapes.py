"""Stand-alone training on the built-in dataset (CPU, minutes).

    jaxnas-train classification --config train_shapes --space proxylessnas_micro --arch A --workdir W

4 epochs (1,350 steps) of 64 images at 32 x 32 px with the paper's peak rate, 0.165
per 256 images. Four times that rate (the previous default) left the largest
``proxylessnas_micro`` network at chance (10% train accuracy after 200 of 300 steps,
measured). Measured with ``benchmarks/shapes_capacity_gap.py`` (2 shared cores):
at 2 epochs the learning curves are still in their steep part and the smallest
(0.41 M MACs) and largest (5.59 M MACs) networks differ by only 1.5 points (37.7%
vs 39.2% test accuracy, load 7.5); at 4 epochs they differ clearly, 72.4% vs 66.4%
(99 s vs 467 s, load 4.1): the deep, wide network learns more slowly at this budget
(it stays near chance for its first ~150 steps), so architecture choice changes
accuracy, but larger is not better here.
"""

from jaxnas.apps.classification import DataConfig, OptimConfig, TrainConfig


def get_config():
    return TrainConfig(
        data=DataConfig(dataset="jaxnas_shapes", cache=True, resolution=32, min_crop_area=0.35),
        optim=OptimConfig(lr_per_256=0.165, warmup_fraction=0.05),
        space="proxylessnas_micro", epochs=4.0, per_device_batch=64, dropout=0.0,
        log_every=50, checkpoint_every=200)
