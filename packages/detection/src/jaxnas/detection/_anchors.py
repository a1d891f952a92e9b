"""SSD multi-scale grid anchors (the TF Object Detection API's ``create_ssd_anchors``).

With L feature maps, scale ``s_i = min_scale + (max_scale - min_scale) i / (L - 1)`` (plus
``s_L = 1``). Every map gets one box per aspect ratio at scale ``s_i`` and one more at the
in-between scale ``sqrt(s_i s_{i+1})`` with aspect ratio 1; the first map gets only three boxes
(``(0.1, 1)``, ``(s_0, 2)``, ``(s_0, 1/2)``), as in SSD. For aspect ratio ``r`` a box has height
``s / sqrt(r)`` and width ``s sqrt(r)``; centres sit on the ``h x w`` grid at ``(i + 0.5) / h``.
Anchors are ordered map by map, then row, column, box (the head's output order) and are in
normalised ``[ymin, xmin, ymax, xmax]`` coordinates, not clipped to the image.

At 320 x 320 the SSDLite maps are 20, 10, 5, 3, 2, 1 and there are
20*20*3 + (10*10 + 5*5 + 3*3 + 2*2 + 1) * 6 = 2,034 anchors.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

DEFAULT_ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def box_specs(
    num_layers: int,
    min_scale: float = 0.2,
    max_scale: float = 0.95,
    aspect_ratios: Sequence[float] = DEFAULT_ASPECT_RATIOS,
    reduce_boxes_in_lowest_layer: bool = True,
) -> list[list[tuple[float, float]]]:
    """The ``(scale, aspect_ratio)`` of every box, per feature map.

    >>> [len(s) for s in box_specs(6)]
    [3, 6, 6, 6, 6, 6]
    >>> box_specs(6)[0]
    [(0.1, 1.0), (0.2, 2.0), (0.2, 0.5)]
    """
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
    if not 0.0 < min_scale <= max_scale <= 1.0:
        raise ValueError(
            f"need 0 < min_scale <= max_scale <= 1, got min_scale={min_scale}, "
            f"max_scale={max_scale} (SSD uses 0.2 and 0.95)."
        )
    if not aspect_ratios or any(r <= 0 for r in aspect_ratios):
        raise ValueError(f"aspect_ratios must be positive numbers, got {tuple(aspect_ratios)}.")
    if num_layers == 1:
        scales = [min_scale, 1.0]
    else:
        step = (max_scale - min_scale) / (num_layers - 1)
        scales = [min_scale + step * i for i in range(num_layers)] + [1.0]
    specs = []
    for i in range(num_layers):
        scale, scale_next = scales[i], scales[i + 1]
        if i == 0 and reduce_boxes_in_lowest_layer:
            specs.append([(0.1, 1.0), (scale, 2.0), (scale, 0.5)])
            continue
        layer = [(scale, float(r)) for r in aspect_ratios]
        layer.append((math.sqrt(scale * scale_next), 1.0))
        specs.append(layer)
    return specs


def ssd_feature_shapes(image_size: int | tuple[int, int], num_extra_layers: int = 4):
    """Feature-map sizes of SSDLite on C4/C5: ``ceil(H/16)``, ``ceil(H/32)``, then halved (ceil).

    >>> ssd_feature_shapes(320)
    [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    """
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    if h < 1 or w < 1:
        raise ValueError(f"image_size must be positive, got {image_size}.")
    shapes = [(-(-h // 16), -(-w // 16))]
    for _ in range(1 + num_extra_layers):
        ph, pw = shapes[-1]
        shapes.append((-(-ph // 2), -(-pw // 2)))
    return shapes


def num_anchors_per_location(num_layers: int = 6, **kwargs) -> list[int]:
    """Boxes per grid cell on each map (3 then 6 for the SSD defaults).

    >>> num_anchors_per_location()
    [3, 6, 6, 6, 6, 6]
    """
    return [len(s) for s in box_specs(num_layers, **kwargs)]


def multiscale_grid_anchors(
    feature_shapes: Sequence[tuple[int, int]],
    image_shape: tuple[int, int] | None = None,
    min_scale: float = 0.2,
    max_scale: float = 0.95,
    aspect_ratios: Sequence[float] = DEFAULT_ASPECT_RATIOS,
    reduce_boxes_in_lowest_layer: bool = True,
) -> np.ndarray:
    """All anchors for the given feature maps.

    Args:
      feature_shapes: ``(h, w)`` of each map, finest first.
      image_shape: ``(H, W)`` of the input; for non-square images box sizes are scaled so that a
        scale is relative to the shorter side (as the TF API does). ``None`` = square.
      min_scale, max_scale, aspect_ratios, reduce_boxes_in_lowest_layer: see :func:`box_specs`.

    Returns:
      ``float32[A, 4]`` anchors ``[ymin, xmin, ymax, xmax]``.

    >>> multiscale_grid_anchors(ssd_feature_shapes(320)).shape
    (2034, 4)
    """
    feature_shapes = [tuple(int(d) for d in s) for s in feature_shapes]
    if not feature_shapes or any(len(s) != 2 or min(s) < 1 for s in feature_shapes):
        raise ValueError(f"feature_shapes must be non-empty (h, w) pairs >= 1, got {feature_shapes}.")
    base_h = base_w = 1.0
    if image_shape is not None:
        im_h, im_w = image_shape
        base_h, base_w = min(im_h, im_w) / im_h, min(im_h, im_w) / im_w
    specs = box_specs(
        len(feature_shapes), min_scale, max_scale, aspect_ratios, reduce_boxes_in_lowest_layer
    )
    out = []
    for (gh, gw), layer in zip(feature_shapes, specs):
        scales = np.array([s for s, _ in layer], np.float64)
        ratio_sqrts = np.sqrt(np.array([r for _, r in layer], np.float64))
        heights = scales / ratio_sqrts * base_h
        widths = scales * ratio_sqrts * base_w
        yc = (np.arange(gh) + 0.5) / gh
        xc = (np.arange(gw) + 0.5) / gw
        yc, xc = np.meshgrid(yc, xc, indexing="ij")  # [gh, gw]
        yc, xc = yc[..., None], xc[..., None]  # [gh, gw, 1] against [n] box sizes
        boxes = np.stack(
            np.broadcast_arrays(yc - heights / 2, xc - widths / 2, yc + heights / 2, xc + widths / 2),
            axis=-1,
        )
        out.append(boxes.reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)
