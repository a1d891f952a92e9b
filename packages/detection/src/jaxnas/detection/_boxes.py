"""Boxes: pairwise IoU and the SSD centre/size box coder.

Boxes are ``[ymin, xmin, ymax, xmax]`` (the TF Object Detection API's order), in any unit as long
as boxes and anchors share it (anchors are in normalised image coordinates, so targets are too).

Shape letters: ``A`` anchors, ``G`` ground-truth boxes, ``N``/``M`` boxes, ``...`` leading dims.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp

# The TF Object Detection API's FasterRcnnBoxCoder, as configured for SSD(Lite).
SCALE_FACTORS = (10.0, 10.0, 5.0, 5.0)
# Added to heights/widths before division and log, as the TF coder does.
_EPS = 1e-8


def box_area(boxes):
    """Area of ``[..., 4]`` boxes; empty or inverted boxes have area 0.

    >>> float(box_area(jnp.array([0.0, 0.0, 2.0, 3.0])))
    6.0
    """
    h = jnp.maximum(boxes[..., 2] - boxes[..., 0], 0.0)
    w = jnp.maximum(boxes[..., 3] - boxes[..., 1], 0.0)
    return h * w


def pairwise_iou(boxes1, boxes2):
    """Intersection over union of every pair.

    Args:
      boxes1: ``[..., N, 4]``.
      boxes2: ``[..., M, 4]``.

    Returns:
      ``[..., N, M]``; 0 where the union is empty (no NaNs for padding boxes).

    >>> a = jnp.array([[0.0, 0.0, 1.0, 1.0]])
    >>> b = jnp.array([[0.0, 0.5, 1.0, 1.5], [2.0, 2.0, 3.0, 3.0]])
    >>> print(pairwise_iou(a, b))
    [[0.33333334 0.        ]]
    """
    b1 = boxes1[..., :, None, :]
    b2 = boxes2[..., None, :, :]
    ih = jnp.maximum(jnp.minimum(b1[..., 2], b2[..., 2]) - jnp.maximum(b1[..., 0], b2[..., 0]), 0.0)
    iw = jnp.maximum(jnp.minimum(b1[..., 3], b2[..., 3]) - jnp.maximum(b1[..., 1], b2[..., 1]), 0.0)
    inter = ih * iw
    union = box_area(b1) + box_area(b2) - inter
    return jnp.where(union > 0.0, inter / jnp.where(union > 0.0, union, 1.0), 0.0)


def _centre_size(boxes):
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    return boxes[..., 0] + 0.5 * h, boxes[..., 1] + 0.5 * w, h, w


def _check_scales(scale_factors: Sequence[float]):
    if len(scale_factors) != 4 or any(s <= 0 for s in scale_factors):
        raise ValueError(
            f"scale_factors must be 4 positive numbers (y, x, h, w), got {tuple(scale_factors)}; "
            f"SSD uses {SCALE_FACTORS}."
        )


def encode_boxes(boxes, anchors, scale_factors: Sequence[float] = SCALE_FACTORS):
    """Encodes boxes relative to anchors as ``[ty, tx, th, tw]`` (FasterRcnnBoxCoder).

    ``ty = 10 (yc - yc_a) / h_a``, ``th = 5 log(h / h_a)`` (and the same for x, w).

    Args:
      boxes: ``[..., A, 4]`` boxes.
      anchors: ``[A, 4]`` anchors (broadcast against ``boxes``).
      scale_factors: ``(y, x, h, w)`` multipliers.

    Returns:
      ``[..., A, 4]`` regression targets.

    >>> anchors = jnp.array([[0.0, 0.0, 0.5, 0.5]])
    >>> encode_boxes(anchors, anchors).tolist()
    [[0.0, 0.0, 0.0, 0.0]]
    """
    _check_scales(scale_factors)
    ya, xa, ha, wa = _centre_size(anchors)
    y, x, h, w = _centre_size(boxes)
    ha, wa, h, w = ha + _EPS, wa + _EPS, h + _EPS, w + _EPS
    sy, sx, sh, sw = scale_factors
    return jnp.stack(
        [sy * (y - ya) / ha, sx * (x - xa) / wa, sh * jnp.log(h / ha), sw * jnp.log(w / wa)], axis=-1
    )


def decode_boxes(codes, anchors, scale_factors: Sequence[float] = SCALE_FACTORS):
    """Inverse of :func:`encode_boxes`.

    Args:
      codes: ``[..., A, 4]`` predicted ``[ty, tx, th, tw]``.
      anchors: ``[A, 4]``.
      scale_factors: ``(y, x, h, w)`` multipliers.

    Returns:
      ``[..., A, 4]`` boxes ``[ymin, xmin, ymax, xmax]``.

    >>> anchors = jnp.array([[0.0, 0.0, 0.5, 0.5]])
    >>> decode_boxes(jnp.zeros((1, 4)), anchors).round(6).tolist()
    [[0.0, 0.0, 0.5, 0.5]]
    """
    _check_scales(scale_factors)
    ya, xa, ha, wa = _centre_size(anchors)
    ha, wa = ha + _EPS, wa + _EPS
    sy, sx, sh, sw = scale_factors
    y = codes[..., 0] / sy * ha + ya
    x = codes[..., 1] / sx * wa + xa
    h = jnp.exp(codes[..., 2] / sh) * ha
    w = jnp.exp(codes[..., 3] / sw) * wa
    return jnp.stack([y - 0.5 * h, x - 0.5 * w, y + 0.5 * h, x + 0.5 * w], axis=-1)
