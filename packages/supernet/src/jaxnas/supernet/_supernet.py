"""The weight-sharing supernet of a space (Haiku), built from ``space.positions``.

``SuperNet(space)`` gives pure ``init`` and ``apply`` functions. The architecture
is an ``int32[D]`` array argument, never Python structure: a new architecture,
or a new warmup probability, reuses the same compiled step.

Shape letters: B = batch, H, W = image size, D = decisions, N = classes.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.supernet import _control, _ops
from jaxnas.supernet._blocks import make_slot_fn
from jaxnas.supernet._child import Endpoints
from jaxnas.supernet._depthwise import resolve_implementation
from jaxnas.supernet._plan import param_shapes, slot_plan
from jaxnas.supernet._regularizer import WEIGHT_DECAY, l2_penalty


class SuperNetOutput(NamedTuple):
    """What :meth:`SuperNet.apply` returns (besides the unchanged state).

    Attributes:
      logits: ``[B, N]``.
      endpoints: ``{"C1": ..., "C4": stride 16, "C5": stride 32, "pooled": [B, C]}``
        (feature maps at the largest widths; inactive channels are zero).
      l2_loss: ``l2_penalty(kernel_sum_squares, weight_decay)`` = ``weight_decay / 2 *
        sum(w**2)`` (gradient ``weight_decay * w``, the TF convention); add it to the training loss.
      kernel_sum_squares: ``sum(w**2)`` over the conv kernels (and kernel channels) this step
        actually used (for callers that apply their own decay rate with ``l2_penalty``).
    """

    logits: jnp.ndarray
    endpoints: dict
    l2_loss: jnp.ndarray
    kernel_sum_squares: jnp.ndarray


def _initializer(shape, role):
    if role == "conv":
        return _ops.conv_init(shape) if len(shape) == 4 else _ops.he_normal(shape[0])
    if role == "dw":
        return _ops.conv_init(shape)
    return jnp.ones if role == "scale" else jnp.zeros


def _slot_ctrl(plan, w):
    """Per-variant weights and masks of one slot (all traced arrays)."""
    pos = plan.position
    mask_in = _control.mask(_control.width_value(w, pos.in_width), plan.in_max)
    mask_out = _control.mask(_control.width_value(w, pos.out_width), plan.out_max)
    out = []
    for v in plan.variants:
        c = {"w_variant": functools.reduce(jnp.multiply, [_control.pair_weight(w, p) for p in v.weight]),
             "w_kernel": tuple(_control.pair_weight(w, k.weight) for k in v.kernels),
             "mask_out": mask_out, "mask_mid": mask_in}
        if v.kind == "bottleneck":
            e = _control.table_value(w, pos.in_width, v.expansion[0], v.e_table)
            c["mask_e"] = c["mask_mid"] = _control.mask(e, v.e_max)
            if v.has_se:
                c["mask_s"] = _control.mask(_control.table_value(w, pos.in_width, v.expansion[0], v.s_table),
                                            v.s_max)
                se_dec, flags = v.se
                c["se_on"] = (jnp.float32(1.0) if se_dec < 0 else w[se_dec, flags.index(True)])
        out.append(c)
    return tuple(out)


def _numpy_init(gen, shape, role):
    if role == "dense":
        return gen.standard_normal(shape, np.float32) * np.float32(0.01)
    if role in ("conv", "dw"):
        fan_in = int(np.prod(shape[:-1])) if role == "conv" else shape[0] * shape[1]
        return gen.standard_normal(shape, np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    return np.ones(shape, np.float32) if role == "scale" else np.zeros(shape, np.float32)


def _used(x):
    return (x > 0).astype(jnp.float32)


def _slot_l2(plan, params, ctrl, cin):
    """Sum of squares of the conv kernels (and channels) this step used in a slot.

    ``cin`` is the slot's input-channel mask. A kernel of an unchosen kernel size,
    a skipped layer or an inactive channel adds nothing (and gets no L2 gradient).
    """
    total = jnp.float32(0.0)
    for v, c in zip(plan.variants, ctrl):
        p, on = v.prefix, _used(c["w_variant"])
        for kp, wk in zip(v.kernels, c["w_kernel"]):
            used = on * _used(wk)
            if v.kind == "conv":
                w = params[f"{p}conv{kp.kernel}_w"]
                total += used * jnp.sum(jnp.square(w) * cin[:, None] * c["mask_out"][None, :])
            else:
                total += used * jnp.sum(jnp.square(params[f"{p}dw{kp.kernel}_w"]) * c["mask_mid"])
        if v.kind == "bottleneck":
            total += on * jnp.sum(jnp.square(params[f"{p}expand_w"][0, 0]) * cin[:, None] * c["mask_e"][None, :])
            if v.has_se:
                se = on * _used(c["se_on"])
                ms = c["mask_e"][:, None] * c["mask_s"][None, :]
                total += se * jnp.sum(jnp.square(params[f"{p}se_reduce_w"]) * ms)
                total += se * jnp.sum(jnp.square(params[f"{p}se_expand_w"]) * ms.T)
        if v.kind != "conv":
            total += on * jnp.sum(jnp.square(params[f"{p}project_w"][0, 0])
                                  * c["mask_mid"][:, None] * c["mask_out"][None, :])
    return total


COMPUTE_DTYPES = ("float32", "bfloat16", "float16")


def compute_dtype_of(value) -> jnp.dtype:
    """The numpy dtype of a ``compute_dtype`` setting (a name or a dtype), checked.

    >>> compute_dtype_of("bfloat16").name, compute_dtype_of(jnp.float32).name
    ('bfloat16', 'float32')
    """
    try:
        dtype = jnp.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in COMPUTE_DTYPES:
        raise ValueError(f"compute_dtype: expected one of {COMPUTE_DTYPES}, got {value!r}")
    return dtype


class _SuperNetModule(hk.Module):
    def __init__(self, net: SuperNet):
        super().__init__(name="supernet")
        self.net = net

    def __call__(self, images, arch, rng, op_warmup, filter_warmup):
        return _forward(self.net, images, arch, rng, op_warmup, filter_warmup)


def _cast(tree, dtype):
    return jax.tree.map(lambda a: a.astype(dtype), tree)


def _forward(net, images, arch, rng, op_warmup, filter_warmup):
    # A plain function (not a module method) so the per-slot hk.name_scope holds.
    # Mixed precision: parameters stay float32 (hk.get_parameter), convolutions run in
    # net.compute_dtype, BN statistics, L2 and the classifier in float32.
    w = _control.choice_weights(net.table, arch, rng, op_warmup, filter_warmup)
    x = images.astype(net.compute_dtype)
    endpoints, l2 = Endpoints(net.space, images.shape[1]), jnp.float32(0.0)
    logits = pooled = None
    for pos, plan in zip(net.space.positions, net.plans):
        if pos.kind == "pool":
            x = jnp.mean(x, axis=(1, 2), keepdims=True)
            continue
        with hk.name_scope(plan.scope if plan is not None else "classifier"):
            if pos.kind == "dense":
                pooled = x.reshape(x.shape[0], -1).astype(jnp.float32)
                cin = pooled.shape[-1]
                wd = hk.get_parameter("w", [cin, net.num_classes], jnp.float32, init=_ops.dense_init())
                b = hk.get_parameter("b", [net.num_classes], jnp.float32, init=jnp.zeros)
                logits = jnp.dot(pooled, wd) + b
                continue
            params = {name: hk.get_parameter(name, list(shape), jnp.float32, init=_initializer(shape, role))
                      for name, (shape, role) in param_shapes(plan).items()}
        ctrl = _slot_ctrl(plan, w)
        l2 = l2 + _slot_l2(plan, params, ctrl, _control.mask(_control.width_value(w, pos.in_width), plan.in_max))
        if net.compute_dtype != jnp.float32:
            params, ctrl = _cast(params, net.compute_dtype), _cast(ctrl, net.compute_dtype)
        x = net.slot_fns[pos.index](params, x, ctrl)
        endpoints.add(x, pos.index)  # which slots are endpoints: Space.feature_maps
    feats = endpoints.as_dict()
    feats["pooled"] = pooled
    return SuperNetOutput(logits, feats, l2_penalty(l2, net.weight_decay), l2)


class SuperNet:
    """A TuNAS weight-sharing supernet for ``space``.

    Args:
      space: a ``jaxnas.searchspace.Space`` (any registered or custom one).
      num_classes: classifier outputs.
      aggressive_sharing: share 1x1 convs/BN/SE across kernel sizes and expansion
        ratios (channel masks); False gives every (layer, kernel, ratio) its own weights.
      remat: rematerialise each choice block in the backward pass (default on).
      depthwise_impl: ``auto`` (``kernel`` on CPU, see ``_cpu_kernel``), ``kernel``, ``shifted`` or ``lax``.
      weight_decay: decay rate of ``SuperNetOutput.l2_loss`` (``weight_decay / 2 * sum(w**2)``).
      compute_dtype: dtype of the convolutions and activations: ``float32`` (default) or
        ``bfloat16`` (mixed precision: parameters, gradients, BN statistics, L2 and logits stay
        float32; measured on GPU in ``benchmarks/step_throughput.py --device gpu``).
      skip_unused: do only the sampled work (same values and gradients): skip kernel
        choices of weight 0 with ``lax.cond``; with ``remat`` also skip variants of weight 0
        (Zero chosen) and run Bottlenecks at their expansion bucket (``lax.switch``), forward
        and backward. Default on. Without ``remat`` only kernel choices are skipped:
        autodiff through ``cond``/``switch`` keeps zero-filled residuals of every branch.

    ``init(rng, images, arch=None) -> (params, state)``;
    ``apply(params, state, images, arch, rng=None, op_warmup=0., filter_warmup=0.)
    -> (SuperNetOutput, state)``. BN always uses batch statistics (``state`` is empty).
    ``arch`` is ``int32[D]``; its values are not checked inside jit: validate sampled
    architectures with ``space.validate`` on the host.
    """

    def __init__(self, space, num_classes: int = 1000, aggressive_sharing: bool = True, remat: bool = True,
                 depthwise_impl: str = "auto", weight_decay: float = WEIGHT_DECAY, skip_unused: bool = True,
                 compute_dtype="float32"):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"SuperNet: num_classes must be a positive int, got {num_classes!r}")
        self.compute_dtype = compute_dtype_of(compute_dtype)
        self.impl = resolve_implementation(depthwise_impl)
        self.space = space
        self.num_classes = int(num_classes)
        self.aggressive_sharing = bool(aggressive_sharing)
        self.remat = bool(remat)
        self.weight_decay = float(weight_decay)
        self.table = _control.DecisionTable(space)
        self.plans = tuple(slot_plan(p, space.filters_base, self.aggressive_sharing) if p.kind == "layer"
                           else None for p in space.positions)
        self.skip_unused = bool(skip_unused)
        self.slot_fns = {p.index: make_slot_fn(plan, self.impl, self.remat, self.skip_unused)
                         for p, plan in zip(space.positions, self.plans) if plan is not None}
        self._transformed = hk.transform_with_state(
            lambda images, arch, rng, op_warmup, filter_warmup:
            _SuperNetModule(self)(images, arch, rng, op_warmup, filter_warmup))

    def _check(self, images, arch):
        if images.ndim != 4 or images.shape[-1] != self.space.input_channels:
            raise ValueError(f"SuperNet: expected images [B, H, W, {self.space.input_channels}], "
                             f"got shape {tuple(images.shape)}")
        arch = jnp.asarray(arch)
        if arch.shape != (self.space.num_decisions,):
            raise ValueError(f"SuperNet: expected arch int32[{self.space.num_decisions}] for space "
                             f"{self.space.name!r}, got shape {tuple(arch.shape)}")
        if not jnp.issubdtype(arch.dtype, jnp.integer):
            raise TypeError(f"SuperNet: arch must be an integer array, got dtype {arch.dtype}")
        return arch.astype(jnp.int32)

    def init(self, rng, images=None, arch=None):
        """``(params, state)``: every weight of every choice, at the largest widths.

        Drawn with numpy on the host (seeded from ``rng``), the same distributions as
        the child network's. Why not Haiku's init: XLA:CPU spends tens of seconds
        compiling one threefry sampler per parameter; this takes milliseconds. The
        result is exactly the tree ``apply`` reads (``supernet/<scope>/<name>``).
        ``images`` and ``arch`` are accepted for symmetry and checked if given.
        """
        if images is not None:
            self._check(images, np.zeros(self.space.num_decisions, np.int32) if arch is None else arch)
        data = np.asarray(jax.random.key_data(rng) if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key)
                          else rng).ravel().astype(np.uint32)
        gen = np.random.default_rng(data.tolist())
        params: dict = {}
        for scope, name, shape, role in self._param_specs():
            params.setdefault(scope, {})[name] = jnp.asarray(_numpy_init(gen, shape, role))
        return params, {}

    def _param_specs(self):
        """Yields ``(scope, name, shape, role)`` of every parameter."""
        for pos, plan in zip(self.space.positions, self.plans):
            if pos.kind == "dense":
                cin = max(pos.in_width.choices)
                yield "supernet/classifier", "w", (cin, self.num_classes), "dense"
                yield "supernet/classifier", "b", (self.num_classes,), "bias"
            elif plan is not None:
                for name, (shape, role) in param_shapes(plan).items():
                    yield f"supernet/{plan.scope}", name, shape, role

    def params_shape(self) -> dict:
        """The parameter tree as ``jax.ShapeDtypeStruct``s (for compile-only analyses)."""
        out: dict = {}
        for scope, name, shape, _ in self._param_specs():
            out.setdefault(scope, {})[name] = jax.ShapeDtypeStruct(shape, jnp.float32)
        return out

    def apply(self, params, state, images, arch, rng=None, op_warmup=0.0, filter_warmup=0.0):
        """One forward pass with batch statistics.

        Args:
          params, state: from :meth:`init`.
          images: ``[B, H, W, C]``.
          arch: ``int32[D]`` (may be traced).
          rng: key for the warmup draws (needed when a warmup probability may be > 0).
          op_warmup: probability that each op decision averages all its choices (Zero included).
          filter_warmup: probability that each width/expansion decision takes its largest choice.

        Returns:
          ``(SuperNetOutput(logits, endpoints, l2_loss, kernel_sum_squares), state)``.
        """
        arch = self._check(images, arch)
        if rng is None and not (isinstance(op_warmup, (int, float)) and isinstance(filter_warmup, (int, float))
                                and op_warmup == 0 and filter_warmup == 0):
            raise ValueError("SuperNet.apply: warmup needs an rng key (pass rng=...), or set "
                             "op_warmup=filter_warmup=0")
        return self._transformed.apply(params, state, None, images, arch, rng,
                                       jnp.float32(op_warmup), jnp.float32(filter_warmup))
