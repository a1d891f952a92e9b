"""Choice blocks: one layer slot of the supernet, with optional rematerialization.

A slot computes ``sum_v w_v * suffix_v(sum_k w_vk * branch_vk(prefix_v(x)))``
(+ ``x`` when residual), where v runs over the layer variants (op choices; Zero
adds nothing) and k over kernel sizes. For a Bottleneck: prefix = shared 1x1
expand + BN + act, branch_k = depthwise k + its own BN + act, suffix = SE (mixed
off/on) + shared 1x1 project + BN. Channel masks (expansion, SE, widths) are
applied after every BN, so inactive channels are exactly zero.

Rematerialization (``remat=True``): a ``jax.custom_vjp`` whose forward keeps only
the slot's input (and the parameters) and whose backward recomputes the slot,
then differentiates one variant and one kernel choice at a time. Each step goes
through ``lax.optimization_barrier`` with the running gradient sums, so XLA can
neither run the choices side by side (holding all their activations) nor merge
the recomputation with the forward pass. On CPU this needs
``configure_xla()`` (see ``_xla.py``): XLA:CPU otherwise strips the barriers.

Shape letters: B = batch, H, W = spatial, C = channels of the slot's input.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jaxnas.supernet import _ops


def _bn(params, name: str, x):
    mean, var = _ops.batch_stats(x)  # the supernet always uses batch statistics
    return _ops.normalize(x, mean, var, params[f"{name}bn_scale"], params[f"{name}bn_offset"])


def prefix(v, params, x, ctrl_v, impl):
    """Shared part before the kernel choices (Bottleneck: expand)."""
    del impl
    if v.kind != "bottleneck":
        return x
    h = _ops.conv(x, params[f"{v.prefix}expand_w"])
    return _ops.activation(v.activation, _bn(params, f"{v.prefix}expand_", h)) * ctrl_v["mask_e"]


def branch(v, kernel: int, params, h, ctrl_v, impl):
    """One kernel choice: conv (Conv) or depthwise conv, its own BN (or bias), act, mask."""
    p = f"{v.prefix}conv{kernel}_" if v.kind == "conv" else f"{v.prefix}dw{kernel}_"
    if v.kind == "conv":
        y = _ops.conv(h, params[f"{p}w"], v.stride)
        y = _bn(params, p, y) if v.use_bn else y + params[f"{p}bias"]
        return _ops.activation(v.activation, y) * ctrl_v["mask_out"]
    y = _ops.dwconv(h, params[f"{p}w"], v.stride, impl)
    return _ops.activation(v.activation, _bn(params, p, y)) * ctrl_v["mask_mid"]


def suffix(v, params, d, ctrl_v, impl):
    """Shared part after the kernel choices (SE mix, project + BN)."""
    del impl
    if v.kind == "conv":
        return d
    p = v.prefix
    if v.has_se:
        excited = _ops.squeeze_excite(d, params[f"{p}se_reduce_w"], params[f"{p}se_reduce_b"],
                                      params[f"{p}se_expand_w"], params[f"{p}se_expand_b"], ctrl_v["mask_s"])
        d = d + ctrl_v["se_on"] * (excited - d)  # (1 - on) * d + on * SE(d)
    y = _ops.conv(d, params[f"{p}project_w"])
    return _bn(params, f"{p}project_", y) * ctrl_v["mask_out"]


def _weighted_branch(v, kernel, wk, params, h, ctrl_v, impl, skip_unused: bool):
    """``wk * branch(h)``; with ``skip_unused`` a zero weight skips the computation (lax.cond)."""
    def run(params, h):
        return wk * branch(v, kernel, params, h, ctrl_v, impl)

    if not skip_unused or len(v.kernels) == 1:
        return run(params, h)
    shape = jax.eval_shape(run, params, h)
    return lax.cond(wk != 0, run, lambda params, h: jnp.zeros(shape.shape, shape.dtype), params, h)


def slot_forward(plan, params, x, ctrl, impl, skip_unused: bool = False):
    """The slot's output ``[B, H', W', C_out]`` (plain autodiff, everything is kept)."""
    out = None
    for v, ctrl_v in zip(plan.variants, ctrl):
        h = prefix(v, params, x, ctrl_v, impl)
        d = None
        for kp, wk in zip(v.kernels, ctrl_v["w_kernel"]):
            term = _weighted_branch(v, kp.kernel, wk, params, h, ctrl_v, impl, skip_unused)
            d = term if d is None else d + term
        y = ctrl_v["w_variant"] * suffix(v, params, d, ctrl_v, impl)
        out = y if out is None else out + y
    if out is None:  # only Zero choices
        out = jnp.zeros_like(x)
    return out + x if plan.position.residual else out


