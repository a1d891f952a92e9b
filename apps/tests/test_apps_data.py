"""Data: the built-in dataset, the paper's splits, deterministic resumable streams, clear errors."""

import numpy as np
import pytest
from jaxnas.apps.data import ClassificationData, Preprocess, render, resolve_splits


def test_render_is_deterministic_and_class_dependent():
    a = render(0, seed=1, index=5, size=32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, render(0, seed=1, index=5, size=32))
    assert not np.array_equal(a, render(1, seed=1, index=5, size=32))
    with pytest.raises(ValueError, match="label must be in"):
        render(10, 0, 0)


def test_imagenet_splits_follow_the_paper():
    s = resolve_splits("imagenet2012", {"train": 1281167, "validation": 50000})
    assert s == {"train": "train[50046:]", "validation": "train[:50046]", "test": "validation"}
    assert resolve_splits("imagenette", {"train": 9469, "validation": 3925}, 0.2)["test"] == "validation"
    with pytest.raises(ValueError, match="holdout_fraction"):
        resolve_splits("cifar10", {"train": 10, "test": 10}, 1.5)


@pytest.fixture(scope="module")
def tiny(data_dir):
    return ClassificationData("jaxnas_shapes/tiny", data_dir=data_dir, holdout_fraction=0.25, cache=True)


def test_tiny_builtin_dataset_sizes(tiny):
    assert tiny.num_classes == 10
    assert tiny.sizes == {"train": 1500, "validation": 500, "test": 300}


def test_stream_resumes_at_any_step_and_shards_by_process(tiny):
    pre = Preprocess(resolution=24, min_area=0.3)
    full = tiny.stream("train", 128, pre, train=True, seed=3)
    batches = [b for _, b in zip(range(13), full.batches(0))]   # crosses an epoch (11 steps per epoch)
    assert batches[0]["image"].shape == (128, 24, 24, 3) and batches[0]["label"].dtype == np.int32
    assert not np.array_equal(batches[0]["label"], batches[11]["label"])  # a new shuffle each epoch
    resumed = next(full.batches(12))
    np.testing.assert_array_equal(resumed["image"], batches[12]["image"])
    halves = [next(tiny.stream("train", 128, pre, train=True, seed=3, process_index=i, process_count=2).batches(12))
              for i in range(2)]
    np.testing.assert_array_equal(np.concatenate([h["image"] for h in halves]), batches[12]["image"])


def test_eval_pass_visits_every_example_once(tiny):
    stream = tiny.stream("test", 64, Preprocess(resolution=24), train=False)
    batches = list(stream.epoch_batches())
    assert len(batches) == 5 and sum(b["mask"].sum() for b in batches) == 300


def test_missing_and_unknown_datasets_say_what_to_do(data_dir):
    with pytest.raises(FileNotFoundError, match="tfds build cifar10 --data_dir"):
        ClassificationData("cifar10", data_dir=data_dir)
    with pytest.raises(FileNotFoundError, match="downloads/manual"):
        ClassificationData("imagenet2012", data_dir=data_dir)
    with pytest.raises(ValueError, match="unknown TFDS dataset 'no_such_set'"):
        ClassificationData("no_such_set", data_dir=data_dir)
