"""Copying supernet weights into a child network ("inherit weights").

Every active channel of the supernet is a leading slice of its largest-width
weights (masks keep the first channels), so a child parameter is the supernet
parameter of the chosen variant and kernel size, sliced to the child's shape.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
from jaxnas.supernet._child import ChildNet, op_scope
from jaxnas.supernet._plan import find_variant


def _child_to_super(v, kernel: int, child_name: str) -> str:
    p = v.prefix
    if v.kind == "conv":
        return f"{p}conv{kernel}_{'w' if child_name == 'conv_w' else child_name}"
    if child_name.startswith("dw_"):
        return f"{p}dw{kernel}_{child_name[3:]}"
    return f"{p}{child_name}"


def inherit_weights(supernet, params, arch, resolution: int = 224, child_name: str = "child"):
    """The parameters of ``ChildNet(supernet.space, arch)`` cut out of ``params``.

    Args:
      supernet: the :class:`SuperNet` that ``params`` belong to.
      params: supernet parameters (from ``supernet.init`` or training).
      arch: the architecture (``int[D]`` or colon string), as for ``ChildNet``.
      resolution: input size used to trace the child's shapes (channels do not depend on it).
      child_name: the ``ChildNet`` module name the result is keyed by.

    Returns:
      Child parameters ``{f"{child_name}/<scope>": {name: array}}``. The child's BN moving
      statistics are not part of it: re-estimate them (a few training-mode batches)
      or start from ``ChildNet``'s initial state.

    >>> import jax, numpy as np
    >>> from jaxnas.searchspace import get_space
    >>> from jaxnas.supernet import SuperNet
    >>> space = get_space("proxylessnas")
    >>> net = SuperNet(space, num_classes=10)
    >>> params, _ = net.init(jax.random.PRNGKey(0))
    >>> child = inherit_weights(net, params, space.sample(np.random.default_rng(0), 1)[0])
    >>> child["child/block1_layer0"]["project_w"].shape
    (1, 1, 32, 16)
    """
    space = supernet.space
    arch = space.validate(arch)
    net = hk.transform_with_state(lambda x: ChildNet(space, arch, supernet.num_classes, name=child_name)(x, True))
    shapes, _ = jax.eval_shape(lambda x: net.init(jax.random.PRNGKey(0), x), 
                               jax.ShapeDtypeStruct((1, resolution, resolution, space.input_channels), jnp.float32))
    plans = {plan.scope: plan for plan in supernet.plans if plan is not None}
    out = {}
    for op in space.network(arch, resolution, supernet.num_classes):
        if op.kind == "pool":
            continue
        scope = op_scope(op)
        child_scope = f"{child_name}/{scope}"
        source = params[f"supernet/{scope}"]
        if op.kind == "dense":
            names = {n: n for n in shapes[child_scope]}
        else:
            v, kp = find_variant(plans[scope], arch)
            names = {n: _child_to_super(v, kp.kernel, n) for n in shapes[child_scope]}
        out[child_scope] = {n: source[s][tuple(slice(0, d) for d in shapes[child_scope][n].shape)]
                            for n, s in names.items()}
    return out
