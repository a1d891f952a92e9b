"""Choice blocks: one layer slot of the supernet, with optional rematerialization.

A slot computes ``sum_v w_v * suffix_v(sum_k w_vk * branch_vk(prefix_v(x)))``
(+ ``x`` when residual), where v runs over the layer variants (op choices; Zero
adds nothing) and k over kernel sizes. For a Bottleneck: prefix = shared 1x1
expand + BN + act, branch_k = depthwise k + its own BN + act, suffix = SE (mixed
off/on) + shared 1x1 project + BN. Channel masks (expansion, SE, widths) are
applied after every BN, so inactive channels are exactly zero.

Rematerialization (``remat=True``): a ``jax.custom_vjp`` whose forward keeps only
the slot's input (and the parameters) and whose backward recomputes the slot. With
one active kernel choice (every step after warmup) a variant is recomputed once and
differentiated as one path; with several (op warmup) it is recomputed and
differentiated one kernel choice at a time, each step going through
``lax.optimization_barrier`` with the running gradient sums, so XLA can neither run
the choices side by side (holding all their activations) nor merge the
recomputation with the forward pass. On CPU this needs ``configure_xla()`` (see
``_xla.py``): XLA:CPU otherwise strips the barriers.

Doing only the sampled work (``skip_unused``, under remat): a variant of weight 0 (a
Zero layer chosen) is skipped with ``lax.cond``, a Bottleneck runs at its expansion
bucket (``lax.switch`` over at most 4 widths, see :func:`expansion_buckets`) and a
kernel choice of weight 0 is skipped, in the forward and the backward pass. The
branch index is data, so a new architecture never retraces.

Shape letters: B = batch, H, W = spatial, C = channels of the slot's input.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxnas.supernet import _ops
from jaxnas.supernet._batchnorm import bn_act


def _bn_act(params, name: str, x, act: str, mask, impl):
    """``act(BN(x)) * mask``; the supernet always uses batch statistics (fused on CPU)."""
    return bn_act(x, params[f"{name}bn_scale"], params[f"{name}bn_offset"], mask, act, _ops.BN_EPS, impl)


def prefix(v, params, x, ctrl_v, impl):
    """Shared part before the kernel choices (Bottleneck: expand)."""
    if v.kind != "bottleneck":
        return x
    h = _ops.conv(x, params[f"{v.prefix}expand_w"], 1, impl)
    return _bn_act(params, f"{v.prefix}expand_", h, v.activation, ctrl_v["mask_e"], impl)


def branch(v, kernel: int, params, h, ctrl_v, impl):
    """One kernel choice: conv (Conv) or depthwise conv, its own BN (or bias), act, mask."""
    p = f"{v.prefix}conv{kernel}_" if v.kind == "conv" else f"{v.prefix}dw{kernel}_"
    if v.kind == "conv":
        y = _ops.conv(h, params[f"{p}w"], v.stride, impl)
        if v.use_bn:
            return _bn_act(params, p, y, v.activation, ctrl_v["mask_out"], impl)
        return _ops.activation(v.activation, y + params[f"{p}bias"]) * ctrl_v["mask_out"]
    y = _ops.dwconv(h, params[f"{p}w"], v.stride, impl)
    return _bn_act(params, p, y, v.activation, ctrl_v["mask_mid"], impl)


def suffix(v, params, d, ctrl_v, impl):
    """Shared part after the kernel choices (SE mix, project + BN)."""
    if v.kind == "conv":
        return d
    p = v.prefix
    if v.has_se:
        excited = _ops.squeeze_excite(d, params[f"{p}se_reduce_w"], params[f"{p}se_reduce_b"],
                                      params[f"{p}se_expand_w"], params[f"{p}se_expand_b"], ctrl_v["mask_s"])
        d = d + ctrl_v["se_on"] * (excited - d)  # (1 - on) * d + on * SE(d)
    y = _ops.conv(d, params[f"{p}project_w"], 1, impl)
    return _bn_act(params, f"{p}project_", y, "none", ctrl_v["mask_out"], impl)


def _weighted_branch(v, kernel, wk, params, h, ctrl_v, impl, skip_unused: bool):
    """``wk * branch(h)``; with ``skip_unused`` a zero weight skips the computation (lax.cond)."""
    def run(params, h):
        return wk * branch(v, kernel, params, h, ctrl_v, impl)

    if not skip_unused or len(v.kernels) == 1:
        return run(params, h)
    channels = params[f"{v.prefix}conv{kernel}_w"].shape[-1] if v.kind == "conv" else h.shape[-1]
    shape = _out_shape(h, v.stride, channels)
    return lax.cond(wk != 0, run, lambda params, h: jnp.zeros(shape, h.dtype), params, h)


def _out_shape(x, stride: int, channels: int) -> tuple:
    """``[B, ceil(H / stride), ceil(W / stride), channels]`` (SAME padding), without tracing."""
    return (x.shape[0], -(-x.shape[1] // stride), -(-x.shape[2] // stride), channels)


# ---------------------------------------------------------------- expansion buckets
BUCKET_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def expansion_buckets(v) -> tuple:
    """The expansion widths a Bottleneck variant is computed at (``()`` for other kinds).

    For each fraction of the largest width in ``BUCKET_FRACTIONS``, the smallest expansion
    width the variant can take that is at least that large: at most 4 buckets (each one
    is compiled), and an active width runs at most ~2x wider than needed. In
    ``proxylessnas`` (ratios 3 and 6) the buckets are exactly the two widths.

    >>> from types import SimpleNamespace as S
    >>> expansion_buckets(S(kind="bottleneck", e_table=((48, 96),)))
    (48, 96)
    >>> expansion_buckets(S(kind="bottleneck", e_table=((8, 16, 24, 32, 40, 48, 64),)))
    (16, 32, 48, 64)
    """
    if v.kind != "bottleneck":
        return ()
    widths = sorted({e for row in v.e_table for e in row})
    return tuple(sorted({min(e for e in widths if e >= f * widths[-1]) for f in BUCKET_FRACTIONS}))


def _narrow_params(v, params, e):
    """The variant's expansion-sized parameters cut to their first ``e`` channels.

    Inactive expansion channels are exactly zero under the mask, so running the variant
    on the first ``e`` channels only gives the same values; slicing inside the function
    being differentiated gives the same (zero-padded) gradients.
    """
    if e is None:
        return params
    p, out = v.prefix, dict(params)
    cut = {f"{p}expand_w": (Ellipsis, slice(0, e)), f"{p}expand_bn_scale": slice(0, e),
           f"{p}expand_bn_offset": slice(0, e), f"{p}project_w": (Ellipsis, slice(0, e), slice(None))}
    for kp in v.kernels:
        cut.update({f"{p}dw{kp.kernel}_w": (Ellipsis, slice(0, e)), f"{p}dw{kp.kernel}_bn_scale": slice(0, e),
                    f"{p}dw{kp.kernel}_bn_offset": slice(0, e)})
    if v.has_se:
        cut.update({f"{p}se_reduce_w": slice(0, e), f"{p}se_expand_w": (slice(None), slice(0, e)),
                    f"{p}se_expand_b": slice(0, e)})
    for name, index in cut.items():
        out[name] = params[name][index]
    return out


def _narrow_ctrl(ctrl_v, e):
    if e is None:
        return ctrl_v
    return {**ctrl_v, "mask_e": ctrl_v["mask_e"][:e], "mask_mid": ctrl_v["mask_mid"][:e]}


def _dispatch(v, ctrl_v, skip: bool, body, zeros, *args):
    """``body(*args, e)`` for the variant, doing only the work the architecture needs.

    With ``skip``: a variant of weight 0 (e.g. Zero chosen) runs ``zeros(*args)`` instead
    (``lax.cond``), and a Bottleneck runs at the smallest expansion bucket that holds its
    active channels (``lax.switch``; the mask still zeroes any channel beyond the active
    count, so any mask, also a fractional one, gives the same values as the full width).
    Without ``skip``: ``body(*args, None)`` at the largest widths.
    """
    buckets = expansion_buckets(v) if skip else ()
    if len(buckets) > 1:
        active = jnp.sum(ctrl_v["mask_e"].astype(jnp.float32))  # exact counts also under bfloat16
        index = jnp.sum((jnp.asarray(buckets[:-1], jnp.float32) < active - 0.5).astype(jnp.int32))
        branches = [functools.partial(lambda e, *a: body(*a, e), e) for e in buckets[:-1]]
        branches.append(lambda *a: body(*a, None))

        def run(*a):
            return lax.switch(index, branches, *a)
    else:
        def run(*a):
            return body(*a, None)
    if skip and any(d >= 0 for d, _ in v.weight):
        return lax.cond(ctrl_v["w_variant"] != 0, run, zeros, *args)
    return run(*args)


# ---------------------------------------------------------------- forward
def _variant_forward(v, params, x, ctrl_v, impl, skip_unused: bool, e):
    """``w_variant * suffix(sum_k w_k * branch_k(prefix(x)))`` at expansion width ``e``."""
    params, c = _narrow_params(v, params, e), _narrow_ctrl(ctrl_v, e)
    h = prefix(v, params, x, c, impl)
    d = None
    for kp, wk in zip(v.kernels, c["w_kernel"]):
        term = _weighted_branch(v, kp.kernel, wk, params, h, c, impl, skip_unused)
        d = term if d is None else d + term
    return c["w_variant"] * suffix(v, params, d, c, impl)


def slot_forward(plan, params, x, ctrl, impl, skip_unused: bool = False, skip_variants: bool = False):
    """The slot's output ``[B, H', W', C_out]`` (plain autodiff, everything is kept).

    ``skip_variants``: skip variants of weight 0 and run Bottlenecks at their expansion
    bucket (see :func:`_dispatch`); only used under the rematerialising VJP, because
    autodiff through ``lax.cond``/``switch`` keeps (zero-filled) residuals of every branch.
    """
    out = None
    for v, ctrl_v in zip(plan.variants, ctrl):
        def body(params, x, e, v=v, ctrl_v=ctrl_v):
            return _variant_forward(v, params, x, ctrl_v, impl, skip_unused, e)

        shape = _out_shape(x, v.stride, plan.out_max)
        y = _dispatch(v, ctrl_v, skip_variants, body, lambda p, x_, s=shape: jnp.zeros(s, x_.dtype), params, x)
        out = y if out is None else out + y
    if out is None:  # only Zero choices
        out = jnp.zeros_like(x)
    return out + x if plan.position.residual else out


def _add(a, b):
    return jax.tree.map(jnp.add, a, b)


# ---------------------------------------------------------------- rematerialising backward
def _single_kernel_vjp(v, kernel, wk, params, x, g, c, impl, narrow):
    """``(d params, d x)`` of the variant when ``kernel`` is its only active kernel choice.

    One recomputation and plain autodiff: the activations of one path are held, as in a
    child network (all kernels mixed take :func:`_variant_backward`'s serial route).
    """
    def term(p, x_):
        p = narrow(p)
        return c["w_variant"] * suffix(v, p, wk * branch(v, kernel, p, prefix(v, p, x_, c, impl), c, impl), c, impl)

    return jax.vjp(term, params, x)[1](g)


def _variant_backward(v, params, x, g, ctrl_v, impl, skip_unused: bool, e):
    """``(d params, d x)`` of one variant's term.

    With one active kernel choice (always after warmup) the variant is recomputed once
    and differentiated as one path; with several (op warmup) they are recomputed and
    differentiated one at a time (:func:`_mixed_backward`).
    """
    c = _narrow_ctrl(ctrl_v, e)

    def narrow(p):
        return _narrow_params(v, p, e)

    if len(v.kernels) == 1:
        return _single_kernel_vjp(v, v.kernels[0].kernel, c["w_kernel"][0], params, x, g, c, impl, narrow)
    if not skip_unused:
        return _mixed_backward(v, params, x, g, c, impl, skip_unused, narrow)
    weights = jnp.stack(c["w_kernel"])
    singles = [functools.partial(lambda k, *a: _single_kernel_vjp(v, v.kernels[k].kernel, weights[k], *a, c,
                                                                  impl, narrow), k)
               for k in range(len(v.kernels))]

    def single(params, x, g):
        return lax.switch(jnp.argmax(weights != 0), singles, params, x, g)

    def mixed(params, x, g):
        return _mixed_backward(v, params, x, g, c, impl, skip_unused, narrow)

    return lax.cond(jnp.sum(weights != 0) == 1, single, mixed, params, x, g)


def _mixed_backward(v, params, x, g, c, impl, skip_unused: bool, narrow):
    """The serial route: recompute the variant, then differentiate one kernel choice at a time."""
    h = prefix(v, narrow(params), x, c, impl)
    d = None
    for kp, wk in zip(v.kernels, c["w_kernel"]):
        term = _weighted_branch(v, kp.kernel, wk, narrow(params), h, c, impl, skip_unused)
        d = term if d is None else d + term
    _, suf_vjp = jax.vjp(lambda p, d_: suffix(v, narrow(p), d_, c, impl), params, d)
    g_params, g_d = suf_vjp(c["w_variant"] * g)
    g_h = jnp.zeros_like(h)
    for kp, wk in zip(v.kernels, c["w_kernel"]):
        # Barriers: one kernel choice's recomputation at a time, after the sums so far.
        params_k, h_k, g_d, g_params, g_h = lax.optimization_barrier((params, h, g_d, g_params, g_h))

        def branch_vjp(params_k, h_k, g_d, kernel=kp.kernel, wk=wk):
            _, br_vjp = jax.vjp(lambda p, h_: branch(v, kernel, narrow(p), h_, c, impl), params_k, h_k)
            return br_vjp(wk * g_d)

        if skip_unused and len(v.kernels) > 1:
            gp, gh = lax.cond(wk != 0, branch_vjp,
                              lambda p, h_, _: (jax.tree.map(jnp.zeros_like, p), jnp.zeros_like(h_)),
                              params_k, h_k, g_d)
        else:
            gp, gh = branch_vjp(params_k, h_k, g_d)
        g_params, g_h = _add(g_params, gp), g_h + gh
    # The prefix (expand) is differentiated last and recomputed once more for it, so its
    # activations are not held while the kernel choices run.
    params_p, x_p, g_h, g_params = lax.optimization_barrier((params, x, g_h, g_params))
    _, pre_vjp = jax.vjp(lambda p, x_: prefix(v, narrow(p), x_, c, impl), params_p, x_p)
    gp, gx = pre_vjp(g_h)
    return _add(g_params, gp), gx


def _remat_backward(plan, impl, skip_unused, residuals, g):
    params, x, ctrl = residuals
    g_params = jax.tree.map(jnp.zeros_like, params)
    g_x = g if plan.position.residual else jnp.zeros_like(x)
    for v, ctrl_v in zip(plan.variants, ctrl):
        # Barriers tie each recomputation to the incoming gradient and to the sums so far:
        # XLA can neither hoist it next to the forward pass nor run two choices side by side.
        params_b, x_b, g, g_params, g_x = lax.optimization_barrier((params, x, g, g_params, g_x))

        def body(params_b, x_b, g, e, v=v, ctrl_v=ctrl_v):
            return _variant_backward(v, params_b, x_b, g, ctrl_v, impl, skip_unused, e)

        def zeros(params_b, x_b, g):
            return jax.tree.map(jnp.zeros_like, params_b), jnp.zeros_like(x_b)

        gp, gx = _dispatch(v, ctrl_v, skip_unused, body, zeros, params_b, x_b, g)
        g_params, g_x = _add(g_params, gp), g_x + gx
    return g_params, g_x, jax.tree.map(jnp.zeros_like, ctrl)


def make_slot_fn(plan, impl: str, remat: bool, skip_unused: bool = False):
    """``fn(params, x, ctrl) -> y`` for one slot; rematerialised with a custom VJP if ``remat``.

    ``skip_unused``: kernel choices of weight 0 are skipped with ``lax.cond`` instead of
    computed and multiplied by 0 (same values and gradients). With ``remat`` also whole
    variants of weight 0 (a Zero layer chosen) are skipped and a Bottleneck runs at its
    sampled expansion width (``lax.switch`` over the expansion buckets), forward and backward.
    """
    if not remat:
        return lambda params, x, ctrl: slot_forward(plan, params, x, ctrl, impl, skip_unused)

    def forward(params, x, ctrl):
        return slot_forward(plan, params, x, ctrl, impl, skip_unused, skip_variants=skip_unused)

    @jax.custom_vjp
    def fn(params, x, ctrl):
        return forward(params, x, ctrl)

    def fwd(params, x, ctrl):
        # Only the inputs are saved: every activation inside the slot is recomputed.
        return forward(params, x, ctrl), (params, x, ctrl)

    fn.defvjp(fwd, lambda res, g: _remat_backward(plan, impl, skip_unused, res, g))
    return fn
