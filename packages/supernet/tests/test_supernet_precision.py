"""Mixed precision: bfloat16 compute with float32 parameters, BN statistics, L2 and logits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet import SuperNet, make_sgd_step, supernet_loss

IMAGES = (4, 16, 16, 3)


@pytest.fixture
def net_of(tiny_space):
    return lambda remat, dtype: SuperNet(tiny_space, num_classes=5, remat=remat, compute_dtype=dtype)


def _loss_and_grads(net, params, images, labels, arch, rng, op_p):
    def f(p):
        loss, out = supernet_loss(net, p, {}, images, labels, arch, rng, op_p, op_p)
        return loss, out
    return jax.jit(jax.value_and_grad(f, has_aux=True))(params)


@pytest.mark.parametrize("remat", [True, False])
def test_bfloat16_compute_keeps_float32_parameters_and_outputs(net_of, remat):
    f32, bf16 = net_of(remat, "float32"), net_of(remat, jnp.bfloat16)
    images = jax.random.normal(jax.random.PRNGKey(0), IMAGES)
    labels = jnp.arange(IMAGES[0]) % 5
    params, _ = f32.init(jax.random.PRNGKey(1))
    arch = jnp.asarray(f32.space.sample(np.random.default_rng(3), 1)[0])
    rng = jax.random.PRNGKey(2)
    for op_p in (0.0, 0.5):  # after and during warmup
        (l32, o32), g32 = _loss_and_grads(f32, params, images, labels, arch, rng, op_p)
        (l16, o16), g16 = _loss_and_grads(bf16, params, images, labels, arch, rng, op_p)
        assert o16.logits.dtype == jnp.float32 and o16.l2_loss.dtype == jnp.float32
        assert o16.endpoints["C1"].dtype == jnp.bfloat16  # feature maps in the compute dtype
        assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(g16))  # float32 master weights
        # Same L2 exactly (float32 parameters); loss and gradients to bfloat16 accuracy.
        assert float(o16.l2_loss) == pytest.approx(float(o32.l2_loss), rel=1e-6)
        assert float(l16) == pytest.approx(float(l32), rel=0.03, abs=0.03)
        flat32, flat16 = (np.concatenate([np.ravel(g) for g in jax.tree.leaves(g)]) for g in (g32, g16))
        cosine = flat32 @ flat16 / (np.linalg.norm(flat32) * np.linalg.norm(flat16))
        assert cosine > 0.98, cosine


def test_bfloat16_trains_like_float32_on_a_short_run(net_of):
    images = jax.random.normal(jax.random.PRNGKey(0), IMAGES)
    labels = jnp.arange(IMAGES[0]) % 5
    archs = net_of(True, "float32").space.sample(np.random.default_rng(0), 30)
    finals = {}
    for dtype in ("float32", "bfloat16"):
        net = net_of(True, dtype)
        params, _ = net.init(jax.random.PRNGKey(1))
        step = jax.jit(make_sgd_step(net, learning_rate=0.2))
        losses = []
        for i, arch in enumerate(archs):
            params, loss = step(params, images, labels, jnp.asarray(arch), jax.random.PRNGKey(i), 0.0, 0.0)
            losses.append(float(loss))
        finals[dtype] = np.mean(losses[-5:])
        assert finals[dtype] < np.mean(losses[:5])  # it learns
    assert finals["bfloat16"] == pytest.approx(finals["float32"], rel=0.1, abs=0.05)


def test_compute_dtype_names_the_choices(tiny_space):
    with pytest.raises(ValueError, match="compute_dtype: expected one of .*float32.*bfloat16.*got 'int8'"):
        SuperNet(tiny_space, compute_dtype="int8")
    with pytest.raises(ValueError, match="compute_dtype"):
        SuperNet(tiny_space, compute_dtype="no-such-dtype")
