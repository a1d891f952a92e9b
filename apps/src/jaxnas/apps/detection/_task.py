"""The detection search task: shared-weights backbone + SSDLite head as a ``SearchTask``.

``detection_task`` plugs into the task-independent search step of ``jaxnas.apps._search_loop``
(the same loop the classification search runs): the loss is the SSDLite loss (focal + smooth L1,
``jaxnas.detection.ssd_loss``) plus L2 on the kernels used, and the quality (the reward's ``Q``) is
the jittable COCO mAP@[.5:.95] of the validation group (``jaxnas.detection.batch_map``). The head
uses batch statistics everywhere, as the supernet does (paper: no moving averages in the search),
and its input widths are the supernet's largest, so the searched widths flow into it as zeroed
channels.

Shape letters: ``B`` images per group, ``R`` resolution, ``G`` ground-truth slots, ``D`` decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
from jaxnas.apps._search_loop import SearchTask


class BackboneFns(NamedTuple):
    """A shared-weights backbone.

    Attributes:
      init: ``(key, images [B, R, R, 3]) -> params`` (outside jit).
      apply: ``(params, images, arch int32[D], key uint32[2], op_p, filter_p) -> (endpoints, l2)``
        with ``endpoints`` holding ``C4``/``C5`` and ``l2`` the sum of squares of the used kernels.
      num_decisions: ``D``.
    """

    init: Callable
    apply: Callable
    num_decisions: int


def supernet_backbone(space, remat: bool = True) -> BackboneFns:
    """The jaxnas-supernet ``SuperNet`` of ``space`` as :class:`BackboneFns` (its C4/C5 endpoints)."""
    from jaxnas.supernet import SuperNet

    net = SuperNet(space, num_classes=1, remat=remat)

    def init(key, images):
        return net.init(key, images)[0]

    def apply(params, images, arch, key, op_p, filter_p):
        out, _ = net.apply(params, {}, images, arch, key, op_p, filter_p)
        return out.endpoints, out.kernel_sum_squares

    return BackboneFns(init, apply, space.num_decisions)


def detection_task(backbone: BackboneFns, num_classes: int, resolution: int, weight_decay: float = 4e-5,
                   depthwise_fn: Callable | None = None, extra_depths: tuple | None = None) -> SearchTask:
    """The search task of SSDLite detection on ``backbone``.

    Args:
      backbone: shared-weights backbone returning endpoints.
      num_classes: object classes.
      resolution: input side ``R`` (fixes the anchors).
      weight_decay: L2 rate on the used backbone kernels and the head's conv kernels, in the TF
        convention (``jaxnas.supernet.l2_penalty``: gradient ``weight_decay * w``).
      depthwise_fn: the head's depthwise kernel (``jaxnas.supernet.depthwise_conv`` on CPU).
      extra_depths: the head's extra layers (default SSDLite's 512, 256, 256, 128).

    Batches hold ``image [B, R, R, 3]``, ``boxes [B, G, 4]``, ``labels [B, G]``, ``valid [B, G]``
    (``jaxnas.apps.detection.DetectionStream``). Returns a ``SearchTask(init, loss, quality)``.
    """
    from jaxnas.supernet import l2_penalty

    from jaxnas.detection import (
        DEFAULT_EXTRA_DEPTHS,
        DetectionModel,
        SSDLiteHead,
        assign_targets,
        batch_map,
        postprocess,
        ssd_loss,
    )

    extra_depths = tuple(DEFAULT_EXTRA_DEPTHS if extra_depths is None else extra_depths)
    anchors = jnp.asarray(DetectionModel.anchors(resolution, len(extra_depths)))
    head = hk.transform_with_state(
        lambda endpoints: SSDLiteHead(num_classes, extra_depths, depthwise_fn=depthwise_fn, name="ssdlite")(
            endpoints, True))
    head_state = {}

    def init(key, batch):
        k_backbone, k_head = jax.random.split(key)
        params = backbone.init(k_backbone, batch["image"])
        arch = jnp.zeros((backbone.num_decisions,), jnp.int32)
        # Endpoint shapes do not depend on the architecture (largest widths): shapes only.
        endpoints, _ = jax.eval_shape(lambda p, x: backbone.apply(p, x, arch, None, 0.0, 0.0),
                                      params, batch["image"])
        feats = {k: jnp.zeros(endpoints[k].shape, endpoints[k].dtype) for k in ("C4", "C5")}
        # Why compiled at level 0: XLA:CPU takes tens of seconds to optimise Haiku's threefry draws.
        lowered = jax.jit(head.init).lower(k_head, feats)
        head_params, state = lowered.compile({"xla_backend_optimization_level": 0})(k_head, feats)
        head_state.update(state)
        return {"backbone": params, "head": head_params}

    def forward(params, images, arch, key, op_p, filter_p):
        endpoints, l2 = backbone.apply(params["backbone"], images, arch, key, op_p, filter_p)
        feats = {k: endpoints[k] for k in ("C4", "C5")}
        # Batch statistics: the BN state is always the initial one and the update is dropped.
        (box, logits), _ = head.apply(params["head"], head_state, None, feats)
        head_l2 = sum(jnp.sum(w**2) for w in _kernels(params["head"]))
        return box, logits, l2 + head_l2

    def loss(params, batch, arch, key, op_p, filter_p):
        box, logits, l2 = forward(params, batch["image"], arch, key, op_p, filter_p)
        targets = assign_targets(anchors, batch["boxes"], batch["labels"], batch["valid"])
        return ssd_loss(box, logits, targets)[0] + l2_penalty(l2, weight_decay)

    def quality(params, batch, arch):
        zero = jnp.zeros((), jnp.float32)
        key = jax.random.key_data(jax.random.key(0))
        box, logits, _ = forward(params, batch["image"], arch, key, zero, zero)
        det = postprocess(box, logits, anchors)
        return batch_map(*det, batch["boxes"], batch["labels"], batch["valid"], num_classes=num_classes)["map"]

    return SearchTask(init, loss, quality)


def _kernels(params):
    """Every conv kernel of the head (not BN scales/offsets, not biases)."""
    for leaves in params.values():
        if "w" in leaves:
            yield leaves["w"]