def _add(a, b):
    return jax.tree.map(jnp.add, a, b)


def _remat_backward(plan, impl, skip_unused, residuals, g):
    params, x, ctrl = residuals
    g_params = jax.tree.map(jnp.zeros_like, params)
    g_x = g if plan.position.residual else jnp.zeros_like(x)
    for v, ctrl_v in zip(plan.variants, ctrl):
        # Barriers tie each recomputation to the incoming gradient and to the sums so far:
        # XLA can neither hoist it next to the forward pass nor run two choices side by side.
        params_b, x_b, g, g_params, g_x = lax.optimization_barrier((params, x, g, g_params, g_x))
        h = prefix(v, params_b, x_b, ctrl_v, impl)
        d = None
        for kp, wk in zip(v.kernels, ctrl_v["w_kernel"]):
            term = _weighted_branch(v, kp.kernel, wk, params_b, h, ctrl_v, impl, skip_unused)
            d = term if d is None else d + term
        _, suf_vjp = jax.vjp(lambda p, d_, v=v, c=ctrl_v: suffix(v, p, d_, c, impl), params_b, d)
        gp, g_d = suf_vjp(ctrl_v["w_variant"] * g)
        g_params = _add(g_params, gp)
        g_h = jnp.zeros_like(h)
        for kp, wk in zip(v.kernels, ctrl_v["w_kernel"]):
            params_k, h_k, g_d, g_params, g_h = lax.optimization_barrier((params_b, h, g_d, g_params, g_h))

            def branch_vjp(params_k, h_k, g_d, v=v, c=ctrl_v, kernel=kp.kernel, wk=wk):
                _, br_vjp = jax.vjp(lambda p, h_: branch(v, kernel, p, h_, c, impl), params_k, h_k)
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
        params_p, x_p, g_h, g_params = lax.optimization_barrier((params_b, x_b, g_h, g_params))
        _, pre_vjp = jax.vjp(lambda p, x_, v=v, c=ctrl_v: prefix(v, p, x_, c, impl), params_p, x_p)
        gp, gx = pre_vjp(g_h)
        g_params, g_x = _add(g_params, gp), g_x + gx
    return g_params, g_x, jax.tree.map(jnp.zeros_like, ctrl)


def make_slot_fn(plan, impl: str, remat: bool, skip_unused: bool = False):
    """``fn(params, x, ctrl) -> y`` for one slot; rematerialised with a custom VJP if ``remat``.

    ``skip_unused``: kernel choices of weight 0 are skipped with ``lax.cond`` instead of
    computed and multiplied by 0 (same values and gradients).
    """
    if not remat:
        return lambda params, x, ctrl: slot_forward(plan, params, x, ctrl, impl, skip_unused)

    @jax.custom_vjp
    def fn(params, x, ctrl):
        return slot_forward(plan, params, x, ctrl, impl, skip_unused)

    def fwd(params, x, ctrl):
        # Only the inputs are saved: every activation inside the slot is recomputed.
        return slot_forward(plan, params, x, ctrl, impl, skip_unused), (params, x, ctrl)

    fn.defvjp(fwd, lambda res, g: _remat_backward(plan, impl, skip_unused, res, g))
    return fn
