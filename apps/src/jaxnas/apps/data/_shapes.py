"""Procedural shape images: the renderer behind the built-in ``jaxnas_shapes`` dataset.

Each image is a pure function of ``(seed, index)``: the same call gives the same
pixels on every machine (numpy's PCG64 and float64 arithmetic only). Ten classes,
six told apart by outline and four by outline plus texture, drawn at a random
colour, scale, position and rotation over a cluttered gradient background with
Gaussian noise, so a classifier needs both shape and texture features and a
larger network does measurably better than a small one.

Shape letters: S image side in pixels.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("disc", "square", "triangle", "star", "ring", "plus", "ellipse", "crescent",
               "striped_disc", "checkered_square")
NUM_CLASSES = len(CLASS_NAMES)


def _rect_sdf(u, v, a, b):
    """Signed distance (approximate, pixels) to an axis-aligned rectangle of half sides a, b."""
    return np.maximum(np.abs(u) - a, np.abs(v) - b)


def _polygon_radius(t, radius, sides):
    """Boundary radius of a regular polygon with circumradius ``radius`` at angle ``t``."""
    sector = 2 * np.pi / sides
    return radius * np.cos(np.pi / sides) / np.cos(np.mod(t, sector) - np.pi / sides)


def _shape_sdf(label: int, u, v, radius: float):
    """Signed distance to the outline of class ``label`` in object coordinates (u, v)."""
    r = np.hypot(u, v)
    t = np.arctan2(v, u)
    if label in (0, 8):                        # disc, striped disc
        return r - radius
    if label in (1, 9):                        # square, checkered square
        return _rect_sdf(u, v, 0.8 * radius, 0.8 * radius)
    if label == 2:                             # triangle
        return r - _polygon_radius(t, 1.1 * radius, 3)
    if label == 3:                             # five-pointed star
        return (r - radius * (0.6 + 0.4 * np.cos(5 * t))) * 0.7
    if label == 4:                             # ring
        return np.abs(r - 0.72 * radius) - 0.26 * radius
    if label == 5:                             # plus
        return np.minimum(_rect_sdf(u, v, radius, 0.32 * radius), _rect_sdf(u, v, 0.32 * radius, radius))
    if label == 6:                             # ellipse, axes 1 : 0.5
        return (np.hypot(u / radius, v / (0.5 * radius)) - 1.0) * 0.5 * radius
    if label == 7:                             # crescent: a disc minus a shifted disc
        return np.maximum(r - radius, 0.82 * radius - np.hypot(u - 0.45 * radius, v))
    raise ValueError(f"label must be in [0, {NUM_CLASSES}), got {label}")


def _colour_far_from(rng: np.random.Generator, other: np.ndarray, min_distance: float = 0.45):
    """A random RGB colour in [0, 1] at least ``min_distance`` away from ``other``."""
    for _ in range(64):
        c = rng.uniform(0.0, 1.0, 3)
        if np.linalg.norm(c - other) >= min_distance:
            return c
    return 1.0 - other


def render(label: int, seed: int, index: int, size: int = 64) -> np.ndarray:
    """Renders one image of class ``label``.

    Args:
      label: class index in ``[0, 10)``.
      seed: dataset seed (a split has its own).
      index: example index; ``(seed, index)`` fixes every random choice.
      size: side S of the square image.

    Returns:
      ``uint8[S, S, 3]``.

    >>> a = render(3, seed=1, index=7, size=32)
    >>> a.shape, a.dtype, bool((a == render(3, seed=1, index=7, size=32)).all())
    ((32, 32, 3), dtype('uint8'), True)
    """
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label must be in [0, {NUM_CLASSES}), got {label}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng([seed, index, label])
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    # Background: a colour with a linear gradient of random direction and strength.
    base = rng.uniform(0.0, 1.0, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((x * np.cos(angle) + y * np.sin(angle)) / size - 0.5)[..., None]
    image = np.clip(base + rng.uniform(-0.5, 0.5, 3) * ramp, 0.0, 1.0)
    mean_bg = image.reshape(-1, 3).mean(axis=0)

    def paint(sdf, colour):
        alpha = np.clip(0.5 - sdf, 0.0, 1.0)[..., None]   # one-pixel anti-aliased edge
        image[...] = image * (1 - alpha) + colour * alpha

    # Clutter: small discs and thin bars that overlap the object's area.
    for _ in range(int(rng.integers(1, 6))):
        cx, cy = rng.uniform(0, size, 2)
        colour = rng.uniform(0.0, 1.0, 3)
        if rng.uniform() < 0.5:
            paint(np.hypot(x - cx, y - cy) - rng.uniform(0.02, 0.06) * size, colour)
        else:
            a = rng.uniform(0, np.pi)
            u = (x - cx) * np.cos(a) + (y - cy) * np.sin(a)
            v = -(x - cx) * np.sin(a) + (y - cy) * np.cos(a)
            paint(_rect_sdf(u, v, rng.uniform(0.08, 0.2) * size, rng.uniform(0.01, 0.025) * size), colour)

    # The object: random scale, position, rotation and colour.
    radius = rng.uniform(0.24, 0.4) * size
    cx, cy = rng.uniform(radius, size - radius, 2)
    rot = rng.uniform(0, 2 * np.pi)
    u = (x - cx) * np.cos(rot) + (y - cy) * np.sin(rot)
    v = -(x - cx) * np.sin(rot) + (y - cy) * np.cos(rot)
    colour = _colour_far_from(rng, mean_bg)
    sdf = _shape_sdf(label, u, v, radius)
    if label in (8, 9):
        # Texture classes: a second colour in stripes (8) or a checkerboard (9) inside the outline.
        second = _colour_far_from(rng, colour, 0.35)
        period = radius * rng.uniform(0.35, 0.6)
        if label == 8:
            pattern = np.floor(u / period) % 2 == 0
        else:
            pattern = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
        alpha = np.clip(0.5 - sdf, 0.0, 1.0)[..., None]
        fill = np.where(pattern[..., None], colour, second)
        image = image * (1 - alpha) + fill * alpha
    else:
        paint(sdf, colour)
    # One occluding bar on top of the object in a fifth of the images.
    if rng.uniform() < 0.2:
        a = rng.uniform(0, np.pi)
        u2 = (x - cx) * np.cos(a) + (y - cy) * np.sin(a)
        v2 = -(x - cx) * np.sin(a) + (y - cy) * np.cos(a)
        paint(_rect_sdf(u2 - rng.uniform(-0.5, 0.5) * radius, v2, 0.03 * size, size), rng.uniform(0, 1, 3))
    image = image + rng.normal(0.0, rng.uniform(0.02, 0.08), image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
