"""A detection model: any backbone that returns endpoints, plus the SSDLite head.

The backbone is any callable ``backbone(images, is_training=..., **kwargs) -> {'C4': ..., 'C5':
...}`` usable inside a Haiku transform: a jaxnas child network, the supernet (the architecture
passes through ``**kwargs``, so its searched widths flow into the head), or a hand-written net.
:func:`postprocess` turns the raw outputs into fixed-size detections.

Shape letters: ``B`` batch, ``S`` image side, ``A`` anchors, ``K`` classes, ``D`` detections.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from jaxnas.detection._anchors import DEFAULT_ASPECT_RATIOS
from jaxnas.detection._anchors import multiscale_grid_anchors
from jaxnas.detection._anchors import ssd_feature_shapes
from jaxnas.detection._boxes import SCALE_FACTORS
from jaxnas.detection._boxes import decode_boxes
from jaxnas.detection._head import DEFAULT_EXTRA_DEPTHS
from jaxnas.detection._head import SSDLiteHead
from jaxnas.detection._nms import Detections
from jaxnas.detection._nms import batched_nms

Backbone = Callable[..., Mapping[str, jax.Array]]


class DetectionModel(hk.Module):
    """Backbone endpoints -> SSDLite head.

    Args:
      backbone: callable returning a dict with ``'C4'`` (stride 16) and ``'C5'`` (stride 32).
      num_classes: ``K`` object classes.
      extra_depths: SSDLite extra-layer widths.
      depthwise_fn: depthwise kernel of the head (see :class:`SSDLiteHead`).
      name: module name.

    Call with ``(images [B, S, S, 3], is_training, **backbone_kwargs)``; returns
    ``(box_codes [B, A, 4], class_logits [B, A, K + 1])``. :meth:`anchors` gives the matching
    ``[A, 4]`` anchors for an image size.

    >>> def backbone(x, is_training):
    ...     return {"C4": x[:, ::16, ::16], "C5": x[:, ::32, ::32]}
    >>> f = hk.transform_with_state(
    ...     lambda x: DetectionModel(backbone, num_classes=2)(x, is_training=True))
    >>> x = jnp.zeros((1, 64, 64, 3))
    >>> params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), x)
    >>> [a.shape for a in jax.eval_shape(f.apply, params, state, None, x)[0]]
    [(1, 96, 4), (1, 96, 3)]
    >>> DetectionModel.anchors(64).shape
    (96, 4)
    """

    def __init__(
        self,
        backbone: Backbone,
        num_classes: int,
        extra_depths: Sequence[int] = DEFAULT_EXTRA_DEPTHS,
        depthwise_fn: Callable | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not callable(backbone):
            raise TypeError(f"backbone must be callable, got {type(backbone).__name__}.")
        self.backbone = backbone
        self.num_classes = num_classes
        self.extra_depths = tuple(extra_depths)
        self.depthwise_fn = depthwise_fn

    def __call__(self, images, is_training: bool, **backbone_kwargs: Any):
        if images.ndim != 4:
            raise ValueError(f"images must be [B, H, W, C], got shape {images.shape}.")
        endpoints = self.backbone(images, is_training=is_training, **backbone_kwargs)
        if not isinstance(endpoints, Mapping):
            raise TypeError(
                f"the backbone returned {type(endpoints).__name__}, not a dict of endpoints; wrap it "
                "so that it returns {'C4': ..., 'C5': ...}."
            )
        head = SSDLiteHead(
            self.num_classes, self.extra_depths, depthwise_fn=self.depthwise_fn, name="ssdlite"
        )
        return head(endpoints, is_training)

    @staticmethod
    def anchors(
        image_size: int | tuple[int, int],
        num_extra_layers: int = len(DEFAULT_EXTRA_DEPTHS),
        min_scale: float = 0.2,
        max_scale: float = 0.95,
        aspect_ratios: Sequence[float] = DEFAULT_ASPECT_RATIOS,
    ) -> np.ndarray:
        """``float32[A, 4]`` anchors of the SSDLite maps for ``image_size``."""
        shapes = ssd_feature_shapes(image_size, num_extra_layers)
        hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        return multiscale_grid_anchors(shapes, hw, min_scale, max_scale, aspect_ratios)


def decode_predictions(box_codes, class_logits, anchors, scale_factors=SCALE_FACTORS):
    """The head's raw outputs as boxes and per-class scores: everything before NMS.

    Args:
      box_codes: ``[B, A, 4]``.
      class_logits: ``[B, A, K + 1]`` (column 0 is the background).
      anchors: ``[A, 4]``.
      scale_factors: box-coder scale factors.

    Returns:
      ``(boxes [B, A, 4], scores [B, A, K])``: boxes ``[ymin, xmin, ymax, xmax]`` in normalised
      coordinates clipped to ``[0, 1]``; scores the sigmoid of the object classes' logits.

    Raises:
      ValueError: as many anchors as predicted boxes are needed.
    """
    if box_codes.shape[1] != anchors.shape[0]:
        raise ValueError(
            f"the head predicted {box_codes.shape[1]} boxes but there are {anchors.shape[0]} "
            "anchors; build the anchors for the same image size."
        )
    boxes = jnp.clip(decode_boxes(box_codes, jnp.asarray(anchors), scale_factors), 0.0, 1.0)
    return boxes, jax.nn.sigmoid(class_logits[..., 1:])


def postprocess(
    box_codes,
    class_logits,
    anchors,
    iou_threshold: float = 0.6,
    score_threshold: float = 1e-8,
    max_per_class: int = 100,
    max_detections: int = 100,
    pre_nms_top_k: int = 256,
    scale_factors=SCALE_FACTORS,
) -> Detections:
    """:func:`decode_predictions` (boxes, sigmoid without the background column), then per-class NMS.

    Args:
      box_codes: ``[B, A, 4]``.
      class_logits: ``[B, A, K + 1]``.
      anchors: ``[A, 4]``.
      iou_threshold, score_threshold, max_per_class, max_detections, pre_nms_top_k: see
        :func:`batched_nms`.
      scale_factors: box-coder scale factors.

    Returns:
      :class:`Detections`, boxes in normalised coordinates clipped to ``[0, 1]``.
    """
    boxes, scores = decode_predictions(box_codes, class_logits, anchors, scale_factors)
    return batched_nms(
        boxes, scores, iou_threshold, score_threshold, max_per_class, max_detections, pre_nms_top_k
    )
