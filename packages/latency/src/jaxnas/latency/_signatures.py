"""Op signatures: what a latency table is keyed by, and every signature of a space.

A signature is ``ConcreteOp.signature()`` (op type, input H, W, C, output C,
kernel, stride, expansion width, SE width, activation, BN, residual) plus the
dtype and batch it was measured with. Its key is one file-name-safe string,
for example ``bottleneck_56x56x24_o32_k5_s2_e72_se0_relu_bn_nores_float32_b1``,
so the same id names a table entry, an exported ``.tflite`` file and a row of
an imported CSV.
"""

from __future__ import annotations

import itertools
import re

from jaxnas.searchspace import ConcreteOp, Space

KINDS = ("conv", "sepconv", "bottleneck", "pool", "dense")

_KEY = re.compile(r"^(?P<kind>[a-z]+)_(?P<h>\d+)x(?P<w>\d+)x(?P<c>\d+)_o(?P<o>\d+)_k(?P<k>\d+)_s(?P<s>\d+)"
                  r"_e(?P<e>\d+)_se(?P<se>\d+)_(?P<act>[a-z0-9]+)_(?P<bn>bn|bias)_(?P<res>res|nores)"
                  r"_(?P<dtype>[a-z0-9]+)_b(?P<batch>\d+)$")


def signature_key(op: ConcreteOp, dtype: str = "float32", batch: int = 1) -> str:
    """The table key of an op measured with ``dtype`` and ``batch``.

    >>> from jaxnas.searchspace import ConcreteOp
    >>> signature_key(ConcreteOp("conv", 224, 224, 3, 32, kernel=3, stride=2, activation="relu"))
    'conv_224x224x3_o32_k3_s2_e0_se0_relu_bn_nores_float32_b1'
    """
    (kind, h, w, c, o, k, s, e, se, act, use_bn, residual) = op.signature()
    return (f"{kind}_{h}x{w}x{c}_o{o}_k{k}_s{s}_e{e}_se{se}_{act}_{'bn' if use_bn else 'bias'}"
            f"_{'res' if residual else 'nores'}_{dtype}_b{batch}")


def op_from_key(key: str) -> tuple[ConcreteOp, str, int]:
    """Inverse of :func:`signature_key`: ``(op, dtype, batch)``.

    Raises:
      ValueError: ``key`` is not a signature key (the message shows the expected form).

    >>> op, dtype, batch = op_from_key("pool_7x7x1280_o1280_k0_s1_e0_se0_none_bn_nores_float32_b1")
    >>> op.kind, op.in_channels, dtype, batch
    ('pool', 1280, 'float32', 1)
    """
    m = _KEY.match(key.strip()) if isinstance(key, str) else None
    if m is None or m["kind"] not in KINDS:
        raise ValueError(f"signature id {key!r}: expected the form "
                         "KIND_HxWxC_oOUT_kK_sS_eE_seSE_ACT_bn|bias_res|nores_DTYPE_bBATCH, e.g. "
                         "'conv_224x224x3_o32_k3_s2_e0_se0_relu_bn_nores_float32_b1'")
    op = ConcreteOp(m["kind"], int(m["h"]), int(m["w"]), int(m["c"]), int(m["o"]), kernel=int(m["k"]),
                    stride=int(m["s"]), expansion_channels=int(m["e"]), se_channels=int(m["se"]),
                    activation=m["act"], use_bn=m["bn"] == "bn", residual=m["res"] == "res")
    return op, m["dtype"], int(m["batch"])


def space_ops(space: Space, resolution: int = 224, num_classes: int = 1000) -> list[ConcreteOp]:
    """Every distinct op (by signature) that some architecture of ``space`` contains.

    Walks the same per-slot decision combinations as ``FactorizedCost`` (each
    slot's op depends on a handful of decisions), so every op a prediction can
    look up is listed, and no shape is derived here. Order: slot order, then
    combination order (stable across runs, which makes builds resumable).

    >>> from jaxnas.searchspace import get_space
    >>> len(space_ops(get_space("proxylessnas")))
    73
    """
    seen: dict[tuple, ConcreteOp] = {}
    for pos in space.positions:
        counts = [int(space.num_choices[d]) for d in pos.decisions]
        for combo in itertools.product(*[range(c) for c in counts]):
            chosen = dict(zip(pos.decisions, combo))
            op = space.position_op(pos, chosen.__getitem__, resolution, num_classes)
            if op is not None:
                seen.setdefault(op.signature(), op)
    return list(seen.values())
