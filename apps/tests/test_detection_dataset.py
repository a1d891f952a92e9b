"""The built-in detection dataset (tiny config) and the TFDS detection pipeline, incl. coco/2017."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from jaxnas.apps.detection import CLASS_NAMES
from jaxnas.apps.detection import DetectionData
from jaxnas.apps.detection import DetectionPreprocess
from jaxnas.apps.detection import render_detection

TINY = "jaxnas_shapes_detection/tiny"


@pytest.fixture(scope="module")
def tiny(data_dir):
    return DetectionData(TINY, data_dir=data_dir)


def test_render_is_deterministic_and_boxes_are_tight():
    image, boxes, labels = render_detection(3, 5, size=64)
    again = render_detection(3, 5, size=64)
    assert (image == again[0]).all() and (boxes == again[1]).all() and (labels == again[2]).all()
    assert image.dtype == np.uint8 and image.shape == (64, 64, 3)
    assert len(labels) >= 1 and set(labels.tolist()) <= set(range(len(CLASS_NAMES)))
    assert ((boxes >= 0) & (boxes <= 1)).all() and (boxes[:, 2:] > boxes[:, :2]).all()
    assert not (render_detection(3, 6, size=64)[0] == image).all()


def test_render_checks_arguments():
    with pytest.raises(ValueError, match="size must be at least 32"):
        render_detection(0, 0, size=16)
    with pytest.raises(ValueError, match="max_objects must be >= 1"):
        render_detection(0, 0, max_objects=0)


def test_tiny_config_is_prepared_with_coco_style_features(tiny):
    assert tiny.num_classes == len(CLASS_NAMES) == 6
    assert tiny.sizes == {"train": 43, "validation": 5, "test": 16, "trainval": 64}
    ex = next(iter(tiny.builder.as_dataset(split="train", shuffle_files=False)))
    image, boxes, labels = render_detection(11, int(ex["image/id"]), size=64)
    np.testing.assert_array_equal(ex["image"].numpy(), image)  # same bytes as the renderer
    np.testing.assert_allclose(ex["objects"]["bbox"].numpy(), boxes)
    np.testing.assert_array_equal(ex["objects"]["label"].numpy(), labels)


def test_train_stream_shapes_determinism_and_resume(tiny):
    pre = DetectionPreprocess(resolution=64, max_boxes=8)
    stream = tiny.stream("train", 8, pre, train=True, seed=3)
    it = stream.batches()
    first, second = next(it), next(it)
    assert first["image"].shape == (8, 64, 64, 3) and first["image"].dtype == np.float32
    assert first["boxes"].shape == (8, 8, 4) and first["labels"].shape == (8, 8)
    assert first["valid"].dtype == bool and first["valid"].any()
    b = first["boxes"][first["valid"]]
    assert ((b >= 0) & (b <= 1)).all() and (b[:, 2:] >= b[:, :2]).all()
    assert not first["boxes"][~first["valid"]].any()  # padding slots are zero
    np.testing.assert_array_equal(next(stream.batches(start_step=1))["image"], second["image"])
    again = tiny.stream("train", 8, pre, train=True, seed=3)
    np.testing.assert_array_equal(next(again.batches())["boxes"], first["boxes"])


def test_eval_pass_visits_every_example_once(tiny):
    stream = tiny.stream("test", 6, DetectionPreprocess(resolution=64, max_boxes=8), train=False)
    batches = list(stream.epoch_batches())
    assert [int(b["mask"].sum()) for b in batches] == [6, 6, 4]
    ids = np.concatenate([b["image_id"][b["mask"] > 0] for b in batches])
    assert sorted(ids.tolist()) == list(range(16))


def test_errors_name_the_fix(tiny, data_dir):
    with pytest.raises(ValueError, match="lower the batch size"):
        tiny.stream("validation", 6, DetectionPreprocess(resolution=64), train=False)
    with pytest.raises(ValueError, match="role must be one of"):
        tiny.decoded("dev")
    with pytest.raises(ValueError, match="unknown TFDS dataset"):
        DetectionData("no_such_dataset_here", data_dir=data_dir)


def _fake_coco(self, split, decoders=None, read_config=None, **kwargs):
    """COCO-shaped examples with consistent objects (the default mock draws each field apart)."""
    del self, split, decoders, read_config, kwargs

    def gen():
        rng = np.random.default_rng(0)
        for i in range(12):
            n = int(rng.integers(0, 5))
            yx = rng.uniform(0, 0.6, (n, 2))
            boxes = np.concatenate([yx, yx + rng.uniform(0.05, 0.4, (n, 2))], 1).astype(np.float32)
            yield {
                "image": rng.integers(0, 255, (48 + i, 64, 3), dtype=np.uint8),
                "image/filename": f"{i:012d}.jpg",
                "image/id": np.int64(1000 + i),
                "objects": {
                    "area": np.full(n, 100, np.int64),
                    "bbox": boxes,
                    "id": np.arange(n, dtype=np.int64),
                    "is_crowd": np.arange(n) == 1,  # the second box of each image is a crowd
                    "label": rng.integers(0, 80, n).astype(np.int64),
                },
            }

    sig = {
        "image": tf.TensorSpec((None, None, 3), tf.uint8),
        "image/filename": tf.TensorSpec((), tf.string),
        "image/id": tf.TensorSpec((), tf.int64),
        "objects": {
            "area": tf.TensorSpec((None,), tf.int64),
            "bbox": tf.TensorSpec((None, 4), tf.float32),
            "id": tf.TensorSpec((None,), tf.int64),
            "is_crowd": tf.TensorSpec((None,), tf.bool),
            "label": tf.TensorSpec((None,), tf.int64),
        },
    }
    return tf.data.Dataset.from_generator(gen, output_signature=sig)


def test_coco_2017_through_tfds_mock_data(tmp_path):
    # The split sizes come from metadata, as they would from a prepared coco/2017.
    builder = tfds.builder("coco/2017", data_dir=str(tmp_path))
    splits = [("train", 40), ("validation", 8), ("test", 8)]
    builder.info.set_splits(
        tfds.core.SplitDict([tfds.core.SplitInfo(name=s, shard_lengths=[n], num_bytes=0) for s, n in splits])
    )
    os.makedirs(builder.data_dir, exist_ok=True)
    builder.info.write_to_directory(builder.data_dir)
    with tfds.testing.mock_data(data_dir=str(tmp_path), as_dataset_fn=_fake_coco):
        data = DetectionData("coco/2017", data_dir=str(tmp_path))
        assert data.num_classes == 80
        assert data.splits == {"train": "train[4:]", "validation": "train[:4]", "test": "validation",
                               "trainval": "train+validation"}
        for train in (True, False):
            stream = data.stream("train", 4, DetectionPreprocess(resolution=32, max_boxes=6), train=train)
            batch = next(stream.batches())
            assert batch["image"].shape == (4, 32, 32, 3)
            assert batch["boxes"].shape == (4, 6, 4)
            assert not (batch["valid"] & batch["crowd"]).any()  # crowd boxes are never targets
        test = data.stream("test", 4, DetectionPreprocess(resolution=32, max_boxes=6), train=False)
        batches = list(test.epoch_batches())
        crowd = np.concatenate([b["crowd"] for b in batches])
        assert crowd[:, 1].any() and not crowd[:, [0, 2, 3]].any()  # box 1 of each image is crowd
        assert batches[0]["image_id"].tolist() == [1000, 1001, 1002, 1003]  # in file order
