"""Export of a trained detector: params + architecture, and a TFLite file.

``model.tflite`` runs the backbone, the SSDLite head, box decoding and the class sigmoid (the
jax :func:`jaxnas.detection.decode_predictions`, inference mode, moving BN statistics), converted
by ``jaxnas.apps._tflite.jax_to_tflite``. Non-maximum suppression is left to the caller (its
settings are in ``model.json``): TFLite has no builtin op for jax's per-class NMS.

Input: float32 ``[1, R, R, 3]`` normalised as ``model.json`` says. Outputs, in this order:
``boxes float32[1, A, 4]`` (``[ymin, xmin, ymax, xmax]``, normalised to ``[0, 1]``) and
``scores float32[1, A, K]`` (per object class, background dropped), ``A`` the anchors.
"""

from __future__ import annotations

import json
import os

import numpy as np

POSTPROCESS = {"iou_threshold": 0.6, "max_detections": 100}


def export_detector(folder: str, space, arch, num_classes: int, config, params, bn_state,
                    tflite: bool = True) -> list:
    """Writes ``params.npz`` (``params/...``, ``state/...``), ``model.json`` and (``tflite``) ``model.tflite``.

    Args:
      folder: created if missing.
      space, arch: the backbone.
      num_classes: object classes ``K``.
      config: a ``DetectionTrainConfig`` (resolution, normalisation, extra layers, BN settings).
      params, bn_state: host copies of the trained weights and BN statistics.
      tflite: also convert ``model.tflite`` (TensorFlow needed).

    Returns:
      The paths written.
    """
    from jaxnas.apps.classification._export import flatten_params
    from jaxnas.detection import DetectionModel
    os.makedirs(folder, exist_ok=True)
    r, extra = config.data.resolution, tuple(config.data.extra_depths)
    flat = {f"params/{k}": v for k, v in flatten_params(params).items()}
    flat.update({f"state/{k}": v for k, v in flatten_params(bn_state).items()})
    paths = [os.path.join(folder, "params.npz"), os.path.join(folder, "model.json")]
    np.savez(paths[0], **flat)
    anchors = len(DetectionModel.anchors(r, len(extra)))
    with open(paths[1], "w") as f:
        json.dump({"task": "detection", "head": "ssdlite", "space": space.name, "arch": space.format(arch),
                   "num_classes": num_classes, "resolution": r,
                   "mean": list(config.data.mean), "std": list(config.data.std),
                   "extra_depths": list(extra), "bn_momentum": config.bn_momentum, "bn_eps": config.bn_eps,
                   "postprocess": POSTPROCESS,
                   "input": f"float32[1, {r}, {r}, 3], (pixels - mean) / std",
                   "outputs": [f"boxes float32[1, {anchors}, 4] (ymin, xmin, ymax, xmax in [0, 1])",
                               f"scores float32[1, {anchors}, {num_classes}] (sigmoid per class)"]},
                  f, indent=1)
    if tflite:
        paths.append(os.path.join(folder, "model.tflite"))
        with open(paths[-1], "wb") as f:
            f.write(detector_tflite_bytes(space, arch, num_classes, r, config.bn_momentum, config.bn_eps, params,
                                          bn_state, extra))
    return paths


def detector_forward(space, arch, num_classes: int, resolution: int, bn_momentum: float, bn_eps: float, params,
                     bn_state, extra_depths=None, depthwise_impl: str = "auto"):
    """``images [B, R, R, 3] -> (boxes [B, A, 4], scores [B, A, K])`` of the detector with these weights."""
    import jax.numpy as jnp
    from jaxnas.apps.detection._network import detection_network
    from jaxnas.detection import DEFAULT_EXTRA_DEPTHS, DetectionModel, decode_predictions
    extra = tuple(DEFAULT_EXTRA_DEPTHS if extra_depths is None else extra_depths)
    net = detection_network(space, arch, num_classes, bn_momentum, bn_eps, extra, depthwise_impl=depthwise_impl)
    anchors = jnp.asarray(DetectionModel.anchors(resolution, len(extra)))

    def forward(images):
        (codes, logits), _ = net.apply(params, bn_state, None, images, False)
        return decode_predictions(codes, logits, anchors)

    return forward


def detector_tflite_bytes(space, arch, num_classes: int, resolution: int, bn_momentum: float, bn_eps: float,
                          params, bn_state, extra_depths=None) -> bytes:
    """The float32 TFLite model (batch 1) of :func:`detector_forward` with ``lax`` depthwise kernels."""
    from jaxnas.apps._tflite import jax_to_tflite
    forward = detector_forward(space, arch, num_classes, resolution, bn_momentum, bn_eps, params, bn_state,
                               extra_depths, depthwise_impl="lax")
    return jax_to_tflite(forward, (1, resolution, resolution, 3))
