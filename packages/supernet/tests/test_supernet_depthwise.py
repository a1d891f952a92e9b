"""The CPU depthwise convolution against lax (values and gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet import depthwise_conv


@pytest.mark.parametrize("size,kernel,stride", [((8, 8), 3, 1), ((7, 9), 5, 2), ((8, 8), 3, 2),
                                                ((9, 9), 7, 1), ((6, 6), 7, 2), ((5, 4), 1, 2)])
def test_shifted_matches_lax_values_and_gradients(size, kernel, stride):
    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (2, *size, 5))
    w = jax.random.normal(kw, (kernel, kernel, 5))

    def loss(impl):
        return lambda x, w: jnp.sum(jnp.sin(depthwise_conv(x, w, stride, impl)))

    # jit: eagerly, each of the K*K taps would be dispatched (and compiled) on its own.
    def conv(impl):
        return jax.jit(lambda x, w: depthwise_conv(x, w, stride, impl))

    np.testing.assert_allclose(conv("shifted")(x, w), conv("lax")(x, w), rtol=1e-5, atol=1e-5)
    got = jax.jit(jax.grad(loss("shifted"), (0, 1)))(x, w)
    want = jax.jit(jax.grad(loss("lax"), (0, 1)))(x, w)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_jit_and_output_shape():
    x = jnp.ones((1, 9, 9, 3))
    y = jax.jit(lambda x: depthwise_conv(x, jnp.ones((3, 3, 3)), 2))(x)
    assert y.shape == (1, 5, 5, 3)


def test_bad_inputs_name_the_culprit():
    with pytest.raises(ValueError, match="kernel has 4 channels but x has 3"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 4)))
    with pytest.raises(ValueError, match="odd size"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((2, 2, 3)))
    with pytest.raises(ValueError, match="implementation"):
        depthwise_conv(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 3)), impl="fast")
