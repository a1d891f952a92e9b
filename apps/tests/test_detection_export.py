"""A stand-alone detector exports to TFLite, and LiteRT computes what jax computes."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxnas.apps._config import apply_overrides, load_config
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.detection._export import detector_forward, export_detector
from jaxnas.apps.detection._network import detection_network
from jaxnas.detection import DetectionModel

pytest.importorskip("ai_edge_litert")
ARCH = "0:0:1:0:0:0:0:0:0:1:1:0:1:1:0"


def test_tflite_detector_matches_jax(tmp_path):
    register_app_spaces()
    from jaxnas.searchspace import get_space
    config = load_config("train_detection_tiny")
    space, arch = get_space(config.space), get_space(config.space).parse(ARCH)
    r, K, extra = config.data.resolution, 6, tuple(config.data.extra_depths)
    net = detection_network(space, arch, K, config.bn_momentum, config.bn_eps, extra)
    x = np.random.default_rng(0).normal(size=(4, r, r, 3)).astype(np.float32)
    # Level 0: XLA:CPU takes tens of seconds to optimise Haiku's many random draws.
    params, initial = jax.jit(lambda k: net.init(k, x, True)).lower(jax.random.PRNGKey(0)).compile(
        {"xla_backend_optimization_level": 0})(jax.random.PRNGKey(0))
    # Moving BN statistics away from their initial values, so the export must carry them.
    _, state = jax.jit(lambda p, s, x: net.apply(p, s, None, x, True))(params, initial, jnp.asarray(x * 3 + 1))
    paths = export_detector(str(tmp_path), space, arch, K, config, params, state)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["params.npz", "model.json", "model.tflite"]
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["arch"] == ARCH and meta["resolution"] == r and meta["postprocess"]["iou_threshold"] == 0.6

    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(tmp_path / "model.tflite"))
    interp.allocate_tensors()
    inp, outs = interp.get_input_details()[0], interp.get_output_details()
    anchors = len(DetectionModel.anchors(r, len(extra)))
    assert tuple(inp["shape"]) == (1, r, r, 3)
    assert [tuple(o["shape"]) for o in outs] == [(1, anchors, 4), (1, anchors, K)]
    interp.set_tensor(inp["index"], x[:1])
    interp.invoke()
    boxes, scores = (interp.get_tensor(o["index"]) for o in outs)
    # The reference runs the network as training and search do (default depthwise kernels).
    want_boxes, want_scores = detector_forward(space, arch, K, r, config.bn_momentum, config.bn_eps, params, state,
                                               extra)(x[:1])
    np.testing.assert_allclose(boxes, want_boxes, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)
    assert np.ptp(scores) > 0.01 and np.ptp(boxes) > 0.1  # not a constant output that would match anyway
    # The BN statistics matter: with the initial ones the outputs differ.
    other = detector_forward(space, arch, K, r, config.bn_momentum, config.bn_eps, params, initial, extra)(x[:1])
    assert np.abs(np.asarray(other[1]) - scores).max() > 1e-3
