"""Every registered space builds a supernet that traces (shapes only, nothing compiled).

Only the forward pass: the rematerialised backward is exercised on the tiny space, which
has every feature (SE, widths, op choices of layers); tracing it for the big spaces costs
about 10 s each here.
"""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.searchspace import Space, get_space, list_spaces
from jaxnas.supernet import ChildNet, SuperNet

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


def _endpoint_shapes(space, resolution, channels):
    """``{name: (h, w, c)}`` of ``space.feature_maps``, ``channels(WidthRef) -> int``."""
    return {n: (fm.height, fm.width, channels(fm.channels)) for n, fm in space.feature_maps(resolution).items()}


def _runtime_shapes(endpoints):
    return {n: tuple(x.shape[1:]) for n, x in endpoints.items() if n != "pooled"}


@pytest.mark.parametrize("name", list_spaces())
def test_runtime_endpoints_agree_with_feature_maps(name):
    """Supernet and child network take exactly the maps ``Space.feature_maps`` names, in every space."""
    space = get_space(name)
    r = 64
    images = jax.ShapeDtypeStruct((1, r, r, space.input_channels), jnp.float32)
    sup = SuperNet(space, num_classes=10)
    out, _ = jax.eval_shape(lambda p, x, a: sup.apply(p, {}, x, a, jax.random.PRNGKey(0), 1.0, 1.0),
                            sup.params_shape(), images, jax.ShapeDtypeStruct((space.num_decisions,), jnp.int32))
    assert _runtime_shapes(out.endpoints) == _endpoint_shapes(space, r, lambda w: max(w.choices))
    for seed in range(2):  # random architectures, skipped layers included
        arch = space.sample(np.random.default_rng(seed), 1)[0]
        net = hk.transform_with_state(lambda x: ChildNet(space, arch, num_classes=10)(x, False)[1])
        params, state = jax.eval_shape(lambda x: net.init(jax.random.PRNGKey(0), x), images)
        feats, _ = jax.eval_shape(lambda p, s, x: net.apply(p, s, None, x), params, state, images)
        assert _runtime_shapes(feats) == _endpoint_shapes(space, r, lambda w: w.value(lambda d: int(arch[d])))


class _LastMapOfEachStride(Space):
    """The tiny space with another endpoint rule: the last slot of each stride, ignoring ``Endpoint()``."""

    def feature_maps(self, resolution):
        maps = super().feature_maps(resolution)
        last = {}
        for pos in self.positions:
            if pos.kind == "layer":
                last[pos.input_stride * pos.stride] = pos
        return {n: fm._replace(position=last[2 ** int(n[1:])].index, channels=last[2 ** int(n[1:])].out_width)
                for n, fm in maps.items()}


def test_runtime_endpoints_follow_the_space_rule(tiny_space):
    """The networks read the rule from the space (one source), not from a copy of their own."""
    space = _LastMapOfEachStride("tiny_last_map", tiny_space.blocks, tiny_space.filters_base)
    assert space.feature_maps(16)["C3"].channels.choices == (32, 48)  # the 1x1 conv after the marked C3
    assert tiny_space.feature_maps(16)["C3"].channels.choices == (24,)
    images = jax.ShapeDtypeStruct((1, 16, 16, 3), jnp.float32)
    sup = SuperNet(space, num_classes=10)
    out, _ = jax.eval_shape(lambda p, x, a: sup.apply(p, {}, x, a, jax.random.PRNGKey(0), 1.0, 1.0),
                            sup.params_shape(), images, jax.ShapeDtypeStruct((space.num_decisions,), jnp.int32))
    assert out.endpoints["C3"].shape[-1] == 48
    arch = np.zeros(space.num_decisions, np.int32)
    net = hk.transform_with_state(lambda x: ChildNet(space, arch, num_classes=10)(x, False)[1])
    params, state = jax.eval_shape(lambda x: net.init(jax.random.PRNGKey(0), x), images)
    feats, _ = jax.eval_shape(lambda p, s, x: net.apply(p, s, None, x), params, state, images)
    assert feats["C3"].shape[-1] == 32
