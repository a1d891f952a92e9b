"""The detection SearchTask inside the shared TuNAS search step, on the tiny built-in dataset."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnas.apps import _distributed as dist
from jaxnas.apps._search_loop import SearchState
from jaxnas.apps._search_loop import StepSettings
from jaxnas.apps._search_loop import make_search_step
from jaxnas.apps.detection import DetectionData
from jaxnas.apps.detection import DetectionPreprocess
from jaxnas.apps.detection._task import BackboneFns
from jaxnas.apps.detection._task import detection_task

# Reward = mAP + a cost term. The mAP of an untrained toy detector is often exactly 0
# (on every step, on some machines): with mAP alone every reward then equals the
# baseline and the controller (rightly) does not move. The cost term makes the rewards
# of two different architectures differ, so the advantage is nonzero from step 2 on.
COST_WEIGHT = 1e-3


def toy_backbone(num_decisions: int) -> BackboneFns:
    """Strided convs whose C5 width is gated by the architecture, like a searched width mask."""
    net = hk.without_apply_rng(hk.transform(lambda x: _toy(x)))

    def _toy(x):
        for width in (8, 8, 16, 16):
            x = jax.nn.relu(hk.Conv2D(width, 3, stride=2)(x))
        return {"C4": x, "C5": jax.nn.relu(hk.Conv2D(24, 3, stride=2)(x))}

    def init(key, images):
        return jax.jit(net.init)(key, images)

    def apply(params, images, arch, key, op_p, filter_p):
        del key, op_p, filter_p
        eps = net.apply(params, images)
        mask = (jnp.arange(24) < 12 + 12 * (arch[0] % 2)).astype(eps["C5"].dtype)  # width 12 or 24
        l2 = sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(params))
        return {"C4": eps["C4"], "C5": eps["C5"] * mask}, l2

    return BackboneFns(init, apply, num_decisions)


def test_search_steps_with_the_detection_task(data_dir):
    from jaxnas.controller import reinforce_controller
    from jaxnas.searchspace import get_space

    space = get_space("proxylessnas")
    data = DetectionData("jaxnas_shapes_detection/tiny", data_dir=data_dir)
    pre = DetectionPreprocess(resolution=64, max_boxes=8)
    task = detection_task(toy_backbone(space.num_decisions), data.num_classes, resolution=64)
    mesh = dist.make_mesh()
    settings = StepSettings(total_steps=4, warmup_fraction=0.5, op_warmup=True, filter_warmup=True,
                            archs_per_step=mesh.size, groups_per_device=1)
    controller = reinforce_controller(space, 5e-3, total_steps=4, delay_fraction=0.0)
    optimizer = optax.sgd(0.01, momentum=0.9)
    train = data.stream("train", 4 * mesh.size, pre, train=True).batches()
    valid = data.stream("train", 4 * mesh.size, pre, train=False, seed=1).batches()
    first = next(train)
    params = task.init(jax.random.PRNGKey(0), first)
    assert set(params) == {"backbone", "head"}
    state = dist.replicate(mesh, SearchState(params, optimizer.init(params), controller.init(),
                                             jax.random.key_data(jax.random.PRNGKey(1)), jnp.zeros((), jnp.int32)))
    step = make_search_step(task, controller, optimizer, lambda s: jnp.float32(0.01),
                            lambda archs: jnp.sum(archs, -1).astype(jnp.float32),
                            lambda quality, cost: quality + COST_WEIGHT * cost, mesh, settings)
    logits_before = np.asarray(state.controller.logits)
    infos = []
    for _ in range(3):
        state, info = step(state, dist.shard_batch(mesh, next(train)), dist.shard_batch(mesh, next(valid)))
        infos.append(jax.device_get(info))
    for info in infos:
        assert np.isfinite(info.loss) and 0 <= info.quality <= 1
        np.testing.assert_allclose(info.reward, info.quality + COST_WEIGHT * info.cost, rtol=1e-6)
    assert int(state.step) == 3
    assert step._cache_size() == 1  # new architectures every step, one compilation
    # The premise of the last assert: a step whose advantage (reward - baseline) is not 0.
    # (The first step's is 0 by construction: the debiased baseline starts at that step's reward.)
    assert max(abs(i.reward - i.baseline) for i in infos) > 1e-5, [(i.reward, i.baseline) for i in infos]
    assert not np.array_equal(np.asarray(state.controller.logits), logits_before)


def test_supernet_backbone_gives_c4_and_c5():
    from jaxnas.apps.detection import supernet_backbone
    from jaxnas.searchspace import get_space

    space = get_space("proxylessnas")
    backbone = supernet_backbone(space, remat=False)
    images = jnp.zeros((1, 64, 64, 3))
    params = backbone.init(jax.random.PRNGKey(0), images)
    arch = jnp.zeros((space.num_decisions,), jnp.int32)
    endpoints, l2 = jax.eval_shape(lambda p: backbone.apply(p, images, arch, None, 0.0, 0.0), params)
    assert endpoints["C4"].shape[:3] == (1, 4, 4) and endpoints["C5"].shape[:3] == (1, 2, 2)
    assert l2.shape == ()
