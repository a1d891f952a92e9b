"""Jittable, fixed-size, per-class batched non-maximum suppression (SSD post-processing).

Follows the TF API's ``batch_multiclass_non_max_suppression`` with the SSDLite settings: for each
class independently, boxes with score ``> score_threshold`` are visited in descending score order and
a box is kept unless it overlaps an already kept box of that class by IoU ``> iou_threshold`` (0.6),
at most ``max_per_class`` (100) per class; then the kept boxes of all classes are ranked by score
and the best ``max_detections`` (100) returned, padded with ``valid = False``.

To keep shapes static, each class first keeps its ``pre_nms_top_k`` best-scoring boxes; when that is
at least the number of anchors the result is exact greedy NMS. The suppression loop walks the
candidates once, computing one row of IoUs per step, so memory is ``O(B K k)``, not ``O(B K k^2)``.

Shape letters: ``B`` batch, ``A`` boxes (anchors), ``K`` classes, ``D`` detections.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnas.detection._boxes import pairwise_iou


class Detections(NamedTuple):
    """Fixed-size detections.

    Attributes:
      boxes: ``float32[B, D, 4]`` ``[ymin, xmin, ymax, xmax]``.
      scores: ``float32[B, D]``, descending; 0 where not valid.
      classes: ``int32[B, D]`` 0-based class ids.
      valid: ``bool[B, D]``.
    """

    boxes: jax.Array
    scores: jax.Array
    classes: jax.Array
    valid: jax.Array


def batched_nms(
    boxes,
    scores,
    iou_threshold: float = 0.6,
    score_threshold: float = 1e-8,
    max_per_class: int = 100,
    max_detections: int = 100,
    pre_nms_top_k: int = 256,
) -> Detections:
    """Per-class NMS of a batch.

    Args:
      boxes: ``[B, A, 4]`` boxes shared by all classes (decoded anchors).
      scores: ``[B, A, K]`` class scores (background column removed).
      iou_threshold: suppress when IoU with a kept box is greater than this.
      score_threshold: only boxes scoring strictly above this are candidates.
      max_per_class: boxes kept per class at most.
      max_detections: total detections per image returned.
      pre_nms_top_k: candidates per class (clipped to ``A``).

    Returns:
      :class:`Detections` with ``D = max_detections``.

    >>> boxes = jnp.array([[[0, 0, 1, 1], [0, 0.05, 1, 1.05], [2, 2, 3, 3]]], jnp.float32)
    >>> scores = jnp.array([[[0.9], [0.8], [0.7]]])
    >>> d = batched_nms(boxes, scores, max_detections=3)
    >>> print(d.scores, d.valid)
    [[0.9 0.7 0. ]] [[ True  True False]]
    """
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be [B, A, 4], got shape {boxes.shape}.")
    if scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
        raise ValueError(
            f"scores must be [B, A, K] with [B, A] = {boxes.shape[:2]} like boxes, got {scores.shape}."
        )
    if min(max_per_class, max_detections, pre_nms_top_k) < 1:
        raise ValueError("max_per_class, max_detections and pre_nms_top_k must all be >= 1.")
    b, a, k = scores.shape
    top = min(pre_nms_top_k, a)
    # [B, K, top] candidates per class in descending score order (top_k is stable on ties).
    cand_scores, cand_idx = jax.lax.top_k(jnp.swapaxes(scores, 1, 2), top)
    cand_boxes = jax.vmap(lambda bx, idx: bx[idx])(boxes, cand_idx)  # [B, K, top, 4]
    candidate = cand_scores > score_threshold

    def step(i, carry):
        keep, suppressed, count = carry
        keep_i = candidate[..., i] & ~suppressed[..., i] & (count < max_per_class)  # [B, K]
        box_i = jax.lax.dynamic_index_in_dim(cand_boxes, i, axis=2, keepdims=True)
        iou_i = pairwise_iou(box_i, cand_boxes)[..., 0, :]  # [B, K, top]
        later = jnp.arange(top) > i
        suppressed = suppressed | (keep_i[..., None] & (iou_i > iou_threshold) & later)
        keep = keep.at[..., i].set(keep_i)
        return keep, suppressed, count + keep_i

    init = (
        jnp.zeros((b, k, top), bool),
        jnp.zeros((b, k, top), bool),
        jnp.zeros((b, k), jnp.int32),
    )
    keep, _, _ = jax.lax.fori_loop(0, top, step, init)

    flat_scores = jnp.where(keep, cand_scores, -jnp.inf).reshape(b, k * top)
    n_out = min(max_detections, k * top)
    out_scores, flat_idx = jax.lax.top_k(flat_scores, n_out)
    out_boxes = jnp.take_along_axis(cand_boxes.reshape(b, k * top, 4), flat_idx[..., None], axis=1)
    out_classes = (flat_idx // top).astype(jnp.int32)
    valid = jnp.isfinite(out_scores)
    pad = max_detections - n_out
    if pad:
        out_boxes = jnp.pad(out_boxes, ((0, 0), (0, pad), (0, 0)))
        out_scores = jnp.pad(out_scores, ((0, 0), (0, pad)), constant_values=-jnp.inf)
        out_classes = jnp.pad(out_classes, ((0, 0), (0, pad)))
        valid = jnp.pad(valid, ((0, 0), (0, pad)))
    return Detections(
        boxes=jnp.where(valid[..., None], out_boxes, 0.0),
        scores=jnp.where(valid, out_scores, 0.0),
        classes=jnp.where(valid, out_classes, 0),
        valid=valid,
    )
