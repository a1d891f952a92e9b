"""The detection apps: TuNAS search of an SSDLite detector's backbone and stand-alone training.

Also the built-in shapes detection dataset, the TFDS input pipeline (``coco/2017``) and the
detection search task (SSDLite on the supernet's endpoints, reward = jittable COCO mAP).
"""

from jaxnas.apps.detection._configs import DetectionDataConfig
from jaxnas.apps.detection._configs import DetectionSearchConfig
from jaxnas.apps.detection._configs import DetectionTrainConfig
from jaxnas.apps.detection._configs import SGDConfig
from jaxnas.apps.detection._data import BUILTIN_DETECTION
from jaxnas.apps.detection._data import DetectionData
from jaxnas.apps.detection._data import DetectionPreprocess
from jaxnas.apps.detection._data import DetectionStream
from jaxnas.apps.detection._data import detection_builder
from jaxnas.apps.detection._data import detection_splits
from jaxnas.apps.detection._recipe import build_detection_table
from jaxnas.apps.detection._recipe import detection_facts
from jaxnas.apps.detection._recipe import sgd_optimizer
from jaxnas.apps.detection._recipe import ssdlite_head
from jaxnas.apps.detection._search import search
from jaxnas.apps.detection._shapes_detection import CLASS_NAMES
from jaxnas.apps.detection._summary import DEFAULT_CONFIGS
from jaxnas.apps.detection._summary import summarize_result
from jaxnas.apps.detection._shapes_detection import render_detection
from jaxnas.apps.detection._task import BackboneFns
from jaxnas.apps.detection._task import detection_task
from jaxnas.apps.detection._task import supernet_backbone
from jaxnas.apps.detection._network import detection_network
from jaxnas.apps.detection._train import train

__all__ = [
    "BUILTIN_DETECTION",
    "BackboneFns",
    "CLASS_NAMES",
    "DEFAULT_CONFIGS",
    "DetectionData",
    "DetectionDataConfig",
    "DetectionPreprocess",
    "DetectionSearchConfig",
    "DetectionStream",
    "DetectionTrainConfig",
    "SGDConfig",
    "build_detection_table",
    "detection_builder",
    "detection_facts",
    "detection_network",
    "detection_splits",
    "detection_task",
    "render_detection",
    "search",
    "sgd_optimizer",
    "ssdlite_head",
    "summarize_result",
    "supernet_backbone",
    "train",
]
