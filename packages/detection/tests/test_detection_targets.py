"""Box coding, IoU, anchor matching on hand-made cases, and the SSD losses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnas.detection import Targets
from jaxnas.detection import assign_targets
from jaxnas.detection import decode_boxes
from jaxnas.detection import encode_boxes
from jaxnas.detection import match_anchors
from jaxnas.detection import pairwise_iou
from jaxnas.detection import sigmoid_focal_loss
from jaxnas.detection import ssd_loss


def test_iou_hand_cases():
    a = jnp.array([[0.0, 0.0, 2.0, 2.0]])
    b = jnp.array([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0], [0, 0, 0, 0]])
    np.testing.assert_allclose(pairwise_iou(a, b)[0], [1 / 7, 1.0, 0.0, 0.0], rtol=1e-6)


def test_encode_decode_round_trip():
    rng = np.random.default_rng(0)
    yx = rng.uniform(0, 1, (50, 2))
    anchors = np.concatenate([yx, yx + rng.uniform(0.05, 0.5, (50, 2))], -1).astype(np.float32)
    yx = rng.uniform(0, 1, (3, 50, 2))
    boxes = np.concatenate([yx, yx + rng.uniform(0.01, 0.6, (3, 50, 2))], -1).astype(np.float32)
    codes = encode_boxes(boxes, anchors)
    np.testing.assert_allclose(decode_boxes(codes, anchors), boxes, atol=1e-5)


def test_encoding_by_value():
    anchor = jnp.array([[0.0, 0.0, 0.2, 0.4]])  # centre (0.1, 0.2), size (0.2, 0.4)
    box = jnp.array([[0.1, 0.0, 0.3, 0.8]])  # centre (0.2, 0.4), size (0.2, 0.8)
    np.testing.assert_allclose(
        encode_boxes(box, anchor)[0], [10 * 0.1 / 0.2, 10 * 0.2 / 0.4, 0.0, 5 * np.log(2.0)], rtol=1e-5, atol=1e-5
    )


def test_bad_scale_factors_are_refused():
    with pytest.raises(ValueError, match="scale_factors must be 4 positive"):
        encode_boxes(jnp.zeros((1, 4)), jnp.ones((1, 4)), (10.0, 10.0, 5.0))


ANCHORS = jnp.array(
    [
        [0.0, 0.0, 0.5, 0.5],  # 0 top-left
        [0.0, 0.5, 0.5, 1.0],  # 1 top-right
        [0.5, 0.0, 1.0, 0.5],  # 2 bottom-left
        [0.5, 0.5, 1.0, 1.0],  # 3 bottom-right
        [0.0, 0.0, 1.0, 1.0],  # 4 whole image
    ]
)


def test_matching_threshold_and_forced_match():
    gt = jnp.array(
        [
            [0.0, 0.0, 0.5, 0.45],  # IoU 0.9 with anchor 0
            [0.5, 0.5, 0.7, 0.7],  # best anchor 3 at IoU 0.16 < 0.5: forced
            [0.0, 0.0, 0.0, 0.0],  # padding
        ]
    )
    match = jax.jit(match_anchors)(ANCHORS, gt, jnp.array([True, True, False]))
    assert match.tolist() == [0, -1, -1, 1, -1]


def test_matching_each_anchor_takes_its_best_box():
    gt = jnp.array([[0.0, 0.0, 0.9, 0.9], [0.0, 0.0, 1.0, 1.0]])
    # Anchor 4 has IoU 0.81 with box 0 and 1.0 with box 1: it goes to box 1; box 0 has no
    # other anchor above 0.5 but its best anchor is 4, so the forced match takes 4 back.
    assert jax.jit(match_anchors)(ANCHORS, gt, jnp.array([True, True])).tolist() == [-1, -1, -1, -1, 0]
    # Without box 0 the whole-image anchor belongs to box 1.
    assert jax.jit(match_anchors)(ANCHORS, gt, jnp.array([False, True])).tolist() == [-1, -1, -1, -1, 1]


def test_no_ground_truth_means_all_background():
    t = jax.jit(assign_targets)(ANCHORS, jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int), jnp.zeros((2, 3), bool))
    assert not t.positive.any() and (t.classes == 0).all() and (t.boxes == 0).all()


def test_assign_targets_encodes_the_matched_box():
    gt = jnp.array([[[0.5, 0.5, 1.0, 0.9]]])
    t = jax.jit(assign_targets)(ANCHORS, gt, jnp.array([[4]]), jnp.array([[True]]))
    assert t.classes[0].tolist() == [0, 0, 0, 5, 0]
    np.testing.assert_allclose(t.boxes[0, 3], encode_boxes(gt[0], ANCHORS[3:4])[0], rtol=1e-6)


def test_assign_targets_shape_checks():
    with pytest.raises(ValueError, match=r"gt_labels .* must both be \[B, G\]"):
        assign_targets(ANCHORS, jnp.zeros((2, 3, 4)), jnp.zeros((2, 4), int), jnp.zeros((2, 3), bool))


def test_focal_loss_matches_the_formula():
    x = jnp.array([-2.0, 0.5, 3.0])
    y = jnp.array([0.0, 1.0, 1.0])
    p = jax.nn.sigmoid(x)
    p_t = np.where(y == 1, p, 1 - p)
    want = np.where(y == 1, 0.75, 0.25) * (1 - p_t) ** 2 * -np.log(p_t)
    np.testing.assert_allclose(sigmoid_focal_loss(x, y), want, rtol=1e-5)


def test_ssd_loss_is_normalised_by_positives():
    targets = Targets(
        boxes=jnp.array([[[1.0, 0, 0, 0], [0, 0, 0, 0]]]),
        classes=jnp.array([[2, 0]]),
        positive=jnp.array([[True, False]]),
        match=jnp.array([[0, -1]]),
    )
    box_preds = jnp.array([[[3.0, 0, 0, 0], [9.0, 9, 9, 9]]])  # the negative's box is ignored
    logits = jnp.zeros((1, 2, 3))
    loss, aux = jax.jit(ssd_loss)(box_preds, logits, targets)
    onehot = jax.nn.one_hot(targets.classes, 3)
    np.testing.assert_allclose(aux["classification"], sigmoid_focal_loss(logits, onehot).sum(), rtol=1e-6)
    np.testing.assert_allclose(aux["localization"], (2.0 - 0.5) / 4, rtol=1e-6)  # smooth L1 / code size
    np.testing.assert_allclose(loss, aux["classification"] + aux["localization"], rtol=1e-6)
    assert int(aux["num_positives"]) == 1


def test_ssd_loss_shape_check():
    t = Targets(jnp.zeros((1, 3, 4)), jnp.zeros((1, 3), int), jnp.zeros((1, 3), bool), jnp.zeros((1, 3), int))
    with pytest.raises(ValueError, match="must agree on \\[B, A\\]"):
        ssd_loss(jnp.zeros((1, 2, 4)), jnp.zeros((1, 2, 3)), t)
