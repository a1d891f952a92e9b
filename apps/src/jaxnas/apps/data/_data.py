"""Image-classification data through tensorflow-datasets and tf.data.

Any TFDS image-classification dataset by name, the paper's splits, ResNet
preprocessing and a deterministic, resumable batch stream.

Roles and the TFDS splits behind them:
  * ``imagenet2012``: ``train`` (search / stand-alone training) = ``train[50046:]``,
    ``validation`` (reward, model selection) = ``train[:50046]``, ``test`` = the
    official ``validation`` split (TuNAS, paper appendix E).
  * any other dataset: ``validation`` = the first ``holdout_fraction`` of ``train``,
    ``train`` = the rest, ``test`` = ``test`` (or ``validation`` when it has none).

Determinism: a stream is a pure function of ``(seed, step)``. Epoch ``e`` shuffles
with seed ``seed + e``; every random augmentation uses stateless ops seeded with
the example's position, so ``batches(start_step=k)`` continues exactly where an
interrupted run stopped (the data position of a checkpoint is the step).

Shape letters: B local batch (this process), R resolution.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np

IMAGENET_VALIDATION_SIZE = 50_046
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
ROLES = ("train", "validation", "test")
BUILTIN = "jaxnas_shapes"


def _tf():
    """TensorFlow, kept off any accelerator (jax owns those) and imported lazily."""
    import tensorflow as tf
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # already initialised; nothing to do
        pass
    return tf


def resumable_batches(make_epoch, steps_per_epoch: int, start_step: int = 0) -> Iterator[dict]:
    """Endless numpy batches from global step ``start_step``, epoch after epoch.

    ``make_epoch(epoch, skip)`` returns the tf.data pipeline of one epoch with its
    first ``skip`` batches dropped; resuming at any step therefore replays exactly
    the batches an uninterrupted run would have seen (shared by every data stream).
    """
    epoch, within = divmod(int(start_step), steps_per_epoch)
    while True:
        yield from make_epoch(epoch, within).as_numpy_iterator()
        epoch, within = epoch + 1, 0


def _builder(name: str, data_dir: str | None):
    """The prepared TFDS builder of ``name``; prepares the built-in dataset on first use."""
    import tensorflow_datasets as tfds
    if name.split("/")[0] == BUILTIN:
        from jaxnas.apps.data import _builder as _  # noqa: F401  (registers the builder)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # noqa: BLE001  (tfds raises DatasetNotFoundError and registry errors)
        raise ValueError(f"unknown TFDS dataset {name!r} ({type(err).__name__}: {str(err).splitlines()[0]}); "
                         f"use a TFDS name such as 'cifar10', 'imagenette', 'imagenet2012' or the "
                         f"built-in '{BUILTIN}' / '{BUILTIN}/tiny'") from None
    if not builder.is_prepared():
        if name.split("/")[0] == BUILTIN:
            builder.download_and_prepare()
        else:
            where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
            how = (f"put ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in {where}/downloads/manual and run "
                   f"`tfds build imagenet2012 --data_dir {where}`" if name.startswith("imagenet2012")
                   else f"run `tfds build {name} --data_dir {where}` on a machine with network access "
                        f"and copy {where}/{name.split('/')[0]} here")
            raise FileNotFoundError(f"dataset {name!r} is not prepared in data dir {where!r}: {how}; "
                                    f"or pass --config.data_dir=DIR where it is prepared")
    return builder


def resolve_splits(name: str, split_sizes: dict, holdout_fraction: float = 0.1) -> dict:
    """Maps the roles ``train``/``validation``/``test`` to TFDS split strings.

    Args:
      name: dataset name (``imagenet2012`` gets the paper's splits).
      split_sizes: TFDS split name -> number of examples.
      holdout_fraction: share of ``train`` held out as validation (not ImageNet).

    >>> resolve_splits("cifar10", {"train": 50000, "test": 10000}, 0.1)
    {'train': 'train[5000:]', 'validation': 'train[:5000]', 'test': 'test'}
    """
    if "train" not in split_sizes:
        raise ValueError(f"dataset {name!r} has no 'train' split (splits: {sorted(split_sizes)})")
    if name.split("/")[0] == "imagenet2012":
        held = IMAGENET_VALIDATION_SIZE
        test = "validation"
    else:
        if not 0.0 < holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
        held = max(1, round(split_sizes["train"] * holdout_fraction))
        test = "test" if "test" in split_sizes else ("validation" if "validation" in split_sizes else None)
        if test is None:
            raise ValueError(f"dataset {name!r} has neither a 'test' nor a 'validation' split")
    return {"train": f"train[{held}:]", "validation": f"train[:{held}]", "test": test}


@dataclasses.dataclass(frozen=True)
class Preprocess:
    """ResNet-style preprocessing settings."""

    resolution: int = 224
    min_area: float = 0.08
    aspect_ratio: tuple = (3 / 4, 4 / 3)
    crop_fraction: float = 0.875
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD

    def train(self, image, seed):
        """Random resized crop (area ``min_area``-1), bicubic resize, flip, normalise."""
        tf = _tf()
        image = tf.convert_to_tensor(image)
        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4]), seed=seed, min_object_covered=0.1,
            aspect_ratio_range=self.aspect_ratio, area_range=(self.min_area, 1.0), max_attempts=10,
            use_image_if_no_bounding_boxes=True)
        image = tf.slice(image, begin, size)
        image = tf.image.resize(image, (self.resolution, self.resolution), method="bicubic")
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
        return self._normalise(image)

    def eval(self, image):
        """Centre crop of ``crop_fraction`` of the shorter side, bicubic resize, normalise."""
        tf = _tf()
        shape = tf.shape(image)
        side = tf.cast(tf.cast(tf.minimum(shape[0], shape[1]), tf.float32) * self.crop_fraction, tf.int32)
        top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
        image = tf.image.crop_to_bounding_box(image, top, left, side, side)
        image = tf.image.resize(image, (self.resolution, self.resolution), method="bicubic")
        return self._normalise(image)

    def _normalise(self, image):
        tf = _tf()
        image = tf.cast(image, tf.float32)
        return (image - tf.constant(self.mean, tf.float32)) / tf.constant(self.std, tf.float32)


class ClassificationData:
    """One TFDS classification dataset with its roles, sizes and batch streams.

    Args:
      name: TFDS name (``cifar10``, ``imagenet2012``, ``jaxnas_shapes/tiny``, ...).
      data_dir: TFDS data dir (default: TFDS's own, ``$TFDS_DATA_DIR``).
      holdout_fraction: validation share of ``train`` for datasets other than ImageNet.
      cache: keep decoded examples in memory (small datasets only).

    Raises:
      ValueError: unknown dataset; FileNotFoundError: not prepared (says how to prepare it).
    """

    def __init__(self, name: str, data_dir: str | None = None, holdout_fraction: float = 0.1,
                 cache: bool = True):
        self.name = name
        self.builder = _builder(name, data_dir)
        info = self.builder.info
        if "image" not in info.features or "label" not in info.features:
            raise ValueError(f"dataset {name!r} is not an image-classification dataset "
                             f"(needs 'image' and 'label' features, has {sorted(info.features.keys())})")
        self.num_classes = int(info.features["label"].num_classes)
        sizes = {k: int(v.num_examples) for k, v in info.splits.items()}
        self.splits = resolve_splits(name, sizes, holdout_fraction)
        self.sizes = {role: int(info.splits[split].num_examples) for role, split in self.splits.items()}
        self.cache = cache
        self._base: dict = {}

    def _decoded(self, role: str):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        if role not in self._base:
            tf = _tf()
            ds = self.builder.as_dataset(split=self.splits[role], shuffle_files=False)
            ds = ds.map(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32)))
            self._base[role] = ds.cache() if self.cache else ds
        return self._base[role]

    def stream(self, role: str, global_batch: int, preprocess: Preprocess, *, train: bool, seed: int = 0,
               process_index: int = 0, process_count: int = 1) -> Stream:
        """A deterministic stream of batches of ``role`` for this process (see ``Stream``)."""
        return Stream(self, role, global_batch, preprocess, train, seed, process_index, process_count)

    def __repr__(self):
        return f"ClassificationData({self.name!r}, classes={self.num_classes}, sizes={self.sizes})"


class Stream:
    """Batches of one role: shuffled every epoch and augmented (``train``) or in order (eval).

    ``batches(start_step)`` yields ``{"image": float32[B, R, R, 3], "label": int32[B]}``
    where ``B = global_batch / process_count`` is this process's share; batch ``k``
    is the same on every run. An eval stream with ``repeat=False`` visits every
    example once in order (``epoch_batches``), padding the last batch with
    ``mask = 0`` rows.
    """

    def __init__(self, data: ClassificationData, role: str, global_batch: int, preprocess: Preprocess,
                 train: bool, seed: int, process_index: int, process_count: int):
        if global_batch <= 0 or global_batch % process_count:
            raise ValueError(f"global batch {global_batch} must be positive and divisible by the "
                             f"{process_count} processes")
        self.data, self.role, self.preprocess, self.train = data, role, preprocess, train
        self.global_batch, self.seed = global_batch, seed
        self.process_index, self.process_count = process_index, process_count
        self.local_batch = global_batch // process_count
        self.size = data.sizes[role]
        self.steps_per_epoch = self.size // global_batch
        if self.steps_per_epoch == 0:
            raise ValueError(f"the {role} split of {data.name!r} has {self.size} examples, fewer than one "
                             f"global batch of {global_batch}; lower the batch size")
        self._base = data._decoded(role)

    def _epoch(self, epoch: int, skip_batches: int):
        tf = _tf()
        ds = self._base.shuffle(min(self.size, 50_000), seed=self.seed + epoch, reshuffle_each_iteration=False)
        ds = ds.take(self.steps_per_epoch * self.global_batch).enumerate()
        # Contiguous per-process rows of each global batch: row i of batch k is example k*G + i.
        ds = ds.filter(lambda i, ex: (i % self.global_batch) // self.local_batch == self.process_index)
        ds = ds.skip(skip_batches * self.local_batch)
        base_seed = tf.constant(self.seed, tf.int64)
        offset = tf.constant(epoch * self.size, tf.int64)
        pre = self.preprocess

        def augment(i, ex):
            image, label = ex
            if self.train:
                image = pre.train(image, tf.stack([base_seed, offset + i]))
            else:
                image = pre.eval(image)
            return {"image": image, "label": label}

        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.batch(self.local_batch, drop_remainder=True).prefetch(2)

    def batches(self, start_step: int = 0) -> Iterator[dict]:
        """Endless batches from global step ``start_step`` on (numpy dicts)."""
        return resumable_batches(self._epoch, self.steps_per_epoch, start_step)

    def epoch_batches(self) -> Iterator[dict]:
        """One ordered pass over the role (eval): every example once, with a ``mask``."""
        tf = _tf()
        pre = self.preprocess
        ds = self._base.enumerate()
        ds = ds.filter(lambda i, ex: (i % self.global_batch) // self.local_batch == self.process_index)
        ds = ds.map(lambda i, ex: {"image": pre.eval(ex[0]), "label": ex[1], "mask": tf.constant(1.0)},
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.padded_batch(self.local_batch).prefetch(2)
        steps = -(-self.size // self.global_batch)
        count = 0
        for batch in ds.as_numpy_iterator():
            count += 1
            yield _pad_to(batch, self.local_batch)
        for _ in range(steps - count):  # this process ran out before the others: all-masked batches
            r = pre.resolution
            yield {"image": np.zeros((self.local_batch, r, r, 3), np.float32),
                   "label": np.zeros((self.local_batch,), np.int32), "mask": np.zeros((self.local_batch,), np.float32)}


def _pad_to(batch: dict, rows: int) -> dict:
    n = batch["label"].shape[0]
    if n == rows:
        return batch
    return {k: np.concatenate([v, np.zeros((rows - n,) + v.shape[1:], v.dtype)]) for k, v in batch.items()}
