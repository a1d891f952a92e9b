"""The stand-alone detector of one architecture: the jaxnas child network's C4/C5 + SSDLite."""

from __future__ import annotations

import functools


def detection_network(space, arch, num_classes: int, bn_momentum: float, bn_eps: float, extra_depths=None,
                      depthwise_impl: str = "auto"):
    """``hk.transform_with_state``: ``apply(params, state, rng, images, is_training) -> (boxes, logits)``.

    Args:
      space, arch: the backbone (a ``jaxnas.supernet.ChildNet``, scope ``backbone``).
      num_classes: ``K`` object classes (the class logits have ``K + 1`` columns, 0 = background).
      bn_momentum, bn_eps: batch norm of backbone and head.
      extra_depths: the SSDLite extra layers (default SSDLite's).
      depthwise_impl: the depthwise kernels of backbone and head (``jaxnas.supernet.depthwise_conv``'s
        ``impl``; ``lax`` for a TFLite export).

    The outputs are ``box_codes [B, A, 4]`` and ``class_logits [B, A, K + 1]``.
    """
    import haiku as hk
    from jaxnas.detection import DetectionModel
    from jaxnas.supernet import ChildNet, depthwise_conv

    def backbone(images, is_training):
        net = ChildNet(space, arch, num_classes=1, bn_decay=bn_momentum, bn_eps=bn_eps,
                       depthwise_impl=depthwise_impl, name="backbone")
        return net(images, is_training)[1]

    def forward(images, is_training):
        kw = {} if extra_depths is None else {"extra_depths": tuple(extra_depths)}
        head_dw = functools.partial(depthwise_conv, impl=depthwise_impl)
        return DetectionModel(backbone, num_classes, depthwise_fn=head_dw, **kw)(images, is_training)

    return hk.transform_with_state(forward)
