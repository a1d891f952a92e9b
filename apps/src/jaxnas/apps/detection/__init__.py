"""Detection for the apps: the built-in shapes detection dataset and the TFDS input pipeline."""

from jaxnas.apps.detection._data import BUILTIN_DETECTION
from jaxnas.apps.detection._data import DetectionData
from jaxnas.apps.detection._data import DetectionPreprocess
from jaxnas.apps.detection._data import DetectionStream
from jaxnas.apps.detection._data import detection_builder
from jaxnas.apps.detection._data import detection_splits
from jaxnas.apps.detection._shapes_detection import CLASS_NAMES
from jaxnas.apps.detection._shapes_detection import render_detection

__all__ = [
    "BUILTIN_DETECTION",
    "CLASS_NAMES",
    "DetectionData",
    "DetectionPreprocess",
    "DetectionStream",
    "detection_builder",
    "detection_splits",
    "render_detection",
]
