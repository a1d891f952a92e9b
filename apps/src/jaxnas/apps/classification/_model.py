"""The classification networks the apps train, as pure functions over jaxnas-supernet.

``supernet_fns(space, num_classes)`` is the search side (shared weights, batch
statistics, op/filter warmup, L2 on the kernels the architecture uses);
``classification_task`` turns it into the ``SearchTask`` of the search loop.
``child_network`` is the stand-alone side: one architecture, moving BN
statistics, as trained (``_train``) and exported (``_export``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxnas.apps._search_loop import SearchTask


class SupernetFns(NamedTuple):
    """Shared-weights network.

    Attributes:
      init: ``(key, images [B, R, R, 3]) -> params`` (called outside jit: it may draw on the host).
      apply: ``(params, images, arch int32[D], key uint32[2], op_p, filter_p) -> (logits float32[B, K], l2)``
        with batch statistics, op/filter warmup with probabilities ``op_p``/``filter_p``,
        and ``l2`` the sum of squares of the conv kernels ``arch`` used.
    """

    init: Callable
    apply: Callable


def supernet_fns(space, num_classes: int, remat: bool = True, compute_dtype: str = "float32") -> SupernetFns:
    """The jaxnas-supernet ``SuperNet`` of ``space`` as :class:`SupernetFns` (BN state is empty: batch stats).

    ``compute_dtype="bfloat16"``: mixed precision (float32 parameters, BN statistics, L2, logits).
    """
    from jaxnas.supernet import SuperNet
    net = SuperNet(space, num_classes=num_classes, remat=remat, compute_dtype=compute_dtype)

    def init(key, images):
        params, _ = net.init(key, images)
        return params

    def apply(params, images, arch, key, op_p, filter_p):
        out, _ = net.apply(params, {}, images, arch, key, op_p, filter_p)
        return out.logits, out.kernel_sum_squares

    return SupernetFns(init, apply)


def cross_entropy(logits, labels, num_classes: int, label_smoothing: float = 0.0):
    """Mean softmax cross-entropy with optional label smoothing. ``logits [B, K]``, ``labels int[B]``."""
    targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), label_smoothing) if label_smoothing \
        else jax.nn.one_hot(labels, num_classes)
    return jnp.mean(optax.softmax_cross_entropy(logits, targets))


def classification_task(model: SupernetFns, num_classes: int, weight_decay: float,
                        label_smoothing: float = 0.1) -> SearchTask:
    """The search task: loss = cross-entropy + L2 of the used kernels; quality = accuracy.

    Args:
      model: the shared-weights network.
      num_classes: classifier outputs.
      weight_decay: L2 rate in the TF convention (``jaxnas.supernet.l2_penalty``: penalty
        ``weight_decay / 2 * sum(w**2)``, gradient ``weight_decay * w``), as the TuNAS reference.
      label_smoothing: of the shared weights' cross-entropy (the reference: 0.1).
    """
    from jaxnas.supernet import l2_penalty

    def init(key, batch):
        return model.init(key, batch["image"])

    def loss(params, batch, arch, key, op_p, filter_p):
        logits, l2 = model.apply(params, batch["image"], arch, key, op_p, filter_p)
        return cross_entropy(logits, batch["label"], num_classes, label_smoothing) + l2_penalty(l2, weight_decay)

    def quality(params, batch, arch):
        zero = jnp.zeros((), jnp.float32)
        logits, _ = model.apply(params, batch["image"], arch, jax.random.key_data(jax.random.key(0)), zero, zero)
        return jnp.mean((jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32))

    return SearchTask(init, loss, quality)


def child_network(space, arch, num_classes: int, dropout: float, bn_momentum: float, bn_eps: float,
                  depthwise_impl: str = "auto"):
    """``hk.transform_with_state`` of the child network: ``apply(params, state, rng, images, is_training)``."""
    import haiku as hk
    from jaxnas.supernet import ChildNet

    def forward(images, is_training):
        return ChildNet(space, arch, num_classes=num_classes, dropout_rate=dropout, bn_decay=bn_momentum,
                        bn_eps=bn_eps, depthwise_impl=depthwise_impl)(images, is_training)[0]

    return hk.transform_with_state(forward)
