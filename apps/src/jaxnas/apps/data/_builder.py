"""The ``jaxnas_shapes`` TFDS dataset: procedural images generated on the spot, no download.

Configs: ``jaxnas_shapes`` (= ``jaxnas_shapes/default``: 64 x 64, 24,000 train and
4,000 test images, about a minute to prepare on one core) and ``jaxnas_shapes/tiny``
(32 x 32, 2,000 train and 300 test, for tests). Every image is a pure function of
``(split seed, index)`` (see ``_shapes.render``), so two machines prepare the same
bytes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds
from jaxnas.apps.data._shapes import CLASS_NAMES, NUM_CLASSES, render

_SPLIT_SEEDS = {"train": 1, "test": 2}


@dataclasses.dataclass
class ShapesConfig(tfds.core.BuilderConfig):
    """Image side and split sizes of one ``jaxnas_shapes`` variant."""

    size: int = 64
    num_train: int = 24_000
    num_test: int = 4_000


class JaxnasShapes(tfds.core.GeneratorBasedBuilder):
    """Ten classes of shapes and textures over clutter and noise (built in, deterministic)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}  # noqa: RUF012  (TFDS reads class attributes)
    BUILDER_CONFIGS = [  # noqa: RUF012
        ShapesConfig(name="default", description="64 x 64, 24k train / 4k test"),
        ShapesConfig(name="tiny", description="32 x 32, 2000 train / 300 test (tests)",
                     size=32, num_train=2_000, num_test=300),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        size = self.builder_config.size
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(size, size, 3)),
                "label": tfds.features.ClassLabel(names=list(CLASS_NAMES)),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        cfg = self.builder_config
        return {"train": self._generate_examples("train", cfg.num_train),
                "test": self._generate_examples("test", cfg.num_test)}

    def _generate_examples(self, split: str, count: int):
        seed = _SPLIT_SEEDS[split]
        size = self.builder_config.size
        for index in range(count):
            label = index % NUM_CLASSES  # balanced; the loader shuffles
            yield index, {"image": render(label, seed, index, size), "label": np.int64(label)}
