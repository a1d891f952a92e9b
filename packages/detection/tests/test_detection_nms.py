"""Batched per-class NMS equals a straightforward numpy greedy NMS on random boxes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnas.detection import batched_nms


def numpy_iou(a, b):
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def numpy_nms(boxes, scores, iou_threshold, score_threshold, max_per_class, max_detections):
    """Greedy NMS per class, then the best ``max_detections`` over classes: (score, class, box)."""
    found = []
    for c in range(scores.shape[1]):
        s = scores[:, c]
        kept = []
        for i in np.argsort(-s, kind="stable"):
            if s[i] <= score_threshold or len(kept) == max_per_class:
                break
            if all(numpy_iou(boxes[i], boxes[j]) <= iou_threshold for j in kept):
                kept.append(i)
        found += [(s[i], c, i) for i in kept]
    found.sort(key=lambda t: -t[0])
    return found[:max_detections]


def random_case(seed, b=2, a=120, k=3):
    rng = np.random.default_rng(seed)
    yx = rng.uniform(0, 0.8, (b, a, 2))
    boxes = np.concatenate([yx, yx + rng.uniform(0.05, 0.3, (b, a, 2))], -1).astype(np.float32)
    scores = rng.uniform(0, 1, (b, a, k)).astype(np.float32)
    scores[rng.uniform(size=scores.shape) < 0.2] = 0.0  # some boxes below the score threshold
    return boxes, scores


@pytest.mark.parametrize(
    "max_per_class, max_detections, iou_threshold", [(100, 100, 0.6), (7, 12, 0.3)]
)
def test_equals_numpy_greedy_nms(max_per_class, max_detections, iou_threshold):
    boxes, scores = random_case(0)
    nms = jax.jit(
        lambda b, s: batched_nms(
            b, s, iou_threshold, 1e-8, max_per_class, max_detections, pre_nms_top_k=boxes.shape[1]
        )
    )
    for seed in range(3):
        boxes, scores = random_case(seed)
        got = nms(boxes, scores)
        for i in range(boxes.shape[0]):
            want = numpy_nms(boxes[i], scores[i], iou_threshold, 1e-8, max_per_class, max_detections)
            n = len(want)
            assert int(got.valid[i].sum()) == n
            assert not got.valid[i, n:].any()
            np.testing.assert_allclose(got.scores[i, :n], [w[0] for w in want], rtol=1e-6)
            assert got.classes[i, :n].tolist() == [w[1] for w in want]
            np.testing.assert_allclose(got.boxes[i, :n], boxes[i, [w[2] for w in want]], rtol=1e-6)
            assert (got.scores[i, n:] == 0).all()


def test_pre_nms_top_k_limits_the_candidates():
    boxes, scores = random_case(5, b=1, a=60, k=2)
    got = jax.jit(lambda b, s: batched_nms(b, s, pre_nms_top_k=10))(boxes, scores)
    assert int(got.valid.sum()) <= 20
    top = np.sort(scores[0], axis=0)[-10]  # tenth-best score per class
    for s, c, v in zip(got.scores[0], got.classes[0], got.valid[0]):
        if v:
            assert s >= top[c]


def test_shape_checks():
    with pytest.raises(ValueError, match=r"scores must be \[B, A, K\]"):
        batched_nms(jnp.zeros((1, 5, 4)), jnp.zeros((1, 6, 2)))
    with pytest.raises(ValueError, match=r"boxes must be \[B, A, 4\]"):
        batched_nms(jnp.zeros((5, 4)), jnp.zeros((1, 5, 2)))
