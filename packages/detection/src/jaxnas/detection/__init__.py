"""jaxnas.detection: SSDLite head, SSD anchors, box coding, losses, NMS and COCO mAP in JAX.

Independent of the search packages: it consumes backbone feature maps (endpoints ``C4``/``C5``).

>>> from jaxnas.detection import DetectionModel
>>> DetectionModel.anchors(320).shape
(2034, 4)
"""

from jaxnas.detection._anchors import DEFAULT_ASPECT_RATIOS
from jaxnas.detection._anchors import box_specs
from jaxnas.detection._anchors import multiscale_grid_anchors
from jaxnas.detection._anchors import num_anchors_per_location
from jaxnas.detection._anchors import ssd_feature_shapes
from jaxnas.detection._batch_map import COCO_IOU_THRESHOLDS
from jaxnas.detection._batch_map import COCO_RECALL_POINTS
from jaxnas.detection._batch_map import batch_map
from jaxnas.detection._boxes import SCALE_FACTORS
from jaxnas.detection._boxes import box_area
from jaxnas.detection._boxes import decode_boxes
from jaxnas.detection._boxes import encode_boxes
from jaxnas.detection._boxes import pairwise_iou
from jaxnas.detection._coco_eval import CocoEvaluator
from jaxnas.detection._coco_eval import coco_evaluate
from jaxnas.detection._head import CLASS_BIAS_INIT
from jaxnas.detection._head import DEFAULT_EXTRA_DEPTHS
from jaxnas.detection._head import SSDLiteHead
from jaxnas.detection._head_ops import HeadOp
from jaxnas.detection._head_ops import ssdlite_head_ops
from jaxnas.detection._losses import sigmoid_focal_loss
from jaxnas.detection._losses import smooth_l1
from jaxnas.detection._losses import ssd_loss
from jaxnas.detection._matching import Targets
from jaxnas.detection._matching import assign_targets
from jaxnas.detection._matching import match_anchors
from jaxnas.detection._model import DetectionModel
from jaxnas.detection._model import decode_predictions
from jaxnas.detection._model import postprocess
from jaxnas.detection._nms import Detections
from jaxnas.detection._nms import batched_nms
from jaxnas.detection._version import __version__

__all__ = [
    "CLASS_BIAS_INIT",
    "COCO_IOU_THRESHOLDS",
    "COCO_RECALL_POINTS",
    "CocoEvaluator",
    "DEFAULT_ASPECT_RATIOS",
    "DEFAULT_EXTRA_DEPTHS",
    "DetectionModel",
    "Detections",
    "HeadOp",
    "SCALE_FACTORS",
    "SSDLiteHead",
    "Targets",
    "__version__",
    "assign_targets",
    "batch_map",
    "batched_nms",
    "box_area",
    "box_specs",
    "coco_evaluate",
    "decode_boxes",
    "decode_predictions",
    "encode_boxes",
    "match_anchors",
    "multiscale_grid_anchors",
    "num_anchors_per_location",
    "pairwise_iou",
    "postprocess",
    "sigmoid_focal_loss",
    "smooth_l1",
    "ssd_feature_shapes",
    "ssd_loss",
    "ssdlite_head_ops",
]
