"""DetectionModel on a tiny Haiku backbone defined here (the package needs no jaxnas backbone)."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnas.detection import DetectionModel
from jaxnas.detection import SSDLiteHead
from jaxnas.detection import assign_targets
from jaxnas.detection import batch_map
from jaxnas.detection import postprocess
from jaxnas.detection import ssd_loss
from jaxnas.detection._head import lax_depthwise_conv

C4, C5 = 24, 40


def tiny_backbone(images, is_training):
    """Four stride-2 convs to C4 (stride 16), one more to C5 (stride 32)."""
    del is_training
    x = images
    for width in (8, 16, 16, C4):
        x = jax.nn.relu(hk.Conv2D(width, 3, stride=2)(x))
    return {"C4": x, "C5": jax.nn.relu(hk.Conv2D(C5, 3, stride=2)(x))}


def transformed(num_classes=3, **kwargs):
    return hk.transform_with_state(
        lambda x, is_training: DetectionModel(tiny_backbone, num_classes, **kwargs)(x, is_training)
    )


def compile_init(f, *args):
    """``f.init`` compiled without XLA's backend optimisations.

    Why: on XLA:CPU, optimising the dozens of threefry random draws of an init takes tens of
    seconds (49 s measured for this model on the shared 2-core machine, 13 s at level 0); the init
    runs once, so it does not need optimised code.
    """
    init = jax.jit(lambda key, *a: f.init(key, *a, True)).lower(jax.random.PRNGKey(0), *args)
    return init.compile({"xla_backend_optimization_level": 0})(jax.random.PRNGKey(0), *args)


def count(tree):
    return sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree))


def test_head_parameter_count_by_hand():
    k = 3
    f = transformed(k)
    params, state = jax.eval_shape(lambda x: f.init(jax.random.PRNGKey(0), x, True), jnp.zeros((1, 320, 320, 3)))
    head = {m: p for m, p in params.items() if "ssdlite" in m}

    def extra(cin, d):  # 1x1 to d/2 + BN, depthwise 3x3 + BN, 1x1 to d + BN (no conv biases)
        h = d // 2
        return cin * h + 2 * h + 9 * h + 2 * h + h * d + 2 * d

    def predictors(c, n):  # per map: [dw 3x3 + BN + 1x1 with bias] for boxes and for classes
        return (9 * c + 2 * c + c * 4 * n + 4 * n) + (9 * c + 2 * c + c * n * (k + 1) + n * (k + 1))

    want = extra(C5, 512) + extra(512, 256) + extra(256, 256) + extra(256, 128)
    want += predictors(C4, 3) + sum(predictors(c, 6) for c in (C5, 512, 256, 256, 128))
    assert count(head) == want == 424_328
    # Moving statistics live in the state, not in the parameters.
    assert all("batch_norm" in m for m in state)


def test_outputs_line_up_with_the_anchors():
    f = transformed(5)
    for size in (320, 128, 96):
        x = jnp.zeros((2, size, size, 3))
        params, state = jax.eval_shape(lambda x: f.init(jax.random.PRNGKey(0), x, True), x)
        (boxes, logits), _ = jax.eval_shape(lambda p, s, x: f.apply(p, s, None, x, False), params, state, x)
        a = DetectionModel.anchors(size).shape[0]
        assert boxes.shape == (2, a, 4) and logits.shape == (2, a, 6)


def test_custom_depthwise_kernel_keeps_the_parameters():
    calls = []

    def dw(x, w, stride):
        calls.append(stride)
        return lax_depthwise_conv(x, w, stride)

    x = jnp.zeros((1, 64, 64, 3))
    p1, _ = jax.eval_shape(lambda x: transformed().init(jax.random.PRNGKey(0), x, True), x)
    p2, _ = jax.eval_shape(lambda x: transformed(depthwise_fn=dw).init(jax.random.PRNGKey(0), x, True), x)
    assert jax.tree_util.tree_structure(p1) == jax.tree_util.tree_structure(p2)
    assert calls.count(2) == 4 and calls.count(1) == 12  # 4 extra layers, 2 predictors x 6 maps


def test_endpoint_errors_name_the_fix():
    bad = hk.transform_with_state(lambda x: SSDLiteHead(2)({"C5": x}, True))
    with pytest.raises(ValueError, match=r"endpoints lack \['C4'\]"):
        jax.eval_shape(bad.init, jax.random.PRNGKey(0), jnp.zeros((1, 4, 4, 8)))
    tup = hk.transform_with_state(lambda x: DetectionModel(lambda x, is_training: (x, x), 2)(x, True))
    with pytest.raises(TypeError, match="not a dict of endpoints"):
        jax.eval_shape(tup.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    short = hk.transform_with_state(lambda x: SSDLiteHead(2, anchors_per_location=(3, 6))({"C4": x, "C5": x}, True))
    with pytest.raises(ValueError, match="anchors_per_location needs one entry per feature map"):
        jax.eval_shape(short.init, jax.random.PRNGKey(0), jnp.zeros((1, 4, 4, 8)))
    with pytest.raises(ValueError, match="build the anchors for the same image size"):
        postprocess(jnp.zeros((1, 10, 4)), jnp.zeros((1, 10, 3)), DetectionModel.anchors(64))


def test_training_overfits_one_batch_and_detects():
    """Loss falls on a fixed batch; postprocess + batch_map run under jit on the outputs."""
    size, k = 64, 2
    anchors = jnp.asarray(DetectionModel.anchors(size))
    f = transformed(k, extra_depths=(32, 16, 16, 16))
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.normal(size=(2, size, size, 3)), jnp.float32)
    gt_boxes = jnp.array([[[0.1, 0.1, 0.6, 0.5], [0, 0, 0, 0]], [[0.3, 0.2, 0.9, 0.9], [0.0, 0.5, 0.4, 1.0]]])
    gt_labels = jnp.array([[0, 0], [1, 0]])
    gt_valid = jnp.array([[True, False], [True, True]])
    targets = assign_targets(anchors, gt_boxes, gt_labels, gt_valid)
    params, state = compile_init(f, images)
    opt = optax.adam(1e-2)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, state, opt_state):
        def loss_fn(p):
            (box, logit), new_state = f.apply(p, state, None, images, True)
            return ssd_loss(box, logit, targets)[0], new_state

        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), state, opt_state, loss

    losses = []
    for _ in range(30):
        params, state, opt_state, loss = step(params, state, opt_state)
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]

    @jax.jit
    def evaluate(params, state):
        (box, logit), _ = f.apply(params, state, None, images, True)
        det = postprocess(box, logit, anchors)
        return det, batch_map(*det, gt_boxes, gt_labels, gt_valid, num_classes=k)

    det, result = evaluate(params, state)
    assert det.boxes.shape == (2, 100, 4) and bool(det.valid.any())
    assert float(result["map50"]) > 0.5
