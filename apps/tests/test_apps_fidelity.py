"""The search and stand-alone defaults are the TuNAS reference code's (docs/fidelity.md, one test per row)."""

import dataclasses
import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jaxnas.apps import _distributed as dist
from jaxnas.apps._config import load_config, to_dict
from jaxnas.apps._cost import DEFAULT_TARGETS_MS, default_target, search_cost
from jaxnas.apps._search_loop import (
    SearchState,
    SearchTask,
    StepSettings,
    make_search_step,
    steps_for_epochs,
    weight_optimizer,
)
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.data import IMAGENET_VALIDATION_SIZE
from jaxnas.apps.classification import OptimConfig, SearchConfig, TrainConfig
from jaxnas.apps.classification._configs import default_dropout
from jaxnas.apps.classification._model import classification_task, cross_entropy
from jaxnas.apps.detection import DetectionSearchConfig, SGDConfig
from jaxnas.controller import DecisionStructure, reinforce_controller
from jaxnas.searchspace import get_space
from jaxnas.supernet import WEIGHT_DECAY, l2_penalty

register_app_spaces()
_spec = importlib.util.spec_from_file_location("_apps_conftest", os.path.join(os.path.dirname(__file__), "conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
toy_model = _conftest.toy_model  # the apps tests' toy network (the rootdir conftest shadows the name)


# --- one config test per row of docs/fidelity.md ---------------------------------------------

def test_shared_weights_loss_has_label_smoothing_0_1():
    assert SearchConfig().label_smoothing == 0.1 and TrainConfig().label_smoothing == 0.1


def test_l2_rate_is_4e_5_in_the_tf_convention():
    assert OptimConfig().weight_decay == 4e-5 and SGDConfig().weight_decay == 4e-5 and WEIGHT_DECAY == 4e-5


def test_rmsprop_is_tf1_with_the_reference_epsilon():
    o = OptimConfig()
    assert (o.rmsprop_decay, o.rmsprop_momentum, o.rmsprop_eps, o.rmsprop_initial_scale) == (0.9, 0.9, 1.0, 1.0)
    assert (o.lr_per_256, o.warmup_fraction) == (0.165, 0.025)


def test_controller_adam_is_per_architecture():
    assert SearchConfig().controller_second_moment == "per_architecture"
    assert DetectionSearchConfig().controller_second_moment == "per_architecture"
    c = SearchConfig()
    assert (c.controller_lr_per_256, c.controller_schedule, c.controller_delay_fraction, c.entropy_weight,
            c.baseline_momentum, c.reward, c.reward_beta) == (3e-4, "exponential", 0.25, 0.0, 0.95, "absolute", -0.1)
    with pytest.raises(ValueError, match="controller_second_moment='per_device': choose 'per_architecture'"):
        dataclasses.replace(c, controller_second_moment="per_device").validate()


def test_search_length_is_90_epochs_floored_like_the_reference():
    config = load_config("search_imagenet")
    assert (config.epochs, config.steps) == (90.0, 0)
    # The reference: max_global_step = 1,231,121 * 90 // 4096 = 27,050 (27,050.99: rounding gives 27,051).
    assert steps_for_epochs(90, 1_231_121, 4096) == 27_050
    assert steps_for_epochs(4, 21_600, 64) == 1350 and steps_for_epochs(0.001, 10, 64) == 1
    assert TrainConfig().epochs == 360.0 and TrainConfig().steps == 0
    with pytest.raises(ValueError, match="--config.steps=-1 must be >= 0"):
        dataclasses.replace(config, steps=-1).validate()


def test_default_target_only_with_a_latency_table():
    assert SearchConfig().target is None
    assert DEFAULT_TARGETS_MS == {"proxylessnas": 84.0, "proxylessnas_enlarged": 84.0, "mobilenet_v3_like": 57.0}
    for name, ms in DEFAULT_TARGETS_MS.items():
        assert default_target(get_space(name), "ms", (1.0, 500.0)) == ms
    with pytest.raises(ValueError, match=r"no default target with the MACs cost \(space 'proxylessnas' spans"):
        search_cost(get_space("proxylessnas"), None, None, 224, 1000)
    with pytest.raises(ValueError, match="no default target for space 'proxylessnas_micro'"):
        default_target(get_space("proxylessnas_micro"), "ms", (1.0, 2.0))


@pytest.mark.parametrize("space", ["proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like"])
def test_out_of_range_target_names_the_range_for_every_space(space):
    cost = search_cost(get_space(space), None, "proxylessnas_mobile" if space == "proxylessnas" else 200.0,
                       224, 1000)
    lo, hi = cost.bounds
    for bad in (lo * 0.5, hi * 2):
        with pytest.raises(ValueError, match=rf"outside what space '{space}' can reach \({lo:.4g} - {hi:.4g} M MACs"):
            search_cost(get_space(space), None, bad, 224, 1000)


def test_stand_alone_recipe_defaults():
    t = load_config("train_imagenet")
    assert (t.bn_momentum, t.bn_eps, t.per_device_batch, t.epochs, t.dropout) == (0.99, 1e-3, 128, 360.0, None)
    assert (default_dropout("proxylessnas", 90), default_dropout("proxylessnas", 360),
            default_dropout("mobilenet_v3_like", 360)) == (0.0, 0.15, 0.25)
    d = t.data
    assert (d.dataset, d.resolution, d.min_crop_area, d.crop_fraction) == ("imagenet2012", 224, 0.08, 0.875)
    assert IMAGENET_VALIDATION_SIZE == 50_046


def test_search_recipe_defaults():
    c = load_config("search_imagenet")
    assert (c.per_device_batch, c.validation_multiplier, c.warmup_fraction, c.op_warmup, c.filter_warmup) == \
        (128, 4, 0.25, True, True)
    assert c.data == TrainConfig().data and c.optim == TrainConfig().optim   # the stand-alone recipe


def test_detection_recipe_defaults():
    c, t = load_config("search_detection_coco"), load_config("train_detection_coco")
    assert (c.optim.lr_per_1024, c.optim.warmup_fraction, c.optim.momentum, c.optim.clip_norm) == (4.0, 0.1, 0.9, 0.0)
    assert (c.steps, c.per_device_batch, t.steps, t.per_device_batch) == (50_000, 32, 50_000, 32)
    assert (c.controller_lr, c.target, c.space, c.data.resolution, c.data.holdout_fraction) == \
        (5e-3, "mobilenet_v3_large", "mobilenet_v3_like", 320, 0.1)


def test_builtin_small_configs_give_their_own_targets():
    for name in ("search_shapes", "search_shapes_long", "search_tiny", "random_shapes", "random_tiny"):
        assert load_config(name).target is not None, name


def test_main_job_is_the_small_scale_recipe_shortened():
    # search_shapes = search_shapes_long with fewer steps and a controller rate raised in proportion
    # (so the policy still moves in the second half); everything else is the same recipe.
    short, long = to_dict(load_config("search_shapes")), to_dict(load_config("search_shapes_long"))
    differ = {k for k in long if short[k] != long[k]}
    assert differ <= {"steps", "controller_lr_per_256", "log_every", "checkpoint_every"}, differ
    assert short["steps"] < long["steps"]
    assert short["controller_lr_per_256"] * short["steps"] == pytest.approx(
        long["controller_lr_per_256"] * long["steps"])


# --- behaviour ---------------------------------------------------------------------------------

def test_search_loss_is_smoothed_cross_entropy_plus_half_decay_sum_of_squares():
    model = toy_model()
    task = classification_task(model, 10, 4e-5)
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.normal(size=(4, 8, 8, 3)), jnp.float32)
    batch = {"image": images, "label": jnp.array([0, 1, 2, 3])}
    # Numpy-drawn weights of the toy's shapes (XLA:CPU compiles jax.random draws slowly).
    params = {"conv": jnp.asarray(rng.normal(size=(3, 3, 3, 8)) * 0.3, jnp.float32),
              "dense": jnp.asarray(rng.normal(size=(8, 10)) * 0.1, jnp.float32), "bias": jnp.zeros(10)}
    arch, key = jnp.zeros(3, jnp.int32), jax.random.key_data(jax.random.key(2))
    logits, sq = jax.jit(model.apply)(params, images, arch, key, 0.0, 0.0)
    targets = jax.nn.one_hot(batch["label"], 10) * 0.9 + 0.1 / 10
    expected = jnp.mean(-jnp.sum(targets * jax.nn.log_softmax(logits), -1)) + 2e-5 * sq
    loss = jax.jit(task.loss)(params, batch, arch, key, 0.0, 0.0)
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-6)
    assert float(cross_entropy(logits, batch["label"], 10, 0.1)) != float(cross_entropy(logits, batch["label"], 10))


