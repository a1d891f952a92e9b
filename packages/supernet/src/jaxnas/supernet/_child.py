"""The stand-alone child network of one architecture (Haiku, stateful BN).

The network is built from ``space.network(arch, resolution, num_classes)``: the
``ConcreteOp`` list is the single source of truth for every shape, so the
parameter count equals ``jaxnas.searchspace.count_params`` by construction.

Parameter layout (what :func:`jaxnas.supernet.inherit_weights` fills in): one
scope per op, ``{name}/block{b}_layer{l}`` and ``{name}/classifier``, holding
``conv_w [K, K, C, O]`` + ``bn_*`` (or ``bias``) for a Conv; ``dw_w [K, K, C]``,
``dw_bn_*``, ``project_w [1, 1, C, O]``, ``project_bn_*`` for a SepConv;
``expand_w``, ``expand_bn_*``, ``dw_w``, ``dw_bn_*``, optional ``se_reduce_w [E, S]``,
``se_reduce_b``, ``se_expand_w [S, E]``, ``se_expand_b``, then ``project_w``,
``project_bn_*`` for a Bottleneck; ``w [C, classes]`` and ``b`` for the classifier.
BN moving statistics (``*bn_mean``, ``*bn_var``) live in the Haiku state.

Shape letters: B = batch, H, W = image height/width, N = classes.
"""

from __future__ import annotations

import haiku as hk
import jax.numpy as jnp
import numpy as np
from jaxnas.supernet import _ops
from jaxnas.supernet._depthwise import resolve_implementation


def op_scope(op) -> str:
    """The parameter scope of a ``ConcreteOp``: ``block{b}_layer{l}`` or ``classifier``."""
    return "classifier" if op.kind == "dense" else f"block{op.block}_layer{op.layer}"


class Endpoints:
    """Collects, while a network runs, the feature maps ``space.feature_maps(resolution)`` names.

    The endpoint rule has one home, ``jaxnas.searchspace.Space.feature_maps`` (which slot's
    output ``C{n}`` is); this class only picks those outputs up. A skipped slot's output is its
    input, so a network that omits skipped slots reports the map before each op it runs.

    Args:
      space: the ``Space`` the network is built from.
      resolution: the input side (``images.shape[1]``).
    """

    def __init__(self, space, resolution: int):
        self._wanted = sorted((fm.position, name) for name, fm in space.feature_maps(resolution).items())
        self._maps = {}

    def add(self, x, position: int) -> None:
        """``x`` is the output of slot ``position`` and of every slot before it not yet reported."""
        for wanted, name in self._wanted:
            if wanted <= position and name not in self._maps:
                self._maps[name] = x

    def as_dict(self) -> dict:
        """``{"C1": ..., }`` in stride order (only the maps reported so far)."""
        return {name: self._maps[name] for _, name in self._wanted if name in self._maps}


