"""COCO evaluation of a stand-alone detector over every process's share of a split.

Each process reads its own rows of every global batch (``DetectionStream`` splits them by
process); the detector runs data parallel on the global batch. Before pycocotools scores them,
the detections and the ground truth of *all* processes are gathered, in the same global row
order, so every process scores the whole split and reports the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from jaxnas.apps import _distributed as dist

# pycocotools' names -> the metrics' names in result.json / metrics.jsonl.
METRICS = {"AP": "map", "AP50": "map50", "AP75": "map75", "APs": "map_small", "APm": "map_medium",
           "APl": "map_large"}
GROUND_TRUTH = ("boxes", "labels", "valid", "crowd", "mask")


def gather_rows(mesh, detections, local: dict) -> tuple[list[np.ndarray], dict]:
    """Every process's rows of one global batch, as numpy on every process, padding dropped.

    Args:
      mesh: the data-parallel mesh the detections were computed on.
      detections: global arrays ``[G, ...]`` (``G`` the global batch, split over ``mesh``).
      local: this process's ground truth, ``[G / processes, ...]`` numpy arrays keyed by
        :data:`GROUND_TRUTH` (``mask`` 0 marks padding rows).

    Returns:
      ``(detections, ground_truth)``: the detections' fields and the ground truth of the real
      rows of all processes, in global row order (the same order for both).
    """
    truth = {k: dist.to_host(v) for k, v in dist.shard_batch(mesh, {k: local[k] for k in GROUND_TRUTH}).items()}
    keep = truth.pop("mask") > 0
    return [dist.to_host(x)[keep] for x in detections], {k: v[keep] for k, v in truth.items()}


def coco_metrics(detect: Callable, batches: Iterable[dict], mesh, num_classes: int, resolution: int) -> dict:
    """``{map, map50, map75, map_small, map_medium, map_large}`` of ``detect`` over ``batches``.

    Args:
      detect: ``images [G, R, R, 3] (global, split over mesh) -> Detections`` (jitted).
      batches: this process's batches (``image`` and :data:`GROUND_TRUTH` keys), one pass.
      mesh: the data-parallel mesh.
      num_classes: object classes.
      resolution: image side (boxes are normalised; pycocotools' areas use it).
    """
    from jaxnas.detection import CocoEvaluator
    evaluator = CocoEvaluator(num_classes)
    for batch in batches:
        det = detect(dist.shard_batch(mesh, {"image": batch["image"]})["image"])
        d, gt = gather_rows(mesh, det, batch)
        evaluator.add(*d, gt["boxes"], gt["labels"], gt["valid"], gt_crowd=gt["crowd"],
                      image_sizes=np.full((len(gt["boxes"]), 2), resolution))
    stats = evaluator.evaluate()
    return {name: float(stats[key]) for key, name in METRICS.items()}
