"""Training-step properties: remat, gradients, used-kernel L2, no retracing, warmup, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.supernet._control import DecisionTable, choice_weights


def test_remat_changes_neither_values_nor_gradients_and_every_param_learns(tiny, tiny_no_remat):
    arch = jnp.asarray(tiny.space.sample(np.random.default_rng(0), 1)[0])
    key = jax.random.PRNGKey(7)
    # All ops on and largest filters: full op and filter warmup.
    v_remat, g_remat = tiny.step(tiny.params, arch, key, 1.0, 1.0)
    v_plain, g_plain = tiny_no_remat.step(tiny.params, arch, key, 1.0, 1.0)
    np.testing.assert_allclose(v_remat, v_plain, rtol=1e-6)
    _assert_same_gradients(g_remat, g_plain)
    dead = [f"{scope}/{name}" for scope, d in g_remat.items() for name, g in d.items() if not np.any(g)]
    assert not dead, f"parameters without gradient: {dead}"


# Architectures for the after-warmup paths of remat with skipping (kernel 3 / 5 alone,
# Zero chosen, every expansion bucket): decision name -> choice index, the rest 0.
AFTER_WARMUP_ARCHS = (
    {"block0/layer2/op": 1},  # kernel 3 everywhere, block0/layer2 Zero, narrow, ratio 1
    {"block0/layer0/kernel": 1, "block0/layer2/kernel": 1, "block1/layer0/kernel": 1, "block1/layer1/kernel": 1,
     "block2/layer0/op": 1, "block1/layer0/expansion": 1, "block1/layer0/se": 1, "block1/width": 1},
    {"block0/width": 1, "block1/layer0/kernel": 0, "block1/layer1/kernel": 1, "block1/layer1/expansion": 1,
     "block1/layer1/se": 1, "block3/width": 1},
    {"block0/width": 1, "block1/width": 1, "block0/layer2/op": 1, "block1/layer0/kernel": 1,
     "block1/layer0/expansion": 1, "block1/layer1/expansion": 1, "block1/layer0/se": 1, "block1/layer1/se": 1},
    {"block1/layer1/op": 1, "block0/width": 1, "block1/layer0/expansion": 1, "block0/layer2/kernel": 1},
)
# Each Bottleneck slot: the width decision that sets its input width (its expansion
# bucket is a function of input width x ratio) and its op decision (None: never Zero).
BOTTLENECKS = {"block1_layer0": ("block0/width", None), "block1_layer1": ("block1/width", "block1/layer1/op")}


def _arch(space, choices: dict) -> np.ndarray:
    arch = np.zeros(space.num_decisions, np.int32)
    for name, choice in choices.items():
        arch[space.decision_index[name]] = choice
    return arch


def _assert_same_gradients(got, want, rtol=1e-5, floor=1e-7):
    """Per leaf: ``max|got - want| <= rtol * max|want| + floor * (largest |want| of the tree)``.

    The floor is for leaves whose exact gradient is 0: e.g. the offset of a BN whose output
    only reaches the loss through the next layer's BN (which removes any constant). Their
    float32 values are rounding noise (~1e-9 here, for gradients up to ~0.4), different in
    two programs, so relative to themselves they differ by 100%.
    """
    scale = max(float(np.abs(g).max()) for g in jax.tree.leaves(want))
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(got)[0], jax.tree.leaves(want)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        err, bound = np.abs(a - b).max(), rtol * np.abs(b).max() + floor * scale
        assert err <= bound, f"{jax.tree_util.keystr(path)}: max difference {err:.3g} > {bound:.3g}"


def test_the_archs_after_warmup_cover_every_expansion_bucket_zero_and_single_kernels(tiny):
    from jaxnas.supernet._blocks import expansion_buckets
    space, archs = tiny.space, [_arch(tiny.space, a) for a in AFTER_WARMUP_ARCHS]
    for plan in tiny.net.plans:
        if plan is None or plan.scope not in BOTTLENECKS:
            continue
        (v,) = plan.variants
        buckets = expansion_buckets(v)
        assert len(buckets) >= 3, buckets
        width_name, op_name = BOTTLENECKS[plan.scope]
        width, ratio = space.decision_index[width_name], v.expansion[0]
        run = [a for a in archs if op_name is None or a[space.decision_index[op_name]] == 0]  # not Zero
        used = {min(b for b in buckets if b >= v.e_table[a[width]][a[ratio]]) for a in run}
        assert used == set(buckets), (plan.scope, used, buckets)
    for name in ("block0/layer2/op", "block1/layer1/op"):  # Zero chosen
        assert any(a[space.decision_index[name]] == 1 for a in archs), name
    for d in space.decisions:  # every kernel size alone
        if d.kind == "kernel":
            assert {int(a[d.index]) for a in archs} == set(range(d.num_choices)), d.path


@pytest.mark.parametrize("op_warmup, filter_warmup", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)])
def test_remat_gradients_equal_plain_autodiff_after_warmup(tiny, tiny_no_remat, op_warmup, filter_warmup):
    # remat + skipping (tiny: Zero skipped, expansion buckets, single-kernel backward) against
    # plain autodiff at full width (tiny_no_remat), on the paths most search steps take.
    for i, choices in enumerate(AFTER_WARMUP_ARCHS):
        arch = jnp.asarray(_arch(tiny.space, choices))
        for seed in (3, 7):
            key = jax.random.PRNGKey(100 * i + seed)
            v_remat, g_remat = tiny.step(tiny.params, arch, key, op_warmup, filter_warmup)
            v_plain, g_plain = tiny_no_remat.step(tiny.params, arch, key, op_warmup, filter_warmup)
            np.testing.assert_allclose(v_remat, v_plain, rtol=1e-6)
            _assert_same_gradients(g_remat, g_plain)


def test_step_does_not_retrace_for_new_architectures(tiny):
    rng = np.random.default_rng(1)
    for i, arch in enumerate(tiny.space.sample(rng, 20)):
        loss, _ = tiny.step(tiny.params, jnp.asarray(arch), jax.random.PRNGKey(i), i / 20, 1 - i / 20)
        assert np.isfinite(loss)
    # tiny.step is wrapped in chex.assert_max_traces(n=1): a retrace would have raised.


def _change(params, scope, name, index=...):
    new = jax.tree.map(lambda p: p, params)
    new[scope] = dict(new[scope])
    new[scope][name] = new[scope][name].at[index].add(3.0)
    return new


def test_l2_counts_only_the_kernels_used_in_the_step(tiny):
    space = tiny.space
    idx = space.decision_index
    arch = np.zeros(space.num_decisions, np.int32)  # kernel 3, ratio 1, no SE, narrow widths
    arch[idx["block1/layer1/op"]] = 1  # skip block1/layer1
    base = tiny.forward(tiny.params, jnp.asarray(arch))
    assert base.l2_loss > 0
    unused = [("supernet/block1_layer0", "dw5_w", ...),           # an unchosen kernel size
              ("supernet/block1_layer0", "se_reduce_w", ...),     # SE switched off
              ("supernet/block1_layer0", "expand_w", (0, 0, 0, -1)),  # a channel beyond ratio 1
              ("supernet/block1_layer1", "project_w", ...),       # a skipped layer
              ("supernet/block3_layer0", "conv1_w", (0, 0, 0, -1))]  # beyond the chosen width
    for scope, name, index in unused:
        out = tiny.forward(_change(tiny.params, scope, name, index), jnp.asarray(arch))
        assert out.l2_loss == base.l2_loss, f"{scope}/{name} is unused but changed the L2 loss"
        np.testing.assert_array_equal(out.logits, base.logits)
    out = tiny.forward(_change(tiny.params, "supernet/block1_layer0", "dw3_w"), jnp.asarray(arch))
    assert out.l2_loss > base.l2_loss
    # BN parameters and the classifier never count.
    out = tiny.forward(_change(tiny.params, "supernet/classifier", "w"), jnp.asarray(arch))
    assert out.l2_loss == base.l2_loss


def test_warmup_replaces_each_decision_independently(tiny):
    space = tiny.space
    table = DecisionTable(space)
    arch = jnp.zeros(space.num_decisions, jnp.int32)
    w = choice_weights(table, arch)
    np.testing.assert_array_equal(w, jax.nn.one_hot(arch, table.max_choices))
    w = np.asarray(choice_weights(table, arch, jax.random.PRNGKey(0), 1.0, 1.0))
    for d in space.decisions:
        row = w[d.index, :d.num_choices]
        if d.tag == "op":  # every choice averaged, Zero included
            np.testing.assert_allclose(row, np.full(d.num_choices, 1 / d.num_choices))
        else:  # the largest width / expansion
            assert row[int(np.argmax(d.choices))] == 1 and row.sum() == 1
    draws = np.stack([np.asarray(choice_weights(table, arch, jax.random.PRNGKey(i), 0.5, 0.0))
                      for i in range(200)])
    replaced = draws[:, :, 0] < 1  # op decisions with 2+ choices that were averaged
    multi = np.array([d.tag == "op" and d.num_choices > 1 for d in space.decisions])
    share = replaced[:, multi].mean()
    assert 0.4 < share < 0.6
    assert len({tuple(r) for r in replaced[:, multi]}) > 50  # independent per decision


def test_bad_inputs_name_the_culprit(tiny):
    with pytest.raises(ValueError, match=r"expected arch int32\[15\]"):
        tiny.net.apply(tiny.params, {}, tiny.images, jnp.zeros(3, jnp.int32))
    with pytest.raises(TypeError, match="integer array"):
        tiny.net.apply(tiny.params, {}, tiny.images, jnp.zeros(15, jnp.float32))
    with pytest.raises(ValueError, match="warmup needs an rng"):
        tiny.net.apply(tiny.params, {}, tiny.images, jnp.zeros(15, jnp.int32), op_warmup=0.5)
    with pytest.raises(ValueError, match=r"expected images \[B, H, W, 3\]"):
        tiny.net.apply(tiny.params, {}, tiny.images[..., :1], jnp.zeros(15, jnp.int32))
