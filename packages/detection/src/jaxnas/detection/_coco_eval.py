"""Final COCO numbers with pycocotools, from fixed-size batched arrays.

:class:`CocoEvaluator` collects ground truth and detections batch by batch (numpy, host side) and
runs ``COCOeval`` (bbox) once at the end: AP@[.5:.95], AP50, AP75 and AP for small, medium and
large objects (areas in pixels, so give boxes in pixels or pass ``image_sizes``).

Shape letters: ``B`` images, ``N`` detections, ``G`` ground-truth slots.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _to_xywh(boxes):  # [ymin, xmin, ymax, xmax] -> [x, y, w, h]
    return np.stack(
        [boxes[..., 1], boxes[..., 0], boxes[..., 3] - boxes[..., 1], boxes[..., 2] - boxes[..., 0]],
        axis=-1,
    )


class CocoEvaluator:
    """Accumulates a data set batch by batch and evaluates it with pycocotools.

    Args:
      num_classes: classes ``0 .. K-1`` (all listed as COCO categories).

    >>> ev = CocoEvaluator(num_classes=2)
    >>> box = np.array([[[10.0, 10.0, 50.0, 60.0]]])
    >>> one = np.ones((1, 1), bool)
    >>> ev.add(box, np.ones((1, 1)), np.zeros((1, 1), int), one, box, np.zeros((1, 1), int), one)
    >>> round(ev.evaluate()["AP"], 4)
    1.0
    """

    def __init__(self, num_classes: int):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        self.num_classes = num_classes
        self._images: list[dict] = []
        self._gts: list[dict] = []
        self._dets: list[dict] = []

    def add(
        self,
        det_boxes,
        det_scores,
        det_classes,
        det_valid,
        gt_boxes,
        gt_classes,
        gt_valid,
        gt_crowd=None,
        image_sizes=None,
    ) -> None:
        """Adds one batch.

        Args:
          det_boxes: ``[B, N, 4]`` ``[ymin, xmin, ymax, xmax]``.
          det_scores: ``[B, N]``.
          det_classes: ``int[B, N]`` 0-based.
          det_valid: ``bool[B, N]``.
          gt_boxes: ``[B, G, 4]``.
          gt_classes: ``int[B, G]``.
          gt_valid: ``bool[B, G]``.
          gt_crowd: optional ``bool[B, G]`` COCO ``iscrowd`` flags.
          image_sizes: optional ``[B, 2]`` (height, width) in pixels; when given, boxes are taken as
            normalised and scaled to pixels (COCO's small/medium/large areas are in pixels).
        """
        det_boxes, gt_boxes = np.asarray(det_boxes, np.float64), np.asarray(gt_boxes, np.float64)
        det_scores, det_classes = np.asarray(det_scores, np.float64), np.asarray(det_classes)
        det_valid, gt_classes = np.asarray(det_valid, bool), np.asarray(gt_classes)
        gt_valid = np.asarray(gt_valid, bool)
        b = det_boxes.shape[0]
        if det_boxes.ndim != 3 or gt_boxes.ndim != 3 or gt_boxes.shape[0] != b:
            raise ValueError(
                f"det_boxes and gt_boxes must be [B, N, 4] and [B, G, 4] with the same B, got "
                f"{det_boxes.shape} and {gt_boxes.shape}."
            )
        crowd = np.zeros(gt_valid.shape, bool) if gt_crowd is None else np.asarray(gt_crowd, bool)
        if image_sizes is not None:
            hw = np.asarray(image_sizes, np.float64).reshape(b, 1, 2)
            scale = np.concatenate([hw, hw], axis=-1)  # [B, 1, 4]: y, x, y, x
            det_boxes, gt_boxes = det_boxes * scale, gt_boxes * scale
        else:
            hw = np.zeros((b, 1, 2))
        det_xywh, gt_xywh = _to_xywh(det_boxes), _to_xywh(gt_boxes)
        for i in range(b):
            image_id = len(self._images) + 1
            h, w = hw[i, 0]
            self._images.append({"id": image_id, "height": float(h), "width": float(w)})
            for j in np.flatnonzero(gt_valid[i]):
                box = gt_xywh[i, j]
                self._gts.append(
                    {
                        "id": len(self._gts) + 1,
                        "image_id": image_id,
                        "category_id": int(gt_classes[i, j]) + 1,
                        "bbox": box.tolist(),
                        "area": float(box[2] * box[3]),
                        "iscrowd": int(crowd[i, j]),
                    }
                )
            for j in np.flatnonzero(det_valid[i]):
                self._dets.append(
                    {
                        "image_id": image_id,
                        "category_id": int(det_classes[i, j]) + 1,
                        "bbox": det_xywh[i, j].tolist(),
                        "score": float(det_scores[i, j]),
                    }
                )

    def evaluate(self, verbose: bool = False) -> dict[str, float]:
        """Runs COCOeval; returns ``AP, AP50, AP75, APs, APm, APl`` and the ``AR*`` numbers.

        Numbers pycocotools cannot compute (e.g. no ground truth of that size) are -1.
        """
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        if not self._images:
            raise ValueError("CocoEvaluator.evaluate() called before add(): nothing to evaluate.")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            gt = COCO()
            gt.dataset = {
                "images": self._images,
                "annotations": self._gts,
                "categories": [{"id": c + 1, "name": str(c)} for c in range(self.num_classes)],
            }
            gt.createIndex()
            # loadRes refuses an empty list; with no detections every AP is 0 where defined.
            dets = gt.loadRes(self._dets) if self._dets else None
            if dets is None:
                return {k: (0.0 if self._gts else -1.0) for k in STAT_NAMES}
            ev = COCOeval(gt, dets, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        if verbose:
            print(out.getvalue())
        return dict(zip(STAT_NAMES, (float(s) for s in ev.stats)))


def coco_evaluate(
    det_boxes, det_scores, det_classes, det_valid, gt_boxes, gt_classes, gt_valid, num_classes: int
) -> dict[str, float]:
    """pycocotools' numbers for one batch (see :class:`CocoEvaluator` for the arguments)."""
    ev = CocoEvaluator(num_classes)
    ev.add(det_boxes, det_scores, det_classes, det_valid, gt_boxes, gt_classes, gt_valid)
    return ev.evaluate()
