"""Shared fixtures of the apps tests: the tiny built-in dataset and a toy network.

The toy network stands in for the supernet where a test checks the loop's
mechanics (resume, sharding) rather than the network: it is cheap, and it still
depends on the architecture and on the warmup probabilities.

Test datasets are prepared once per test session in a fresh temporary folder,
so a fresh machine and a used one test the same data. To reuse them between
runs (faster locally), set ``JAXNAS_TEST_TFDS_DIR``: they are then kept in a
subfolder named by a hash of the dataset builders' source, so a change to a
builder prepares its data again instead of testing yesterday's.
"""

import hashlib
import os
import pathlib

import jax
import jax.numpy as jnp
import pytest
from jaxnas.apps.classification import SupernetFns

BUILDER_SOURCES = ("data/_builder.py", "data/_shapes.py", "detection/_shapes_detection.py")


def toy_model(num_classes: int = 10, width: int = 8) -> SupernetFns:
    def init(key, images):
        k1, k2 = jax.random.split(key)
        return {"conv": jax.random.normal(k1, (3, 3, images.shape[-1], width)) * 0.3,
                "dense": jax.random.normal(k2, (width, num_classes)) * 0.1,
                "bias": jnp.zeros((num_classes,))}

    def apply(params, images, arch, key, op_p, filter_p):
        h = jax.lax.conv_general_dilated(images, params["conv"], (2, 2), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = (h - h.mean((0, 1, 2))) / jnp.sqrt(h.var((0, 1, 2)) + 1e-3)   # batch statistics
        gate = 1.0 + 0.05 * jnp.sum(arch) + 0.1 * op_p + 0.1 * filter_p
        noise = jax.random.uniform(jax.random.wrap_key_data(key), ()) * 0.01
        logits = jnp.mean(jax.nn.relu(h * gate), (1, 2)) @ params["dense"] + params["bias"] + noise
        return logits, jnp.sum(params["conv"] ** 2)

    return SupernetFns(init, apply)


def builders_key() -> str:
    """A hash of the source of the built-in datasets' TFDS builders."""
    import jaxnas.apps
    root = pathlib.Path(jaxnas.apps.__file__).parent
    digest = hashlib.sha256()
    for name in BUILDER_SOURCES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """The TFDS data dir of the tests: per session, or ``$JAXNAS_TEST_TFDS_DIR/<builders' hash>``."""
    shared = os.environ.get("JAXNAS_TEST_TFDS_DIR")
    if not shared:
        return str(tmp_path_factory.mktemp("tfds"))
    path = os.path.join(shared, builders_key())
    os.makedirs(path, exist_ok=True)
    return path
