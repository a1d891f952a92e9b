"""Random-search baseline on the built-in dataset: 10 archs within +/-0.05 M MACs of the target (1.5 M).

    jaxnas-random classification --config random_shapes --workdir W
"""

from jaxnas.apps.classification import RandomConfig
from jaxnas.apps.configs.train_shapes import get_config as train_config


def get_config():
    return RandomConfig(train=train_config(), num_archs=10, target=1.5, window=0.05)
