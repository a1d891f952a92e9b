"""SSDLite losses: sigmoid focal loss for classes, smooth L1 for boxes.

Configuration followed: the TF Object Detection API's ``ssdlite_mobilenet_v3_large_320x320_coco``
(MobileNetV3 + SSDLite, the model the TuNAS paper compares its detection searches to):
``weighted_sigmoid_focal`` (alpha 0.75, gamma 2) over all ``K + 1`` columns (background included,
one-hot targets), ``weighted_smooth_l1`` (delta 1) on positive anchors only, both weights 1,
``normalize_loss_by_num_matches`` and ``normalize_loc_loss_by_codesize``. Why focal rather than
softmax + 3:1 hard-negative mining (the MobileNetV2-SSDLite config): it is the configuration of the
baseline the paper reports against, and it has a fixed cost per anchor with no per-image sort, which
suits a jitted search step on any accelerator. The class-logit bias starts at -4.6 (prior 0.01) in
the head to go with it.

Shape letters: ``B`` batch, ``A`` anchors, ``K`` classes (logits have ``K + 1`` columns).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnas.detection._matching import Targets


def sigmoid_focal_loss(logits, targets, alpha: float = 0.75, gamma: float = 2.0):
    """Element-wise sigmoid focal loss (Lin et al. 2017), as the TF API computes it.

    Args:
      logits: ``[..., K + 1]``.
      targets: ``[..., K + 1]`` in {0, 1}.
      alpha: weight of positive entries (negatives get ``1 - alpha``).
      gamma: focusing exponent.

    Returns:
      ``[..., K + 1]`` losses.

    >>> print(sigmoid_focal_loss(jnp.array(0.0), jnp.array(1.0), gamma=0.0, alpha=0.5))
    0.3465736
    """
    ce = jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    p = jax.nn.sigmoid(logits)
    p_t = targets * p + (1 - targets) * (1 - p)
    weight = targets * alpha + (1 - targets) * (1 - alpha)
    return weight * (1 - p_t) ** gamma * ce


def smooth_l1(x, delta: float = 1.0):
    """Huber loss: ``0.5 x^2`` when ``|x| <= delta``, else ``delta (|x| - 0.5 delta)``.

    >>> smooth_l1(jnp.array([0.5, 3.0])).tolist()
    [0.125, 2.5]
    """
    a = jnp.abs(x)
    return jnp.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta))


def ssd_loss(
    box_preds,
    class_logits,
    targets: Targets,
    alpha: float = 0.75,
    gamma: float = 2.0,
    delta: float = 1.0,
    localization_weight: float = 1.0,
    classification_weight: float = 1.0,
):
    """Total SSDLite loss of a batch, normalised by the number of positive anchors.

    Args:
      box_preds: ``[B, A, 4]`` predicted box codes.
      class_logits: ``[B, A, K + 1]`` logits, column 0 = background.
      targets: from :func:`assign_targets`.
      alpha, gamma: focal-loss settings.
      delta: smooth-L1 transition point.
      localization_weight, classification_weight: loss weights.

    Returns:
      ``(loss, {"localization": ..., "classification": ..., "num_positives": ...})``.
    """
    if box_preds.shape[:2] != class_logits.shape[:2] or box_preds.shape[:2] != targets.classes.shape:
        raise ValueError(
            f"box_preds {box_preds.shape}, class_logits {class_logits.shape} and targets "
            f"{targets.classes.shape} must agree on [B, A]; were the anchors built for this "
            "image size and head?"
        )
    num_positives = jnp.sum(targets.positive)
    normalizer = jnp.maximum(num_positives.astype(jnp.float32), 1.0)
    onehot = jax.nn.one_hot(targets.classes, class_logits.shape[-1], dtype=class_logits.dtype)
    cls = jnp.sum(sigmoid_focal_loss(class_logits, onehot, alpha, gamma)) / normalizer
    loc_per_anchor = jnp.sum(smooth_l1(box_preds - targets.boxes, delta), axis=-1) / 4.0
    loc = jnp.sum(jnp.where(targets.positive, loc_per_anchor, 0.0)) / normalizer
    loss = classification_weight * cls + localization_weight * loc
    return loss, {"localization": loc, "classification": cls, "num_positives": num_positives}
