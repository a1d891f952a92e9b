"""Anchor matching and SSD training targets (the TF Object Detection API's ArgMaxMatcher).

An anchor is positive when its best IoU with a ground-truth box is at least ``threshold``
(0.5, matched and unmatched thresholds equal, so there is no ignore band), negative otherwise;
then every ground-truth box claims its best anchor even if that IoU is below the threshold
(``force_match_for_each_row``), the first box winning when two claim the same anchor.

Shape letters: ``B`` batch, ``A`` anchors, ``G`` ground-truth slots (padded, with a ``valid`` mask).
Class targets are ``label + 1`` for positives and 0 (background) for negatives.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnas.detection._boxes import SCALE_FACTORS
from jaxnas.detection._boxes import encode_boxes
from jaxnas.detection._boxes import pairwise_iou


class Targets(NamedTuple):
    """Per-anchor training targets.

    Attributes:
      boxes: ``float32[..., A, 4]`` encoded box targets (0 for negatives).
      classes: ``int32[..., A]`` 0 = background, ``label + 1`` otherwise.
      positive: ``bool[..., A]`` matched anchors.
      match: ``int32[..., A]`` index of the matched ground-truth slot, -1 for negatives.
    """

    boxes: jax.Array
    classes: jax.Array
    positive: jax.Array
    match: jax.Array


def match_anchors(anchors, gt_boxes, gt_valid, threshold: float = 0.5):
    """Matches anchors to ground-truth boxes of one image.

    Args:
      anchors: ``[A, 4]``.
      gt_boxes: ``[G, 4]``.
      gt_valid: ``bool[G]``; padding slots never match.
      threshold: minimum IoU for a positive (before forced matches).

    Returns:
      ``int32[A]``: matched ground-truth index or -1.

    >>> anchors = jnp.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    >>> gt = jnp.array([[0.0, 0.0, 0.4, 0.5], [0.0, 0.0, 0.0, 0.0]])
    >>> match_anchors(anchors, gt, jnp.array([True, False])).tolist()
    [0, -1]
    """
    iou = pairwise_iou(gt_boxes, anchors)  # [G, A]
    iou = jnp.where(gt_valid[:, None], iou, -1.0)
    best_gt = jnp.argmax(iou, axis=0)
    best_iou = jnp.max(iou, axis=0)
    match = jnp.where(best_iou >= threshold, best_gt, -1)
    # Forced matches: each valid ground truth takes its best anchor.
    best_anchor = jnp.argmax(iou, axis=1)  # [G]
    forced = jax.nn.one_hot(best_anchor, anchors.shape[0], dtype=jnp.int32) * gt_valid[:, None]
    forced_gt = jnp.argmax(forced, axis=0)  # first ground truth that forces each anchor
    return jnp.where(forced.max(axis=0) > 0, forced_gt, match).astype(jnp.int32)


def assign_targets(
    anchors,
    gt_boxes,
    gt_labels,
    gt_valid,
    threshold: float = 0.5,
    scale_factors=SCALE_FACTORS,
) -> Targets:
    """SSD training targets for a batch.

    Args:
      anchors: ``[A, 4]`` normalised anchors.
      gt_boxes: ``[B, G, 4]`` normalised ground-truth boxes.
      gt_labels: ``int[B, G]`` 0-based class ids.
      gt_valid: ``bool[B, G]``.
      threshold: matching IoU threshold.
      scale_factors: box-coder scale factors.

    Returns:
      :class:`Targets` with a leading ``B`` axis.

    >>> anchors = jnp.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    >>> t = assign_targets(anchors, jnp.array([[[0.5, 0.5, 1.0, 1.0]]]), jnp.array([[2]]),
    ...                    jnp.array([[True]]))
    >>> t.classes.tolist(), t.positive.tolist()
    ([[0, 3]], [[False, True]])
    """
    if gt_boxes.ndim != 3 or gt_boxes.shape[-1] != 4:
        raise ValueError(f"gt_boxes must be [B, G, 4], got shape {gt_boxes.shape}.")
    if gt_labels.shape != gt_boxes.shape[:2] or gt_valid.shape != gt_boxes.shape[:2]:
        raise ValueError(
            f"gt_labels {gt_labels.shape} and gt_valid {gt_valid.shape} must both be [B, G] = "
            f"{gt_boxes.shape[:2]} like gt_boxes."
        )

    def one(boxes, labels, valid):
        match = match_anchors(anchors, boxes, valid, threshold)
        positive = match >= 0
        safe = jnp.maximum(match, 0)
        codes = encode_boxes(boxes[safe], anchors, scale_factors)
        codes = jnp.where(positive[:, None], codes, 0.0)
        classes = jnp.where(positive, labels[safe].astype(jnp.int32) + 1, 0)
        return Targets(codes, classes, positive, match)

    return jax.vmap(one)(gt_boxes, gt_labels, gt_valid)
