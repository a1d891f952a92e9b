"""A jittable batch mAP@[.5:.95] that reproduces pycocotools' COCOeval (bbox, area "all", 100 dets).

The search reward needs mAP on one validation batch per step, inside jit. This module computes
exactly what ``COCOeval.evaluate(); accumulate()`` and the first summary number give for the same
detections, treating the batch as the whole data set:

1. per image and class, detections are ranked by score (stable) and cut to ``max_dets``;
2. per IoU threshold ``t``, each detection in score order takes the unmatched ground truth of its
   class with the highest IoU ``>= t`` (ties: the later box, as pycocotools), else it is a false
   positive;
3. per class, detections of all images are ranked by score (stable, image order first), precision
   is made monotone from the right and read at the 101 recall points ``0, 0.01, ..., 1``;
   classes without ground truth are skipped, classes with ground truth but no detection score 0.

Recall points are compared with integer true-positive counts against a table built with the same
float64 divisions pycocotools does, so ``tp / n_gt`` ties with a recall point (``3/100`` against
``0.030000000000000002``) go the same way. Crowd annotations are not modelled: drop them (or use
:class:`CocoEvaluator` for final numbers).

Shape letters: ``B`` images, ``N`` detections per image, ``G`` ground-truth slots, ``K`` classes,
``T`` IoU thresholds, ``R`` recall points, ``M = B N``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxnas.detection._boxes import pairwise_iou

# pycocotools' Params.setDetParams, to the last bit.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)


@functools.lru_cache(maxsize=16)
def _needed_tp_table(max_gt: int) -> np.ndarray:
    """``int32[R, max_gt + 1]``: fewest true positives with ``tp / n >= r`` in float64."""
    n = np.arange(max_gt + 1, dtype=np.float64)
    r = COCO_RECALL_POINTS[:, None]
    guess = np.maximum(np.ceil(r * n) - 1, 0)
    table = np.full((len(COCO_RECALL_POINTS), max_gt + 1), -1.0)
    safe_n = np.maximum(n, 1.0)
    # The float64 product r*n is within an ulp of the true bound: checking guess, +1, +2 is enough.
    for extra in (2, 1, 0):
        tp = guess + extra
        table = np.where((tp <= n) & (tp / safe_n >= r), tp, table)
    table[:, 0] = 0  # classes without ground truth are masked out anyway
    return table.astype(np.int32)


def _check(det_boxes, det_scores, det_classes, det_valid, gt_boxes, gt_classes, gt_valid):
    b, n = det_scores.shape[:2] if det_scores.ndim == 2 else (None, None)
    if det_scores.ndim != 2 or det_boxes.shape != (b, n, 4):
        raise ValueError(
            f"det_boxes must be [B, N, 4] and det_scores [B, N], got {det_boxes.shape} and "
            f"{det_scores.shape}."
        )
    if det_classes.shape != (b, n) or det_valid.shape != (b, n):
        raise ValueError(
            f"det_classes {det_classes.shape} and det_valid {det_valid.shape} must be [B, N] = {(b, n)}."
        )
    if gt_boxes.ndim != 3 or gt_boxes.shape[0] != b or gt_boxes.shape[-1] != 4:
        raise ValueError(f"gt_boxes must be [B, G, 4] with B = {b}, got {gt_boxes.shape}.")
    if gt_classes.shape != gt_boxes.shape[:2] or gt_valid.shape != gt_boxes.shape[:2]:
        raise ValueError(
            f"gt_classes {gt_classes.shape} and gt_valid {gt_valid.shape} must be [B, G] = "
            f"{gt_boxes.shape[:2]}."
        )


def batch_map(
    det_boxes,
    det_scores,
    det_classes,
    det_valid,
    gt_boxes,
    gt_classes,
    gt_valid,
    num_classes: int,
    max_dets: int = 100,
):
    """COCO box AP of one batch, jittable (``num_classes`` and ``max_dets`` static).

    Args:
      det_boxes: ``[B, N, 4]`` ``[ymin, xmin, ymax, xmax]`` (same units as ``gt_boxes``).
      det_scores: ``[B, N]``.
      det_classes: ``int[B, N]`` 0-based class ids.
      det_valid: ``bool[B, N]``.
      gt_boxes: ``[B, G, 4]``.
      gt_classes: ``int[B, G]``.
      gt_valid: ``bool[B, G]``.
      num_classes: ``K``; class ids outside ``[0, K)`` are ignored.
      max_dets: detections per image and class considered (COCO: 100).

    Returns:
      Dict of scalars ``map`` (AP@[.5:.95]), ``map50``, ``map75`` and ``ap_per_iou`` ``[T]``;
      -1 when the batch holds no ground truth (as pycocotools).

    >>> box = jnp.array([[[0.0, 0.0, 0.5, 0.5]]])
    >>> one = jnp.ones((1, 1), bool)
    >>> r = batch_map(box, jnp.ones((1, 1)), jnp.zeros((1, 1), int), one,
    ...               box, jnp.zeros((1, 1), int), one, num_classes=1)
    >>> float(r["map"])
    1.0
    """
    _check(det_boxes, det_scores, det_classes, det_valid, gt_boxes, gt_classes, gt_valid)
    b, n = det_scores.shape
    g = gt_boxes.shape[1]
    thresholds = jnp.asarray(COCO_IOU_THRESHOLDS, jnp.float32)
    num_t = thresholds.shape[0]
    det_classes = det_classes.astype(jnp.int32)
    gt_classes = gt_classes.astype(jnp.int32)
    det_valid = det_valid & (det_classes >= 0) & (det_classes < num_classes)
    gt_valid = gt_valid & (gt_classes >= 0) & (gt_classes < num_classes)

    # 1. Per image: score order (stable), then the max_dets cut per class.
    key = jnp.where(det_valid, -det_scores, jnp.inf)
    order = jnp.argsort(key, axis=1, stable=True)
    take = functools.partial(jnp.take_along_axis, indices=order, axis=1)
    boxes = jnp.take_along_axis(det_boxes, order[..., None], axis=1)
    scores, classes, valid = take(det_scores), take(det_classes), take(det_valid)
    same = (classes[:, :, None] == classes[:, None, :]) & valid[:, None, :]  # [B, N(i), N(j)]
    earlier = jnp.arange(n)[None, :] < jnp.arange(n)[:, None]  # j before i
    rank = jnp.sum(same & earlier, axis=2)
    valid = valid & (rank < max_dets)

    # 2. Greedy matching, all thresholds at once, detections in score order.
    iou = pairwise_iou(boxes, gt_boxes)  # [B, N, G]
    ok_pair = (classes[:, :, None] == gt_classes[:, None, :]) & gt_valid[:, None, :] & valid[..., None]
    iou = jnp.where(ok_pair, iou, -1.0)

    def match_one(matched, iou_d):  # matched [B, T, G], iou_d [B, G]
        cand = (iou_d[:, None, :] >= thresholds[None, :, None]) & ~matched
        masked = jnp.where(cand, iou_d[:, None, :], -jnp.inf)
        best = g - 1 - jnp.argmax(masked[..., ::-1], axis=-1)  # ties -> the later box
        tp = jnp.any(cand, axis=-1)  # [B, T]
        matched = matched | (jax.nn.one_hot(best, g, dtype=bool) & tp[..., None])
        return matched, tp

    _, tp = jax.lax.scan(match_one, jnp.zeros((b, num_t, g), bool), jnp.swapaxes(iou, 0, 1))
    tp = jnp.moveaxis(tp, 0, -1)  # [B, T, N]

    # 3. Per class over the batch: stable sort by score with image order first.
    flat_key = jnp.where(valid, -scores, jnp.inf).reshape(b * n)
    gorder = jnp.argsort(flat_key, stable=True)
    tp_sorted = jnp.swapaxes(tp, 0, 1).reshape(num_t, b * n)[:, gorder]  # [T, M]
    cls_sorted = classes.reshape(b * n)[gorder]
    valid_sorted = valid.reshape(b * n)[gorder]
    n_gt = jnp.sum(
        jax.nn.one_hot(gt_classes, num_classes, dtype=jnp.int32) * gt_valid[..., None], axis=(0, 1)
    )  # [K]
    needed = jnp.asarray(_needed_tp_table(b * g))  # [R, B G + 1]

    def class_ap(c, n_gt_c):
        mask = valid_sorted & (cls_sorted == c)  # [M]
        tpc = jnp.cumsum(tp_sorted & mask, axis=-1, dtype=jnp.int32)  # [T, M]
        fpc = jnp.cumsum(~tp_sorted & mask, axis=-1, dtype=jnp.int32)
        prec = jnp.where(mask, tpc / jnp.maximum(tpc + fpc, 1), 0.0)
        prec = jax.lax.cummax(prec, axis=1, reverse=True)
        prec = jnp.pad(prec, ((0, 0), (0, 1)))  # reading past the end gives 0
        need = needed[:, n_gt_c]  # [R]
        idx = jax.vmap(lambda row: jnp.searchsorted(row, need, side="left"))(tpc)  # [T, R]
        return jnp.mean(jnp.take_along_axis(prec, idx, axis=1), axis=1)  # [T]

    ap = jax.vmap(class_ap)(jnp.arange(num_classes), n_gt)  # [K, T]
    has_gt = n_gt > 0
    count = jnp.sum(has_gt)
    ap_per_iou = jnp.where(
        count > 0, jnp.sum(jnp.where(has_gt[:, None], ap, 0.0), axis=0) / jnp.maximum(count, 1), -1.0
    )
    return {
        "map": jnp.mean(ap_per_iou),
        "map50": ap_per_iou[0],
        "map75": ap_per_iou[5],
        "ap_per_iou": ap_per_iou,
    }
