"""The supernet with a fixed architecture equals the child network with inherited weights."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.searchspace import count_params, get_space, reference_arch
from jaxnas.supernet import ChildNet, SuperNet, inherit_weights


def _child_forward(space, arch, params, images, num_classes=5):
    net = hk.transform_with_state(lambda x: ChildNet(space, arch, num_classes)(x, True))
    _, state = jax.eval_shape(lambda x: net.init(jax.random.PRNGKey(0), x), images)
    state = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), state)  # training mode ignores it
    (logits, feats), _ = jax.jit(net.apply)(params, state, None, images)
    return logits, feats


def _check_equal(sup, logits, feats):
    np.testing.assert_allclose(sup.logits, logits, rtol=1e-4, atol=1e-6)
    for name, f in feats.items():
        got = sup.endpoints[name]
        np.testing.assert_allclose(got[..., :f.shape[-1]], f, rtol=1e-4, atol=1e-4)
        assert not np.any(got[..., f.shape[-1]:]), f"{name}: inactive channels must be exactly 0"


@pytest.mark.parametrize("which", ["sampled", "largest"])
def test_supernet_equals_child_with_inherited_weights(tiny, which):
    space = tiny.space
    if which == "sampled":
        arch = space.sample(np.random.default_rng(3), 1)[0]
    else:
        arch = space.num_choices - 1
    # Perturb BN offsets so inactive channels would show if a mask were missing.
    params = jax.tree.map(lambda p: p + 0.1, tiny.params)
    sup = tiny.forward(params, jnp.asarray(arch))
    child = inherit_weights(tiny.net, params, arch, resolution=tiny.images.shape[1])
    _check_equal(sup, *_child_forward(space, arch, child, tiny.images))


def test_without_aggressive_sharing_every_combination_owns_weights(make_tiny):
    t = make_tiny(remat=False, aggressive=False)
    names = set(t.params["supernet/block1_layer1"])
    assert {"k3_e1_expand_w", "k5_e3_expand_w", "k3_e3_dw3_w"} <= names and "expand_w" not in names
    arch = t.space.sample(np.random.default_rng(5), 1)[0]
    sup = t.forward(t.params, jnp.asarray(arch))
    child = inherit_weights(t.net, t.params, arch, resolution=t.images.shape[1])
    _check_equal(sup, *_child_forward(t.space, arch, child, t.images))


def test_inherited_reference_network_has_the_published_param_count():
    space = get_space("proxylessnas")
    arch = space.validate(reference_arch("proxylessnas_mobile"))
    net = SuperNet(space)
    params, _ = net.init(jax.random.PRNGKey(0))
    child = inherit_weights(net, params, arch)
    assert sum(p.size for p in jax.tree.leaves(child)) == int(count_params(space, arch)) == 4080512
