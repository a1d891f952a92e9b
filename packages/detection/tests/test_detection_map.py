"""The jittable batch mAP equals pycocotools' COCOeval on the same detections (to 1e-4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnas.detection import CocoEvaluator
from jaxnas.detection import batch_map
from jaxnas.detection import coco_evaluate

jit_map = jax.jit(batch_map, static_argnames=("num_classes", "max_dets"))


def random_boxes(rng, shape, size=100.0):
    yx = rng.uniform(0, size, shape + (2,))
    return np.concatenate([yx, yx + rng.uniform(2, size / 2, shape + (2,))], -1)


def random_case(seed, b=4, n=30, g=8, k=3, score_levels=None):
    """Ground truth plus detections: jittered copies of it (right or wrong class) and noise."""
    rng = np.random.default_rng(seed)
    gt_boxes = random_boxes(rng, (b, g))
    gt_classes = rng.integers(0, k, (b, g))
    gt_valid = rng.random((b, g)) < 0.8
    src = rng.integers(0, g, (b, n))
    det = np.take_along_axis(gt_boxes, src[..., None], 1) + rng.normal(0, 3, (b, n, 4))
    det = np.where(rng.random((b, n, 1)) < 0.3, random_boxes(rng, (b, n)), det)
    det = np.concatenate([np.minimum(det[..., :2], det[..., 2:]), np.maximum(det[..., :2], det[..., 2:])], -1)
    det_classes = np.where(
        rng.random((b, n)) < 0.8, np.take_along_axis(gt_classes, src, 1), rng.integers(0, k, (b, n))
    )
    scores = rng.random((b, n))
    if score_levels:  # many exact ties: the order rules must agree too
        scores = np.round(scores * score_levels) / score_levels
    det_valid = rng.random((b, n)) < 0.9
    return det, scores, det_classes, det_valid, gt_boxes, gt_classes, gt_valid


def check(case, k, **kw):
    want = coco_evaluate(*case, num_classes=k)
    got = jit_map(*(jnp.asarray(x, jnp.float32 if x.dtype == np.float64 else None) for x in case),
                  num_classes=k, **kw)
    np.testing.assert_allclose(float(got["map"]), want["AP"], atol=1e-4)
    np.testing.assert_allclose(float(got["map50"]), want["AP50"], atol=1e-4)
    np.testing.assert_allclose(float(got["map75"]), want["AP75"], atol=1e-4)
    return want


def test_equals_pycocotools_on_random_detections():
    aps = [check(random_case(seed), k=3)["AP"] for seed in range(8)]
    assert 0.03 < min(aps) and max(aps) < 0.6  # neither trivial nor perfect


def test_equals_pycocotools_with_tied_scores_and_classes_without_ground_truth():
    for seed in range(3):
        # 6 classes, ground truth only uses 3 of them: the other 3 must be skipped, as COCOeval does.
        case = list(random_case(seed + 100, k=3, score_levels=4))
        case[2] = np.where(np.random.default_rng(seed).random(case[2].shape) < 0.2, 5, case[2])
        check(tuple(case), k=6)


def test_more_than_max_dets_per_image():
    # 130 detections of one class per image: COCO keeps the best 100.
    check(random_case(7, b=2, n=130, g=20, k=1), k=1)


def test_many_ground_truths_recall_ties():
    # 100 ground truths of one class: tp/100 meets the recall points exactly (3/100 vs 0.03...).
    rng = np.random.default_rng(3)
    gt = random_boxes(rng, (1, 100))
    det = gt + rng.normal(0, 0.5, gt.shape)
    det = np.concatenate([np.minimum(det[..., :2], det[..., 2:]), np.maximum(det[..., :2], det[..., 2:])], -1)
    case = (det, rng.random((1, 100)), np.zeros((1, 100), int), np.ones((1, 100), bool),
            gt, np.zeros((1, 100), int), np.ones((1, 100), bool))
    check(case, k=1)


def test_no_ground_truth_gives_minus_one():
    case = random_case(1)
    empty = (*case[:6], np.zeros_like(case[6]))
    assert float(jit_map(*map(jnp.asarray, empty), num_classes=3)["map"]) == -1.0


def test_shape_checks():
    case = [jnp.asarray(x) for x in random_case(0)]
    case[1] = case[1][:, :5]
    with pytest.raises(ValueError, match=r"det_boxes must be \[B, N, 4\] and det_scores \[B, N\]"):
        batch_map(*case, num_classes=3)


def test_coco_evaluator_reports_size_buckets_in_pixels():
    ev = CocoEvaluator(num_classes=2)
    # One small (20 x 20 px), one large (200 x 200 px) box in a 320 px image; both found.
    gt = np.array([[[0.0, 0.0, 20 / 320, 20 / 320], [0.2, 0.2, 0.825, 0.825]]])
    ev.add(gt, np.array([[0.9, 0.8]]), np.array([[0, 1]]), np.ones((1, 2), bool),
           gt, np.array([[0, 1]]), np.ones((1, 2), bool), image_sizes=[[320, 320]])
    stats = ev.evaluate()
    assert stats["AP"] == pytest.approx(1.0)
    assert stats["APs"] == pytest.approx(1.0) and stats["APl"] == pytest.approx(1.0)
    assert stats["APm"] == -1.0  # no medium objects
    with pytest.raises(ValueError, match="before add"):
        CocoEvaluator(2).evaluate()
