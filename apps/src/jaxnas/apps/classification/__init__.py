"""The classification apps: TuNAS search, stand-alone training, random-search baseline."""

from jaxnas.apps.classification._configs import DataConfig
from jaxnas.apps.classification._configs import OptimConfig
from jaxnas.apps.classification._configs import RandomConfig
from jaxnas.apps.classification._configs import SearchConfig
from jaxnas.apps.classification._configs import TrainConfig
from jaxnas.apps.classification._configs import default_dropout
from jaxnas.apps.classification._model import SupernetFns
from jaxnas.apps.classification._model import classification_task
from jaxnas.apps.classification._model import cross_entropy
from jaxnas.apps.classification._model import supernet_fns
from jaxnas.apps.classification._random import random_search
from jaxnas.apps.classification._random import sample_in_window
from jaxnas.apps.classification._search import search
from jaxnas.apps.classification._train import train
from jaxnas.apps.classification._summary import DEFAULT_CONFIGS
from jaxnas.apps.classification._summary import summarize_result

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
