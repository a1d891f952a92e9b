"""Every registered space builds a supernet that traces (shapes only, nothing compiled).

Only the forward pass: the rematerialised backward is exercised on the tiny space, which
has every feature (SE, widths, op choices of layers); tracing it for the big spaces costs
about 10 s each here.
"""

import jax
import jax.numpy as jnp
import pytest
from jaxnas.searchspace import get_space, list_spaces
from jaxnas.supernet import SuperNet

BUILTIN_SPACES = ("proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like", "mobilenet_v2", "mnasnet_b1",
                  "proxylessnas_mobile", "mobilenet_v3_large")


@pytest.mark.parametrize("name", list_spaces())
def test_supernet_of_every_space_traces(name):
    space = get_space(name)
    net = SuperNet(space, num_classes=10)
    images = jax.ShapeDtypeStruct((2, 64, 64, space.input_channels), jnp.float32)
    arch = jax.ShapeDtypeStruct((space.num_decisions,), jnp.int32)
    out, _ = jax.eval_shape(lambda p, x, a: net.apply(p, {}, x, a, jax.random.PRNGKey(0), 1.0, 1.0),
                            net.params_shape(), images, arch)
    assert out.logits.shape == (2, 10) and out.l2_loss.shape == ()
    # Spaces registered by other packages (e.g. the apps' tiny ones) may stop before stride 32.
    if name in BUILTIN_SPACES:
        assert out.endpoints["C4"].shape[1:3] == (4, 4) and out.endpoints["C5"].shape[1:3] == (2, 2)
