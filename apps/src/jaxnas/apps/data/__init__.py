"""Data for the apps: TFDS classification datasets and the built-in ``jaxnas_shapes``."""

from jaxnas.apps.data._data import (
    BUILTIN,
    IMAGENET_MEAN,
    IMAGENET_STD,
    IMAGENET_VALIDATION_SIZE,
    ClassificationData,
    Preprocess,
    Stream,
    resolve_splits,
)
from jaxnas.apps.data._shapes import CLASS_NAMES, render

__all__ = [
    "BUILTIN",
    "CLASS_NAMES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGENET_VALIDATION_SIZE",
    "ClassificationData",
    "Preprocess",
    "Stream",
    "render",
    "resolve_splits",
]
