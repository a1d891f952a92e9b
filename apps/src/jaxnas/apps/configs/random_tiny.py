"""Tests: random search of 2 architectures within a MACs window on ``jaxnas_shapes/tiny``."""

import dataclasses

from jaxnas.apps.classification import RandomConfig
from jaxnas.apps.configs.train_tiny import get_config as train_config


def get_config():
    return RandomConfig(train=dataclasses.replace(train_config(), steps=10, export_tflite=False),
                        num_archs=2, target=0.15, window=0.05)
