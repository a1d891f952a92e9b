"""The stand-alone child network: parameter counts, shapes, BN state, dropout, errors."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.searchspace import count_params, get_space, reference_arch
from jaxnas.supernet import ChildNet


def _transformed(space, arch, **kw):
    return hk.transform_with_state(lambda x, t: ChildNet(space, arch, **kw)(x, t))


@pytest.mark.parametrize("name,space_name", [("proxylessnas_mobile", "proxylessnas"),
                                             ("mobilenet_v2", "proxylessnas_enlarged"),
                                             ("mnasnet_b1", "proxylessnas_enlarged"),
                                             ("mobilenet_v3_large", "mobilenet_v3_large")])
def test_param_count_equals_searchspace(name, space_name):
    space = get_space(space_name)
    arch = space.validate(reference_arch(name, space_name))
    net = _transformed(space, arch)
    # eval_shape: shapes only, nothing is compiled.
    params, _ = jax.eval_shape(lambda r, x: net.init(r, x, True), jax.random.PRNGKey(0),
                                   jnp.zeros((1, 224, 224, 3)))
    assert sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params)) == int(count_params(space, arch))
    assert all(k.startswith("child/") for k in params)


def test_forward_endpoints_state_and_dropout(tiny_space):
    arch = tiny_space.sample(np.random.default_rng(0), 1)[0]
    net = _transformed(tiny_space, arch, num_classes=7, dropout_rate=0.5)
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 32, 32, 3))
    params, state = jax.jit(net.init, static_argnums=2)(jax.random.PRNGKey(0), x, True)
    train = jax.jit(net.apply, static_argnums=4)
    (logits, feats), new_state = train(params, state, jax.random.PRNGKey(2), x, True)
    assert logits.shape == (4, 7)
    assert feats["C1"].shape[1:3] == (16, 16) and feats["C3"].shape[1:3] == (4, 4)
    assert "C4" not in feats and feats["pooled"].shape == (4, 40)  # the tiny space stops at stride 8
    # Training moves the BN moving averages (decay 0.99); evaluation leaves them alone.
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state, new_state)
    assert any(jax.tree.leaves(moved))
    (eval_logits, _), eval_state = train(params, new_state, None, x, False)
    jax.tree.map(np.testing.assert_array_equal, eval_state, new_state)
    # Dropout differs between rng keys in training and is off in evaluation.
    (other, _), _ = train(params, state, jax.random.PRNGKey(3), x, True)
    assert not np.allclose(logits, other)
    (eval_again, _), _ = train(params, new_state, None, x, False)
    np.testing.assert_array_equal(eval_logits, eval_again)


def test_bad_inputs_name_the_culprit(tiny_space):
    with pytest.raises(ValueError, match="expected 15 decisions, got 2"):
        hk.transform(lambda: ChildNet(tiny_space, [0, 1])).init(None)
    with pytest.raises(ValueError, match="dropout_rate"):
        hk.transform_with_state(lambda x: ChildNet(tiny_space, np.zeros(tiny_space.num_decisions, int),
                                                   dropout_rate=1.5)(x, True)).init(None, jnp.zeros((1, 8, 8, 3)))
    net = _transformed(tiny_space, np.zeros(tiny_space.num_decisions, int))
    with pytest.raises(ValueError, match=r"expected images \[B, H, W, 3\]"):
        net.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8)), True)
