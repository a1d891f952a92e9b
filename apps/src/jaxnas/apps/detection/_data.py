"""Detection data through tensorflow-datasets: TFDS ``coco/2017`` or the built-in shapes.

Roles and the TFDS splits behind them (paper appendix E.3):
  * ``train`` (weights) = ``train[held:]``, ``validation`` (the search reward) = the first
    ``holdout_fraction`` (10%) of ``train``, ``test`` = the ``validation`` split (COCO val2017; COCO's
    ``test`` split has no labels, so it is never used).
  * ``trainval`` = ``train+validation`` (COCO train2017 + val2017, for a test-dev style run).

Preprocessing: SSD augmentation for training (with probability 0.625 a random crop of area 0.1-1,
aspect ratio 1/2-2 that covers at least one box by a random minimum overlap in
{0, 0.1, 0.3, 0.5, 0.7, 0.9, 1}, keeping the boxes whose centre lies inside, clipped; then a
horizontal flip with probability 1/2), a plain resize to ``R x R`` (SSD does not keep the aspect
ratio) and the classification app's normalisation. Every random choice is a stateless op seeded
with ``(seed, epoch * size + position)``, so ``batches(start_step=k)`` resumes exactly.

Batches are numpy dicts: ``image float32[B, R, R, 3]``, ``boxes float32[B, G, 4]`` (normalised
``[ymin, xmin, ymax, xmax]``), ``labels int32[B, G]`` (0-based), ``valid bool[B, G]``,
``crowd bool[B, G]`` (COCO ``is_crowd``; excluded from ``valid``), ``image_id int64[B]`` and
``mask float32[B]`` (0 for padding rows of the last eval batch).

Shape letters: ``B`` local batch, ``R`` resolution, ``G`` = ``max_boxes``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np
from jaxnas.apps.data import IMAGENET_MEAN, IMAGENET_STD, resolve_splits
from jaxnas.apps.data._data import (
    _tf,  # TF imported lazily and kept off accelerators
    resumable_batches,
)

BUILTIN_DETECTION = "jaxnas_shapes_detection"
ROLES = ("train", "validation", "test", "trainval")
_CROP_OVERLAPS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def detection_builder(name: str, data_dir: str | None = None):
    """The prepared TFDS builder of ``name``; the built-in dataset is prepared on first use.

    Raises:
      ValueError: unknown name. FileNotFoundError: a download dataset that is not prepared.
    """
    import tensorflow_datasets as tfds

    if name.split("/")[0] == BUILTIN_DETECTION:
        from jaxnas.apps.detection import _shapes_detection as _  # noqa: F401  (registers it)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # tfds raises its own registry errors
        raise ValueError(
            f"unknown TFDS dataset {name!r} ({type(err).__name__}); use 'coco/2017' or the built-in "
            f"'{BUILTIN_DETECTION}' ('{BUILTIN_DETECTION}/320', '{BUILTIN_DETECTION}/tiny')"
        ) from None
    if not builder.is_prepared():
        if name.split("/")[0] == BUILTIN_DETECTION:
            builder.download_and_prepare()
        else:
            where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
            raise FileNotFoundError(
                f"dataset {name!r} is not prepared in data dir {where!r}: run `tfds build {name} "
                f"--data_dir {where}` on a machine with network access and copy {where}/"
                f"{name.split('/')[0]} here, or pass the data dir where it is prepared"
            )
    return builder


def detection_splits(name: str, split_sizes: dict, holdout_fraction: float = 0.1) -> dict:
    """Roles -> TFDS split strings (``test`` is the labelled ``validation`` split).

    >>> detection_splits("coco/2017", {"train": 1000, "validation": 50, "test": 40})
    {'train': 'train[100:]', 'validation': 'train[:100]', 'test': 'validation', 'trainval': 'train+validation'}
    """
    labelled = {k: v for k, v in split_sizes.items() if k != "test"}
    if "validation" not in labelled:
        raise ValueError(f"dataset {name!r} has no labelled 'validation' split (splits: {sorted(split_sizes)})")
    roles = resolve_splits(name, labelled, holdout_fraction)
    return {**roles, "trainval": "train+validation"}


@dataclasses.dataclass(frozen=True)
class DetectionPreprocess:
    """SSD preprocessing settings (see the module docstring)."""

    resolution: int = 320
    max_boxes: int = 100
    crop_probability: float = 0.625
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD

    def train(self, image, boxes, labels, crowd, seed):
        """Random SSD crop, flip, resize; returns ``(image, boxes, labels, crowd)`` unpadded."""
        tf = _tf()
        image = tf.convert_to_tensor(image)
        s = [tf.stack([seed[0], seed[1] * 4 + i]) for i in range(4)]
        overlap = tf.gather(
            tf.constant(_CROP_OVERLAPS),
            tf.random.stateless_uniform([], s[0], 0, len(_CROP_OVERLAPS), dtype=tf.int32),
        )
        begin, size, window = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image), bounding_boxes=tf.reshape(boxes, [1, -1, 4]), seed=s[1],
            min_object_covered=overlap, aspect_ratio_range=(0.5, 2.0), area_range=(0.1, 1.0),
            max_attempts=50, use_image_if_no_bounding_boxes=True,
        )
        do_crop = tf.random.stateless_uniform([], s[2]) < self.crop_probability
        window = tf.where(do_crop, tf.reshape(window, [4]), tf.constant([0.0, 0.0, 1.0, 1.0]))
        shape = tf.shape(image)
        begin = tf.where(do_crop, begin, tf.zeros_like(begin))
        size = tf.where(do_crop, size, tf.stack([shape[0], shape[1], -1]))
        image = tf.slice(image, begin, size)
        hw = tf.tile(window[2:] - window[:2], [2])
        moved = (boxes - tf.tile(window[:2], [2])) / hw
        centre = (moved[:, :2] + moved[:, 2:]) / 2
        keep = tf.reduce_all((centre > 0.0) & (centre < 1.0), axis=1)
        boxes = tf.clip_by_value(tf.boolean_mask(moved, keep), 0.0, 1.0)
        labels, crowd = tf.boolean_mask(labels, keep), tf.boolean_mask(crowd, keep)
        flip = tf.random.stateless_uniform([], s[3]) < 0.5
        image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
        flipped = tf.stack([boxes[:, 0], 1.0 - boxes[:, 3], boxes[:, 2], 1.0 - boxes[:, 1]], axis=1)
        boxes = tf.where(flip, flipped, boxes)
        return self._finish(image), boxes, labels, crowd

    def eval(self, image, boxes, labels, crowd):
        """Resize only."""
        return self._finish(image), boxes, labels, crowd

    def _finish(self, image):
        tf = _tf()
        image = tf.image.resize(image, (self.resolution, self.resolution), method="bilinear")
        return (image - tf.constant(self.mean, tf.float32)) / tf.constant(self.std, tf.float32)

    def pad(self, boxes, labels, crowd):
        """Fixed ``G = max_boxes`` slots with a ``valid`` mask (crowd boxes are not valid)."""
        tf = _tf()
        n = tf.minimum(tf.shape(labels)[0], self.max_boxes)
        extra = self.max_boxes - n
        boxes = tf.pad(boxes[:n], [[0, extra], [0, 0]])
        labels = tf.pad(tf.cast(labels[:n], tf.int32), [[0, extra]])
        crowd = tf.pad(crowd[:n], [[0, extra]])
        valid = (tf.range(self.max_boxes) < n) & ~crowd
        return boxes, labels, valid, crowd


class DetectionData:
    """One TFDS detection dataset with its roles, sizes and batch streams.

    Args:
      name: ``coco/2017``, ``jaxnas_shapes_detection`` (``/320``, ``/tiny``) or any TFDS dataset
        with COCO-style ``image`` and ``objects`` (``bbox``, ``label``, optional ``is_crowd``).
      data_dir: TFDS data dir (default: TFDS's own, ``$TFDS_DATA_DIR``).
      holdout_fraction: share of ``train`` held out for the search reward.
      cache: keep decoded examples in memory (small datasets only).
    """

    def __init__(self, name: str, data_dir: str | None = None, holdout_fraction: float = 0.1,
                 cache: bool = False):
        self.name = name
        self.builder = detection_builder(name, data_dir)
        features = self.builder.info.features
        if "image" not in features or "objects" not in features:
            raise ValueError(
                f"dataset {name!r} is not a detection dataset (needs 'image' and 'objects' features, "
                f"has {sorted(features.keys())})"
            )
        self.class_names = tuple(features["objects"]["label"].names)
        self.num_classes = len(self.class_names)
        self._has_crowd = "is_crowd" in features["objects"]
        self._has_id = "image/id" in features
        sizes = {k: int(v.num_examples) for k, v in self.builder.info.splits.items()}
        self.splits = detection_splits(name, sizes, holdout_fraction)
        self.sizes = {role: int(self.builder.info.splits[split].num_examples)
                      for role, split in self.splits.items()}
        self.cache = cache
        self._base: dict = {}

    def decoded(self, role: str):
        """``tf.data`` of ``(image uint8[H, W, 3], boxes, labels, crowd, image_id)`` in file order."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        if role not in self._base:
            tf = _tf()
            ds = self.builder.as_dataset(split=self.splits[role], shuffle_files=False)

            def parts(ex):
                objects = ex["objects"]
                labels = tf.cast(objects["label"], tf.int32)
                crowd = objects["is_crowd"] if self._has_crowd else tf.zeros_like(labels, tf.bool)
                image_id = tf.cast(ex["image/id"], tf.int64) if self._has_id else tf.constant(-1, tf.int64)
                return ex["image"], tf.cast(objects["bbox"], tf.float32), labels, crowd, image_id

            ds = ds.map(parts)
            self._base[role] = ds.cache() if self.cache else ds
        return self._base[role]

    def stream(self, role: str, global_batch: int, preprocess: DetectionPreprocess, *, train: bool,
               seed: int = 0, process_index: int = 0, process_count: int = 1) -> DetectionStream:
        """A deterministic stream of batches of ``role`` for this process."""
        return DetectionStream(self, role, global_batch, preprocess, train, seed, process_index, process_count)

    def __repr__(self):
        return f"DetectionData({self.name!r}, classes={self.num_classes}, sizes={self.sizes})"


class DetectionStream:
    """Batches of one role: shuffled and augmented every epoch (``train``) or in order (eval)."""

    def __init__(self, data: DetectionData, role: str, global_batch: int, preprocess: DetectionPreprocess,
                 train: bool, seed: int, process_index: int, process_count: int):
        if global_batch <= 0 or global_batch % process_count:
            raise ValueError(f"global batch {global_batch} must be positive and divisible by the "
                             f"{process_count} processes")
        self.data, self.role, self.preprocess, self.train = data, role, preprocess, train
        self.global_batch, self.seed = global_batch, seed
        self.process_index, self.local_batch = process_index, global_batch // process_count
        self.size = data.sizes[role]
        self.steps_per_epoch = self.size // global_batch
        if self.steps_per_epoch == 0:
            raise ValueError(f"the {role} split of {data.name!r} has {self.size} examples, fewer than one "
                             f"global batch of {global_batch}; lower the batch size")
        self._base = data.decoded(role)

    def _mine(self, ds):
        # Contiguous per-process rows of each global batch: row i of batch k is example k*G + i.
        return ds.filter(lambda i, ex: (i % self.global_batch) // self.local_batch == self.process_index)

    def _to_batch(self, image, boxes, labels, crowd, image_id, mask):
        tf = _tf()
        boxes, labels, valid, crowd = self.preprocess.pad(boxes, labels, crowd)
        return {"image": image, "boxes": boxes, "labels": labels, "valid": valid, "crowd": crowd,
                "image_id": image_id, "mask": tf.cast(mask, tf.float32)}

    def _epoch(self, epoch: int, skip_batches: int):
        tf = _tf()
        ds = self._base.shuffle(min(self.size, 50_000), seed=self.seed + epoch, reshuffle_each_iteration=False)
        ds = self._mine(ds.take(self.steps_per_epoch * self.global_batch).enumerate())
        ds = ds.skip(skip_batches * self.local_batch)
        base = tf.constant(self.seed, tf.int64)
        offset = tf.constant(epoch * self.size, tf.int64)
        pre = self.preprocess

        def augment(i, ex):
            image, boxes, labels, crowd, image_id = ex
            if self.train:
                parts = pre.train(image, boxes, labels, crowd, tf.stack([base, offset + i]))
            else:
                parts = pre.eval(image, boxes, labels, crowd)
            return self._to_batch(*parts, image_id, 1.0)

        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.batch(self.local_batch, drop_remainder=True).prefetch(2)

    def batches(self, start_step: int = 0) -> Iterator[dict]:
        """Endless batches from global step ``start_step`` on (numpy dicts)."""
        return resumable_batches(self._epoch, self.steps_per_epoch, start_step)

    def epoch_batches(self) -> Iterator[dict]:
        """One ordered pass (eval): every example once; the last batch padded with ``mask = 0``."""
        pre = self.preprocess
        ds = self._mine(self._base.enumerate())
        ds = ds.map(lambda i, ex: self._to_batch(*pre.eval(*ex[:4]), ex[4], 1.0))
        steps = -(-self.size // self.global_batch)
        count = 0
        for batch in ds.batch(self.local_batch).prefetch(2).as_numpy_iterator():
            count += 1
            yield _pad_rows(batch, self.local_batch)
        for _ in range(steps - count):  # this process ran out before the others: all-masked batches
            yield _pad_rows({k: v[:0] for k, v in batch.items()}, self.local_batch)


def _pad_rows(batch: dict, rows: int) -> dict:
    n = batch["mask"].shape[0]
    if n == rows:
        return batch
    return {k: np.concatenate([v, np.zeros((rows - n,) + v.shape[1:], v.dtype)]) for k, v in batch.items()}
