"""What detection search and stand-alone training share: preprocessing, SGD, the head's cost.

- :func:`sgd_optimizer`: SGD with momentum, learning rate ``lr_per_1024 * batch / 1024`` warmed
  up linearly from 0, then cosine decay to 0 (paper appendix E.3).
- :func:`ssdlite_head` (``jaxnas.latency.ssdlite_head``): the SSDLite head as a
  ``jaxnas.latency.Head`` (its ops from ``jaxnas.detection.ssdlite_head_ops``), so latency
  tables, MACs and targets cover it.
- :func:`detection_facts`: params and MACs of backbone (up to C5) + head for one architecture.
- :func:`build_detection_table`: a latency table of a space that also covers the head.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from jaxnas.apps.detection._configs import SGDConfig
from jaxnas.apps.detection._data import DetectionPreprocess
from jaxnas.latency import ssdlite_head


def preprocess_of(data_config) -> DetectionPreprocess:
    """The :class:`DetectionPreprocess` of a ``DetectionDataConfig``."""
    return DetectionPreprocess(resolution=data_config.resolution, max_boxes=data_config.max_boxes,
                               crop_probability=data_config.crop_probability, mean=tuple(data_config.mean),
                               std=tuple(data_config.std))


def sgd_optimizer(optim: SGDConfig, global_batch: int, total_steps: int):
    """``(optimizer, schedule)``: SGD + momentum, linear warm-up 0 -> peak, cosine decay to 0.

    >>> _, schedule = sgd_optimizer(SGDConfig(), 1024, 50_000)
    >>> [round(float(schedule(s)), 3) for s in (0, 2500, 5000, 50_000)]
    [0.0, 2.0, 4.0, 0.0]
    """
    peak = optim.lr_per_1024 * global_batch / 1024
    warmup = round(optim.warmup_fraction * total_steps)
    schedule = optax.warmup_cosine_decay_schedule(0.0, peak, warmup, max(total_steps, warmup + 1))
    sgd = optax.sgd(schedule, momentum=optim.momentum or None)
    return (optax.chain(optax.clip_by_global_norm(optim.clip_norm), sgd) if optim.clip_norm else sgd), schedule


def detection_facts(space, arch, num_classes: int, resolution: int, extra_depths=None) -> dict:
    """``params`` and ``macs`` of backbone (slots up to C5) + SSDLite head, and the endpoint widths.

    Params count what the network holds (the head's predictors end in a bias, not BN).
    """
    from jaxnas.latency import space_endpoints
    from jaxnas.latency._heads import headed_network
    backbone, head = headed_network(space, ssdlite_head(num_classes, extra_depths), arch, resolution)
    bias_not_bn = sum(op.out_channels for op in head if op.kind == "sepconv")
    eps = space_endpoints(space, resolution)
    return {"params": int(sum(op.params for op in backbone + head) - bias_not_bn),
            "macs": int(sum(op.macs for op in backbone + head)), "resolution": resolution,
            "c4_channels": int(eps["C4"].channels.choices[arch[eps["C4"].channels.decision]]
                               if eps["C4"].channels.decision >= 0 else eps["C4"].channels.choices[0]),
            "c5_channels": int(eps["C5"].channels.choices[arch[eps["C5"].channels.decision]]
                               if eps["C5"].channels.decision >= 0 else eps["C5"].channels.choices[0])}


def build_detection_table(space, backend, resolution: int, num_classes: int, out: str | None = None,
                          progress: bool = True, extra_depths=None):
    """Measures every op of ``space`` and of the SSDLite head over its C4/C5 widths (resumable).

    Args:
      space: a ``Space`` or its name (``mobilenet_v3_large`` extends a table with the
        reference network, for ``target="mobilenet_v3_large"``).
      backend: a ``jaxnas.latency`` backend or its name (``litert``, ``xla``).
      resolution: input side (320 for COCO).
      num_classes: detection classes (the class predictors' widths depend on them).
      out: the table file (extended if it exists).
      extra_depths: the head's extra layers (default SSDLite's).
    """
    from jaxnas.latency import build_table, get_backend
    from jaxnas.searchspace import get_space
    space = get_space(space) if isinstance(space, str) else space
    backend = get_backend(backend) if isinstance(backend, str) else backend
    return build_table(space, backend, resolution, 1000, out=out, progress=progress, head=ssdlite_head(num_classes, extra_depths))


def detection_l2(params) -> jax.Array:
    """Sum of squares of the conv kernels: backbone ``*_w`` and the head's ``w`` (no BN, no classifier)."""
    total = np.float32(0.0)
    for path, x in jax.tree_util.tree_flatten_with_path(params)[0]:
        module, name = str(getattr(path[0], "key", path[0])), str(getattr(path[-1], "key", path[-1]))
        if name.endswith("_w") or (name == "w" and "ssdlite" in module):
            total = total + (x.astype(np.float32) ** 2).sum()
    return total
