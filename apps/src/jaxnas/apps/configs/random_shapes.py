"""Random-search baseline on the built-in dataset: 10 archs within +/-0.05 M MACs of the target (1.5 M).

    jaxnas-random classification --config random_shapes --workdir W

Each architecture is trained with ``train_shapes`` (4 epochs = 1,350 steps). For scale:
300 steps of a network near the target took about 2 minutes each on the shared 2-core
CPU at load 6-8 (benchmarks/small_scale_tunas_vs_random.py); ``--config.train.epochs=2.0``
halves the budget (accuracies are then not comparable with ``train_shapes``).
"""

from jaxnas.apps.classification import RandomConfig
from jaxnas.apps.configs.train_shapes import get_config as train_config


def get_config():
    return RandomConfig(train=train_config(), num_archs=10, target=1.5, window=0.05)
