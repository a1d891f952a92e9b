"""Procedural detection images and the ``jaxnas_shapes_detection`` TFDS dataset (no download).

Every image is a pure function of ``(split seed, index)`` (numpy PCG64, float64 arithmetic), so
two machines prepare the same bytes. An image holds 1 to ``max_objects`` labelled shapes (six
outline classes of the built-in classification renderer: disc, square, triangle, star, ring, plus)
at random sizes (about 14% to 50% of the image side), rotations and colours, over a gradient
background with unlabelled clutter (small discs, thin bars) and Gaussian noise. Objects overlap
little (at most 15% of either's area), boxes are the tight pixel boxes of the shapes, normalised
``[ymin, xmin, ymax, xmax]``. Features follow TFDS ``coco/2017`` (``image``, ``image/id``,
``objects``: ``bbox``, ``label``, ``area``, ``is_crowd``, ``id``), so one input pipeline reads both.

Configs: ``default`` (128 x 128, 4,000 train / 500 validation), ``320`` (320 x 320, same sizes),
``tiny`` (64 x 64, 48 / 16; for tests).

Shape letters: ``S`` image side, ``n`` objects in an image.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

# Reused from the classification renderer: the same outlines, not a fork of them.
from jaxnas.apps.data._shapes import CLASS_NAMES as _ALL_NAMES
from jaxnas.apps.data._shapes import _colour_far_from, _rect_sdf, _shape_sdf

CLASS_NAMES = _ALL_NAMES[:4] + ("ring", "plus")
_CLASS_IDS = tuple(_ALL_NAMES.index(n) for n in CLASS_NAMES)  # renderer label of each class
_SPLIT_SEEDS = {"train": 11, "validation": 12}


def render_detection(seed: int, index: int, size: int = 128, max_objects: int = 5):
    """Renders one detection example.

    Args:
      seed: split seed.
      index: example index; ``(seed, index)`` fixes every random choice.
      size: image side ``S`` (at least 32).
      max_objects: most labelled objects per image.

    Returns:
      ``(image uint8[S, S, 3], boxes float32[n, 4], labels int64[n])``, ``n >= 1``.

    >>> image, boxes, labels = render_detection(1, 0, size=64)
    >>> image.shape, boxes.shape[1], bool((boxes[:, 2:] > boxes[:, :2]).all())
    ((64, 64, 3), 4, True)
    """
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}.")
    if max_objects < 1:
        raise ValueError(f"max_objects must be >= 1, got {max_objects}.")
    rng = np.random.default_rng([seed, index])
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    base = rng.uniform(0.0, 1.0, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((x * np.cos(angle) + y * np.sin(angle)) / size - 0.5)[..., None]
    image = np.clip(base + rng.uniform(-0.6, 0.6, 3) * ramp, 0.0, 1.0)
    mean_bg = image.reshape(-1, 3).mean(axis=0)

    def paint(sdf, colour):
        alpha = np.clip(0.5 - sdf, 0.0, 1.0)[..., None]  # one-pixel anti-aliased edge
        image[...] = image * (1 - alpha) + colour * alpha

    for _ in range(int(rng.integers(4, 11))):  # clutter, not labelled
        cx, cy = rng.uniform(0, size, 2)
        colour = rng.uniform(0.0, 1.0, 3)
        if rng.uniform() < 0.5:
            paint(np.hypot(x - cx, y - cy) - rng.uniform(0.01, 0.035) * size, colour)
        else:
            a = rng.uniform(0, np.pi)
            u = (x - cx) * np.cos(a) + (y - cy) * np.sin(a)
            v = -(x - cx) * np.sin(a) + (y - cy) * np.cos(a)
            paint(_rect_sdf(u, v, rng.uniform(0.05, 0.25) * size, rng.uniform(0.005, 0.015) * size), colour)

    masks, boxes, labels = [], [], []
    want = int(rng.integers(1, max_objects + 1))
    for _ in range(4 * want):
        if len(masks) == want:
            break
        cls = int(rng.integers(len(CLASS_NAMES)))
        radius = rng.uniform(0.07, 0.24) * size
        cx, cy = rng.uniform(radius * 0.8, size - radius * 0.8, 2)
        rot = rng.uniform(0, 2 * np.pi)
        u = (x - cx) * np.cos(rot) + (y - cy) * np.sin(rot)
        v = -(x - cx) * np.sin(rot) + (y - cy) * np.cos(rot)
        sdf = _shape_sdf(_CLASS_IDS[cls], u, v, radius)
        mask = sdf < 0
        area = int(mask.sum())
        if area < 16:
            continue
        if any((mask & m).sum() > 0.15 * min(area, m.sum()) for m in masks):
            continue  # too much overlap: try another placement
        local = image[mask].mean(axis=0)
        paint(sdf, _colour_far_from(rng, (local + mean_bg) / 2))
        rows, cols = np.nonzero(mask)
        masks.append(mask)
        boxes.append([rows.min() / size, cols.min() / size, (rows.max() + 1) / size, (cols.max() + 1) / size])
        labels.append(cls)
    image = image + rng.normal(0.0, rng.uniform(0.02, 0.08), image.shape)
    image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return image, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)


@dataclasses.dataclass
class ShapesDetectionConfig(tfds.core.BuilderConfig):
    """Image side, objects per image and split sizes of one variant."""

    size: int = 128
    max_objects: int = 5
    num_train: int = 4_000
    num_validation: int = 500


class JaxnasShapesDetection(tfds.core.GeneratorBasedBuilder):
    """Shapes with boxes and labels over clutter and noise (built in, deterministic)."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.0.0": "First release.", "1.1.0": "Larger objects, at most 5 per image."}
    BUILDER_CONFIGS = [
        ShapesDetectionConfig(name="default", description="128 x 128, 4000 train / 500 validation"),
        ShapesDetectionConfig(name="320", description="320 x 320, 4000 train / 500 validation", size=320),
        ShapesDetectionConfig(
            name="tiny", description="64 x 64, 48 train / 16 validation (tests)", size=64,
            num_train=48, num_validation=16,
        ),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        size = self.builder_config.size
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 3)),
                    "image/id": np.int64,
                    "objects": tfds.features.Sequence(
                        {
                            "bbox": tfds.features.BBoxFeature(),
                            "label": tfds.features.ClassLabel(names=list(CLASS_NAMES)),
                            "area": np.int64,
                            "is_crowd": np.bool_,
                            "id": np.int64,
                        }
                    ),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        cfg = self.builder_config
        return {
            "train": self._generate_examples("train", cfg.num_train),
            "validation": self._generate_examples("validation", cfg.num_validation),
        }

    def _generate_examples(self, split: str, count: int):
        cfg = self.builder_config
        seed = _SPLIT_SEEDS[split]
        for index in range(count):
            image, boxes, labels = render_detection(seed, index, cfg.size, cfg.max_objects)
            hw = (boxes[:, 2:] - boxes[:, :2]) * cfg.size
            yield index, {
                "image": image,
                "image/id": np.int64(index),
                "objects": {
                    "bbox": boxes,
                    "label": labels,
                    "area": np.round(hw[:, 0] * hw[:, 1]).astype(np.int64),
                    "is_crowd": np.zeros(len(labels), np.bool_),
                    "id": np.arange(len(labels), dtype=np.int64) + index * 100,
                },
            }
