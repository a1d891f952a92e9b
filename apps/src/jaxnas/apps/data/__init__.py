"""Data for the apps: TFDS classification datasets and the built-in ``jaxnas_shapes``."""

from jaxnas.apps.data._data import BUILTIN
from jaxnas.apps.data._data import IMAGENET_MEAN
from jaxnas.apps.data._data import IMAGENET_STD
from jaxnas.apps.data._data import IMAGENET_VALIDATION_SIZE
from jaxnas.apps.data._data import ClassificationData
from jaxnas.apps.data._data import Preprocess
from jaxnas.apps.data._data import Stream
from jaxnas.apps.data._data import resolve_splits
from jaxnas.apps.data._shapes import CLASS_NAMES
from jaxnas.apps.data._shapes import render

__all__ = [
    "BUILTIN",
    "CLASS_NAMES",
    "ClassificationData",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGENET_VALIDATION_SIZE",
    "Preprocess",
    "Stream",
    "render",
    "resolve_splits",
]
