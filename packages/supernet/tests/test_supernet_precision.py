"""Mixed precision: bfloat16 compute with float32 parameters, BN statistics, L2 and logits.

XLA:CPU compiles bfloat16 programs about 4x slower than float32 ones, so these tests use a
two-block space (stem kernel choice, a skippable Bottleneck with kernel, expansion and SE
choices, a width choice) and compile each bfloat16 function once.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.searchspace import (
    Activation,
    Block,
    Bottleneck,
    Conv,
    Endpoint,
    GlobalPool,
    OneOf,
    Residual,
    Space,
    Zero,
)
from jaxnas.supernet import SuperNet, supernet_loss

IMAGES = (4, 16, 16, 3)


def _space():
    bneck = Bottleneck(kernel=OneOf((3, 5), "op"), expansion=OneOf((1.0, 3.0), "filters"),
                       se=OneOf((False, True), "op"), stride=1, activation="relu")
    return Space("precision_test", (
        Block([Conv(OneOf((3, 5), "op"), 2), Activation("hswish"), Residual(OneOf((bneck, Zero()), "op")),
               Endpoint()], OneOf((8, 16), "filters")),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], 24),
    ), 8)


def _loss_and_grads(net):
    """One compiled ``(params, images, labels, arch, rng, op_p) -> ((loss, out), grads)`` (op_p traced)."""
    def f(p, images, labels, arch, rng, op_p):
        return supernet_loss(net, p, {}, images, labels, arch, rng, op_p, op_p)
    return jax.jit(jax.value_and_grad(f, has_aux=True))


def _flat(tree):
    return np.concatenate([np.ravel(g) for g in jax.tree.leaves(tree)])


def test_bfloat16_compute_keeps_float32_parameters_matches_and_trains_like_float32():
    space = _space()
    f32, bf16 = (SuperNet(space, num_classes=5, compute_dtype=d) for d in ("float32", jnp.bfloat16))
    images = jax.random.normal(jax.random.PRNGKey(0), IMAGES)
    labels = jnp.arange(IMAGES[0]) % 5
    params, _ = f32.init(jax.random.PRNGKey(1))
    archs = space.sample(np.random.default_rng(3), 16)
    step32, step16 = _loss_and_grads(f32), _loss_and_grads(bf16)
    rng = jax.random.PRNGKey(2)
    for op_p in (0.0, 0.5):  # after and during warmup
        (l32, o32), g32 = step32(params, images, labels, jnp.asarray(archs[0]), rng, op_p)
        (l16, o16), g16 = step16(params, images, labels, jnp.asarray(archs[0]), rng, op_p)
        assert o16.logits.dtype == jnp.float32 and o16.l2_loss.dtype == jnp.float32
        assert o16.endpoints["C1"].dtype == jnp.bfloat16  # feature maps in the compute dtype
        assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(g16))  # float32 master weights
        # Same L2 exactly (float32 parameters); loss and gradients to bfloat16 accuracy.
        assert float(o16.l2_loss) == pytest.approx(float(o32.l2_loss), rel=1e-6)
        assert float(l16) == pytest.approx(float(l32), rel=0.03, abs=0.03)
        a, b = _flat(g32), _flat(g16)
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.98
    # A short SGD run from the same weights on the same architectures ends where float32's does.
    finals = {}
    for name, step in (("float32", step32), ("bfloat16", step16)):
        p, losses = params, []
        for i, arch in enumerate(archs):
            (loss, _), g = step(p, images, labels, jnp.asarray(arch), jax.random.PRNGKey(i), 0.0)
            p = jax.tree.map(lambda w, d: w - 0.2 * d, p, g)
            losses.append(float(loss))
        assert np.mean(losses[-4:]) < np.mean(losses[:4])  # it learns
        finals[name] = np.mean(losses[-4:])
    assert finals["bfloat16"] == pytest.approx(finals["float32"], rel=0.1, abs=0.05)


def test_bfloat16_without_remat_matches_float32_forward():
    space = _space()
    nets = {d: SuperNet(space, num_classes=5, remat=False, compute_dtype=d) for d in ("float32", "bfloat16")}
    images = jax.random.normal(jax.random.PRNGKey(0), IMAGES)
    params, _ = nets["float32"].init(jax.random.PRNGKey(1))
    arch = jnp.asarray(space.sample(np.random.default_rng(4), 1)[0])
    out = {d: jax.jit(lambda p, a, n=n: n.apply(p, {}, images, a)[0])(params, arch) for d, n in nets.items()}
    assert out["bfloat16"].logits.dtype == jnp.float32
    np.testing.assert_allclose(out["bfloat16"].logits, out["float32"].logits, rtol=0.05, atol=0.05)


def test_compute_dtype_names_the_choices():
    with pytest.raises(ValueError, match="compute_dtype: expected one of .*float32.*bfloat16.*got 'int8'"):
        SuperNet(_space(), compute_dtype="int8")
    with pytest.raises(ValueError, match="compute_dtype"):
        SuperNet(_space(), compute_dtype="no-such-dtype")
