"""Export of a trained network: params + architecture, and a TFLite file.

The TFLite file is converted from the jax forward pass (inference mode, moving BN
statistics) by ``jaxnas.apps._tflite.jax_to_tflite`` (jax2tf's StableHLO path, ``lax``
depthwise convolutions).
Input: float32 ``[1, R, R, 3]`` normalised as ``model.json`` says; output: logits.
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np
from jaxnas.apps.classification._model import child_network


def flatten_params(tree) -> dict:
    """``{"scope/name": array}`` of a nested dict (Haiku params or state)."""
    out = {}
    for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]:
        out["/".join(str(getattr(k, "key", k)) for k in path)] = np.asarray(x)
    return out


def unflatten_params(flat: dict) -> dict:
    """Inverse of :func:`flatten_params` for Haiku's two-level dicts."""
    out: dict = {}
    for name, x in flat.items():
        scope, _, leaf = name.rpartition("/")
        out.setdefault(scope, {})[leaf] = x
    return out


def export_model(folder: str, space, arch, num_classes: int, config, params, bn_state, tflite: bool = True) -> list:
    """Writes ``params.npz``, ``model.json`` and (``tflite``) ``model.tflite``; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    r = config.data.resolution
    np.savez(os.path.join(folder, "params.npz"), **{f"params/{k}": v for k, v in flatten_params(params).items()},
             **{f"state/{k}": v for k, v in flatten_params(bn_state).items()})
    meta = {"space": space.name, "arch": space.format(arch), "num_classes": num_classes, "resolution": r,
            "mean": list(config.data.mean), "std": list(config.data.std), "bn_eps": config.bn_eps,
            "input": f"float32[1, {r}, {r}, 3], (pixels - mean) / std", "output": f"float32[1, {num_classes}] logits"}
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(meta, f, indent=1)
    paths = [os.path.join(folder, "params.npz"), os.path.join(folder, "model.json")]
    if tflite:
        path = os.path.join(folder, "model.tflite")
        with open(path, "wb") as f:
            f.write(tflite_bytes(space, arch, num_classes, r, config.bn_momentum, config.bn_eps, params, bn_state))
        paths.append(path)
    return paths


def tflite_bytes(space, arch, num_classes: int, resolution: int, bn_momentum: float, bn_eps: float, params,
                 bn_state) -> bytes:
    """The float32 TFLite model (batch 1) of the child network with these weights."""
    from jaxnas.apps._tflite import jax_to_tflite
    net = child_network(space, arch, num_classes, 0.0, bn_momentum, bn_eps, depthwise_impl="lax")

    def forward(images):
        return net.apply(params, bn_state, None, images, False)[0]

    return jax_to_tflite(forward, (1, resolution, resolution, 3))