def test_l2_gradient_is_decay_times_w():
    w = jnp.array([[0.5, -1.5], [2.0, 0.25]])
    grad = jax.grad(lambda x: l2_penalty(jnp.sum(x ** 2), 4e-5))(w)
    np.testing.assert_allclose(np.asarray(grad), 4e-5 * np.asarray(w), rtol=1e-6)


def test_supernet_l2_gradient_is_decay_times_used_kernel():
    from jaxnas.supernet import SuperNet
    space = get_space("proxylessnas_nano")
    net = SuperNet(space, num_classes=3, remat=False)
    images = jnp.ones((2, 32, 32, 3))
    params, state = net.init(jax.random.key(0), images)
    arch = jnp.zeros(space.num_decisions, jnp.int32)
    grads = jax.jit(jax.grad(lambda p: net.apply(p, state, images, arch)[0].l2_loss))(params)
    used = 0
    for module, leaves in params.items():
        for name, w in leaves.items():
            g = np.asarray(grads[module][name])
            if not name.endswith("_w"):
                assert not g.any(), f"{module}/{name} is not a conv kernel but has an L2 gradient"
                continue
            on = g != 0                                          # unused kernels / channels: no L2
            np.testing.assert_allclose(g[on], 4e-5 * np.asarray(w)[on], rtol=1e-5, err_msg=f"{module}/{name}")
            used += int(on.any())
    assert used >= 3


