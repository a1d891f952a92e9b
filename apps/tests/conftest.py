"""Shared fixtures of the apps tests: the tiny built-in dataset and a toy network.

The toy network stands in for the supernet where a test checks the loop's
mechanics (resume, sharding) rather than the network: it is cheap, and it still
depends on the architecture and on the warmup probabilities.
"""

import os

import jax
import jax.numpy as jnp
import pytest
from jaxnas.apps.classification import SupernetFns

DATA_DIR = os.environ.get("JAXNAS_TEST_TFDS_DIR", "/tmp/jaxnas_test_tfds")


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


@pytest.fixture(scope="session")
def data_dir():
    os.makedirs(DATA_DIR, exist_ok=True)
    return DATA_DIR
