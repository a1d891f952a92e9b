"""Stand-alone training improves on the untrained network and exports params, arch and TFLite."""

import json

import numpy as np
import pytest
from jaxnas.apps._config import apply_overrides, load_config
from jaxnas.apps.classification import default_dropout, random_search, train
from jaxnas.apps.classification._export import unflatten_params


def test_dropout_rule():
    assert default_dropout("proxylessnas", 90) == 0.0
    assert default_dropout("proxylessnas", 360) == 0.15
    assert default_dropout("mobilenet_v3_like", 360) == 0.25


def test_training_improves_accuracy_and_exports(tmp_path, data_dir):
    config = apply_overrides(load_config("train_tiny"), [f"data.data_dir={data_dir!r}", "arch='0:0:1:1:0:1:1'"])
    result = train(config, str(tmp_path), progress=False)
    assert result["accuracy"] >= result["initial_accuracy"] + 0.04, result
    export = tmp_path / "export"
    meta = json.loads((export / "model.json").read_text())
    assert meta["space"] == "proxylessnas_nano" and meta["num_classes"] == 10
    flat = np.load(export / "params.npz")
    params = unflatten_params({k[len("params/"):]: flat[k] for k in flat.files if k.startswith("params/")})
    assert sum(v.size for scope in params.values() for v in scope.values()) == result["params"]
    # The TFLite file runs and agrees with the jax network on a batch of one.
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(export / "model.tflite"))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert tuple(inp["shape"]) == (1, 32, 32, 3) and tuple(out["shape"]) == (1, 10)
    x = np.random.default_rng(0).normal(size=(1, 32, 32, 3)).astype(np.float32)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    state = unflatten_params({k[len("state/"):]: flat[k] for k in flat.files if k.startswith("state/")})
    from jaxnas.apps.classification._model import child_network
    from jaxnas.searchspace import get_space
    space = get_space("proxylessnas_nano")
    net = child_network(space, space.parse(meta["arch"]), 10, 0.0, config.bn_momentum, config.bn_eps)
    expected = np.asarray(net.apply(params, state, None, x, False)[0])
    np.testing.assert_allclose(interp.get_tensor(out["index"]), expected, rtol=1e-3, atol=1e-3)


def test_random_baseline_respects_its_window(tmp_path, data_dir):
    config = apply_overrides(load_config("random_tiny"), [f"train.data.data_dir={data_dir!r}"])
    result = random_search(config, str(tmp_path), progress=False)
    assert len(result["archs"]) == 2
    for row in result["archs"]:
        assert abs(row["cost"] - 0.15) <= 0.05 and row["macs"] / 1e6 == pytest.approx(row["cost"])
    assert len({r["arch"] for r in result["archs"]}) == 2