def test_rmsprop_first_update_is_the_tf1_formula():
    # TF1 RMSPropOptimizer: ms = 1.0 initially; ms <- 0.9 ms + 0.1 g^2; mom <- 0.9 mom + lr g / sqrt(ms + 1.0);
    # w <- w - mom. g = [0.5, -2]: ms = [0.925, 1.3]; update = -0.1 * [0.5 / sqrt(1.925), -2 / sqrt(2.3)].
    o = OptimConfig()
    opt, schedule = weight_optimizer(0.1, 100, 0.0, o.rmsprop_decay, o.rmsprop_momentum, o.rmsprop_eps,
                                     o.rmsprop_initial_scale)
    assert float(schedule(0)) == pytest.approx(0.1)
    params = jnp.zeros(2)
    updates, _ = opt.update(jnp.array([0.5, -2.0]), opt.init(params), params)
    np.testing.assert_allclose(np.asarray(updates), [-0.0360375, 0.1318760], rtol=1e-5)


def test_reward_uses_the_weights_after_the_update():
    """Quality = w and loss = w (gradient 1) with SGD(1): the reward must see w - 1, not w."""
    mesh = dist.make_mesh()
    A = mesh.size
    task = SearchTask(init=lambda key, batch: {"w": jnp.float32(3.0)},
                      loss=lambda p, batch, arch, key, op_p, filter_p: p["w"] * jnp.mean(batch["x"]),
                      quality=lambda p, batch, arch: p["w"] + 0.0 * jnp.mean(batch["x"]))
    ctrl = reinforce_controller(DecisionStructure([2], parent=[-1], parent_choice=[-1]), 0.1)
    opt = optax.sgd(1.0)
    step = make_search_step(task, ctrl, opt, lambda s: 1.0, lambda archs: jnp.zeros(archs.shape[0]),
                            lambda q, c: q, mesh, StepSettings(10, 0.0, False, False, A, 1))
    params = task.init(None, None)
    state = dist.replicate(mesh, SearchState(params, opt.init(params), ctrl.init(),
                                             jax.random.key_data(jax.random.key(0)), jnp.zeros((), jnp.int32)))
    batch = {"x": np.ones((2 * A, 1), np.float32)}
    state, info = step(state, dist.shard_batch(mesh, batch), dist.shard_batch(mesh, batch))
    assert float(state.params["w"]) == pytest.approx(2.0)
    assert float(info.quality) == pytest.approx(2.0) and float(info.reward) == pytest.approx(2.0)
