"""The classification apps: TuNAS search, stand-alone training, random-search baseline."""

from jaxnas.apps.classification._configs import (
    DataConfig,
    OptimConfig,
    RandomConfig,
    SearchConfig,
    TrainConfig,
    default_dropout,
)
from jaxnas.apps.classification._model import (
    SupernetFns,
    classification_task,
    cross_entropy,
    supernet_fns,
)
from jaxnas.apps.classification._random import random_search, sample_in_window
from jaxnas.apps.classification._search import search
from jaxnas.apps.classification._summary import DEFAULT_CONFIGS, summarize_result
from jaxnas.apps.classification._train import train

__all__ = [
    "DEFAULT_CONFIGS",
    "DataConfig",
    "OptimConfig",
    "RandomConfig",
    "SearchConfig",
    "SupernetFns",
    "TrainConfig",
    "classification_task",
    "cross_entropy",
    "default_dropout",
    "random_search",
    "sample_in_window",
    "search",
    "summarize_result",
    "supernet_fns",
    "train",
]