class ChildNet(hk.Module):
    """A concrete network of ``space`` (one architecture), trainable stand-alone.

    Args:
      space: a ``jaxnas.searchspace.Space``.
      arch: the architecture (``int[D]`` or its colon string).
      num_classes: classifier outputs.
      dropout_rate: dropout before the classifier (training only).
      bn_decay, bn_eps: batch norm moving-average decay and epsilon.
      depthwise_impl: ``auto`` (C++ kernels on CPU, else ``shifted``; ``lax`` on GPU/TPU), ``kernel``,
        ``shifted``, ``lax``.
      name: Haiku module name (the parameter prefix).

    Call: ``net(images [B, H, W, 3], is_training) -> (logits [B, N], endpoints)`` with
    ``endpoints`` = ``{"C1": stride 2, ..., "C4": stride 16, "C5": stride 32, "pooled": [B, C]}``.
    Needs an rng (``hk.next_rng_key``) only when training with dropout.

    >>> import haiku as hk, jax, jax.numpy as jnp
    >>> from jaxnas.searchspace import get_space
    >>> space = get_space("mobilenet_v2")
    >>> net = hk.transform_with_state(lambda x, t: ChildNet(space, "", num_classes=10)(x, t))
    >>> x = jnp.zeros((2, 64, 64, 3))
    >>> params, state = jax.eval_shape(lambda x: net.init(jax.random.PRNGKey(0), x, True), x)
    >>> (logits, feats), _ = jax.eval_shape(lambda p, s, x: net.apply(p, s, None, x, False), params, state, x)
    >>> logits.shape, feats["C4"].shape, feats["C5"].shape
    ((2, 10), (2, 4, 4, 96), (2, 2, 2, 320))
    """

    def __init__(self, space, arch, num_classes: int = 1000, dropout_rate: float = 0.0,
                 bn_decay: float = _ops.BN_DECAY, bn_eps: float = _ops.BN_EPS,
                 depthwise_impl: str = "auto", name: str = "child"):
        arch = space.validate(arch)  # checked before Haiku is involved: errors name the culprit
        if arch.ndim != 1:
            raise ValueError(f"ChildNet: expected one architecture int[{space.num_decisions}], "
                             f"got shape {arch.shape}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"ChildNet: num_classes must be a positive int, got {num_classes!r}")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"ChildNet: dropout_rate must be in [0, 1), got {dropout_rate!r}")
        impl = resolve_implementation(depthwise_impl)
        super().__init__(name=name)
        self.impl = impl  # resolved: ``kernel`` also selects the C++ 1x1 weight gradient
        self.space, self.arch = space, arch
        self.num_classes = int(num_classes)
        self.dropout_rate = float(dropout_rate)
        self.bn_decay, self.bn_eps = float(bn_decay), float(bn_eps)

    def ops(self, resolution: int):
        """The ``ConcreteOp`` list this network runs at ``resolution``."""
        return self.space.network(self.arch, resolution, self.num_classes)

    def __call__(self, images, is_training: bool):
        if images.ndim != 4 or images.shape[-1] != self.space.input_channels:
            raise ValueError(f"ChildNet: expected images [B, H, W, {self.space.input_channels}], "
                             f"got shape {tuple(images.shape)}")
        x = images
        endpoints = Endpoints(self.space, images.shape[1])
        slot = {(p.block, p.layer): p.index for p in self.space.positions}
        logits = endpoints_pooled = None
        for op in self.ops(images.shape[1]):
            index = slot[(op.block, op.layer)]
            endpoints.add(x, index - 1)  # the slots skipped since the last op output their input
            if op.kind == "pool":
                x = jnp.mean(x, axis=(1, 2), keepdims=True)
                continue
            with hk.name_scope(op_scope(op)):
                if op.kind == "dense":
                    pooled = x.reshape(x.shape[0], -1)
                    endpoints_pooled = pooled
                    if is_training and self.dropout_rate > 0:
                        pooled = hk.dropout(hk.next_rng_key(), self.dropout_rate, pooled)
                    w = hk.get_parameter("w", [op.in_channels, op.out_channels], pooled.dtype,
                                         init=_ops.dense_init())
                    b = hk.get_parameter("b", [op.out_channels], pooled.dtype, init=jnp.zeros)
                    logits = jnp.dot(pooled, w) + b
                    continue
                x = _op(self, op, x, is_training)
            endpoints.add(x, index)  # no endpoint lies after the global pool: later maps are never taken
        out = endpoints.as_dict()
        out["pooled"] = endpoints_pooled
        return logits, out

# Plain functions, not methods: Haiku would re-enter the module's own name scope for a
# method call and drop the per-op `hk.name_scope` the parameters must live in.
def _bn(net, prefix: str, x, is_training: bool):
    c = x.shape[-1]
    scale = hk.get_parameter(f"{prefix}bn_scale", [c], x.dtype, init=jnp.ones)
    offset = hk.get_parameter(f"{prefix}bn_offset", [c], x.dtype, init=jnp.zeros)
    mean_ema = hk.get_state(f"{prefix}bn_mean", [c], jnp.float32, init=jnp.zeros)
    var_ema = hk.get_state(f"{prefix}bn_var", [c], jnp.float32, init=jnp.ones)
    if is_training:
        mean, var = _ops.batch_stats(x)
        d = net.bn_decay
        hk.set_state(f"{prefix}bn_mean", d * mean_ema + (1 - d) * mean)
        hk.set_state(f"{prefix}bn_var", d * var_ema + (1 - d) * var)
    else:
        mean, var = mean_ema, var_ema
    return _ops.normalize(x, mean, var, scale, offset, net.bn_eps)

def _conv(net, name: str, x, shape, stride: int = 1):
    w = hk.get_parameter(name, shape, x.dtype, init=_ops.conv_init(shape))
    return _ops.conv(x, w, stride, net.impl)

def _dw(net, x, kernel: int, stride: int):
    shape = [kernel, kernel, x.shape[-1]]
    w = hk.get_parameter("dw_w", shape, x.dtype, init=_ops.conv_init(shape))
    return _ops.dwconv(x, w, stride, net.impl)

def _op(net, op, x, is_training: bool):
    k, s, act = op.kernel, op.stride, op.activation
    if op.kind == "conv":
        y = _conv(net, "conv_w", x, [k, k, op.in_channels, op.out_channels], s)
        if op.use_bn:
            y = _bn(net, "", y, is_training)
        else:
            y = y + hk.get_parameter("bias", [op.out_channels], y.dtype, init=jnp.zeros)
        return _ops.activation(act, y)
    if op.kind == "sepconv":
        h = _ops.activation(act, _bn(net, "dw_", _dw(net, x, k, s), is_training))
        y = _bn(net, "project_", _conv(net, "project_w", h, [1, 1, op.in_channels, op.out_channels]),
                     is_training)
    else:  # bottleneck
        e = op.expansion_channels
        h = _conv(net, "expand_w", x, [1, 1, op.in_channels, e])
        h = _ops.activation(act, _bn(net, "expand_", h, is_training))
        h = _ops.activation(act, _bn(net, "dw_", _dw(net, h, k, s), is_training))
        if op.se_channels:
            se = op.se_channels
            h = _ops.squeeze_excite(
                h,
                hk.get_parameter("se_reduce_w", [e, se], h.dtype, init=_ops.he_normal(e)),
                hk.get_parameter("se_reduce_b", [se], h.dtype, init=jnp.zeros),
                hk.get_parameter("se_expand_w", [se, e], h.dtype, init=_ops.he_normal(se)),
                hk.get_parameter("se_expand_b", [e], h.dtype, init=jnp.zeros))
        y = _bn(net, "project_", _conv(net, "project_w", h, [1, 1, e, op.out_channels]), is_training)
    return y + x if op.residual else y

