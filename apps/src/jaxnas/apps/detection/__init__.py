"""Detection for the apps: the built-in shapes detection dataset, the TFDS input pipeline and the
detection search task (SSDLite on the supernet's endpoints, reward = jittable COCO mAP)."""

from jaxnas.apps.detection._data import BUILTIN_DETECTION
from jaxnas.apps.detection._data import DetectionData
from jaxnas.apps.detection._data import DetectionPreprocess
from jaxnas.apps.detection._data import DetectionStream
from jaxnas.apps.detection._data import detection_builder
from jaxnas.apps.detection._data import detection_splits
from jaxnas.apps.detection._shapes_detection import CLASS_NAMES
from jaxnas.apps.detection._shapes_detection import render_detection
from jaxnas.apps.detection._task import BackboneFns
from jaxnas.apps.detection._task import detection_task
from jaxnas.apps.detection._task import supernet_backbone

__all__ = [
    "BUILTIN_DETECTION",
    "BackboneFns",
    "CLASS_NAMES",
    "DetectionData",
    "DetectionPreprocess",
    "DetectionStream",
    "detection_builder",
    "detection_splits",
    "detection_task",
    "render_detection",
    "supernet_backbone",
]
