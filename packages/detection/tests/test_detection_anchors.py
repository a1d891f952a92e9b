"""Anchors: the SSDLite layout at 320 x 320, boxes by value, and the argument checks."""

import math

import numpy as np
import pytest

from jaxnas.detection import DetectionModel
from jaxnas.detection import box_specs
from jaxnas.detection import multiscale_grid_anchors
from jaxnas.detection import ssd_feature_shapes


def test_ssdlite_320_has_2034_anchors():
    shapes = ssd_feature_shapes(320)
    assert shapes == [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    anchors = multiscale_grid_anchors(shapes)
    assert anchors.shape == (20 * 20 * 3 + (100 + 25 + 9 + 4 + 1) * 6, 4) == (2034, 4)
    assert anchors.dtype == np.float32
    assert DetectionModel.anchors(320).shape == (2034, 4)


def test_scales_follow_the_tf_api():
    specs = box_specs(6)
    assert specs[0] == [(0.1, 1.0), (0.2, 2.0), (0.2, 0.5)]
    np.testing.assert_allclose([s for s, _ in specs[1]], [0.35] * 5 + [math.sqrt(0.35 * 0.5)])
    np.testing.assert_allclose([r for _, r in specs[3]], [1, 2, 0.5, 3, 1 / 3, 1])
    np.testing.assert_allclose(specs[5][-1][0], math.sqrt(0.95 * 1.0))


def test_boxes_by_value():
    a = multiscale_grid_anchors(ssd_feature_shapes(320)).astype(np.float64)
    # First cell of the 20 x 20 map: centre (0.025, 0.025); (0.1, 1), (0.2, 2), (0.2, 1/2).
    h2, w2 = 0.2 / math.sqrt(2), 0.2 * math.sqrt(2)
    np.testing.assert_allclose(
        a[:3],
        [
            [-0.025, -0.025, 0.075, 0.075],
            [0.025 - h2 / 2, 0.025 - w2 / 2, 0.025 + h2 / 2, 0.025 + w2 / 2],
            [0.025 - w2 / 2, 0.025 - h2 / 2, 0.025 + w2 / 2, 0.025 + h2 / 2],
        ],
        atol=1e-6,
    )
    # Order is row, column, box: anchor 3 is the first box of cell (0, 1), centre x = 0.075.
    np.testing.assert_allclose(a[3], [-0.025, 0.025, 0.075, 0.125], atol=1e-6)
    # First box of the 10 x 10 map: scale 0.35, ratio 1, centre 0.05.
    np.testing.assert_allclose(a[1200], [0.05 - 0.175, 0.05 - 0.175, 0.05 + 0.175, 0.05 + 0.175], atol=1e-6)
    # The 3 x 3 map has centres at 1/6, 1/2, 5/6; its first box has scale 0.65.
    first_3x3 = 1200 + 600 + 150
    np.testing.assert_allclose(a[first_3x3], [1 / 6 - 0.325] * 2 + [1 / 6 + 0.325] * 2, atol=1e-6)
    # The last anchor: the 1 x 1 map's in-between scale sqrt(0.95 * 1).
    s = math.sqrt(0.95)
    np.testing.assert_allclose(a[-1], [0.5 - s / 2, 0.5 - s / 2, 0.5 + s / 2, 0.5 + s / 2], atol=1e-6)


def test_non_square_images_scale_to_the_short_side():
    a = multiscale_grid_anchors([(1, 2)], image_shape=(100, 200), reduce_boxes_in_lowest_layer=False,
                                aspect_ratios=(1.0,))
    h, w = a[0, 2] - a[0, 0], a[0, 3] - a[0, 1]
    np.testing.assert_allclose(w / h, 0.5, rtol=1e-6)  # square in pixels


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_layers=0), "num_layers must be >= 1"),
        (dict(num_layers=6, min_scale=0.9, max_scale=0.5), "min_scale <= max_scale"),
        (dict(num_layers=6, aspect_ratios=(1.0, -2.0)), "aspect_ratios must be positive"),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        box_specs(**kwargs)


def test_bad_feature_shapes_are_refused():
    with pytest.raises(ValueError, match="feature_shapes must be non-empty"):
        multiscale_grid_anchors([(0, 3)])
