"""Heads: fixed ops a task runs on a backbone's feature endpoints (e.g. SSDLite for detection).

A detection network runs the backbone up to the last endpoint its head reads (``C5``), then the
head; the classifier (pool, dense) and any slot after that endpoint never run. The head's ops are
fixed, but their input widths are the endpoints' widths, which a search may choose, so the head
costs one extra slot whose latency depends on those few width decisions:

    cost[n] = sum_{p <= last endpoint slot} table[index[p, n]] + head_table[index_head[n]]

:class:`HeadedCost` stores that in the same ``table, deps, radix, offsets`` arrays as
``jaxnas.searchspace.FactorizedCost``, so every consumer of those arrays (the vectorised
predictor, the jax gather inside a search step) covers the head unchanged.

Endpoints are ``Space.feature_maps`` of jaxnas-searchspace (the rule the supernet follows too).

Shape letters: N architectures, D decisions, P kept slots + 1, J most decisions per slot.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from jaxnas.searchspace import ConcreteOp, FactorizedCost, FeatureMap, Space


# The endpoint rule lives in jaxnas.searchspace (``Space.feature_maps``), shared with the supernet.
Endpoint = FeatureMap


class Head(NamedTuple):
    """Ops a task adds on endpoints.

    Attributes:
      name: recorded in a table's provenance (``ssdlite``).
      endpoints: the endpoint names the head reads (``("C4", "C5")``).
      ops: ``{name: (height, width, channels)} -> [ConcreteOp, ...]`` in execution order.
    """

    name: str
    endpoints: tuple
    ops: Callable[[dict], Sequence[ConcreteOp]]


def space_endpoints(space: Space, resolution: int) -> dict[str, Endpoint]:
    """``{"C1": Endpoint, ...}``: every feature endpoint of ``space`` at ``resolution``.

    The same as ``space.feature_maps(resolution)`` (kept as this package's name for it).

    >>> from jaxnas.searchspace import get_space
    >>> e = space_endpoints(get_space("mobilenet_v3_large"), 320)["C4"]
    >>> e.position, (e.height, e.width), e.channels.choices
    (12, (20, 20), (112,))
    """
    return space.feature_maps(resolution)


class HeadedCost:
    """An additive cost of backbone (up to the head's endpoints) + head, ``FactorizedCost``-shaped.

    Args:
      space: the backbone's space.
      head: the :class:`Head`.
      op_cost: ``ConcreteOp -> float`` (a latency lookup, ``op.macs``, ...).
      resolution, num_classes, dtype: as ``FactorizedCost``.

    Attributes:
      table, deps, radix, offsets: the gather arrays (the head is the last slot).
      last_position: the last backbone slot that runs.
      head_decisions: the decisions the head's cost depends on (endpoint widths).
      head_ops: ``head_ops[k]``: the head's op list for head combination ``k``.

    Raises:
      ValueError: the space lacks an endpoint the head reads.
    """

    def __init__(self, space: Space, head: Head, op_cost: Callable[[ConcreteOp], float],
                 resolution: int = 224, num_classes: int = 1000, dtype=np.float64):
        self.space, self.head = space, head
        endpoints = endpoints_of(space, head, resolution)
        base = FactorizedCost(space, op_cost, resolution, num_classes, dtype)
        self.last_position = last = max(e.position for e in endpoints.values())
        decisions, counts, combos = _width_combinations(space, endpoints)
        self.head_decisions = tuple(decisions)
        self.head_ops = []
        head_table = []
        for shapes in combos:
            ops = list(head.ops(shapes))
            self.head_ops.append(ops)
            total = 0.0
            for op in ops:  # in execution order: the reference per-op sum adds them the same way
                total += op_cost(op)
            head_table.append(total)
        D = space.num_decisions
        J = max(base.deps.shape[1], len(decisions), 1)
        P = last + 2
        self.deps = np.full((P, J), D, dtype=np.int64)
        self.radix = np.zeros((P, J), dtype=np.int64)
        self.offsets = np.zeros(P, dtype=np.int64)
        ends = list(base.offsets[1:]) + [len(base.table)]
        parts, offset = [], 0
        for p in range(last + 1):
            self.deps[p, :base.deps.shape[1]] = base.deps[p]
            self.radix[p, :base.radix.shape[1]] = base.radix[p]
            self.offsets[p] = offset
            parts.append(base.table[base.offsets[p]:ends[p]])
            offset += len(parts[-1])
        self.deps[-1, :len(decisions)] = decisions
        self.radix[-1, :len(decisions)] = np.cumprod([1] + counts[::-1])[:-1][::-1] if counts else []
        self.offsets[-1] = offset
        self.table = np.concatenate(parts + [np.asarray(head_table, dtype=dtype)]).astype(dtype)

    # The same gather as FactorizedCost over the same arrays: indices -> int64[N, P] flat table
    # index of each kept slot (the head last), per_slot -> [N, P] costs, __call__ -> [N] totals.
    indices = FactorizedCost.indices
    per_slot = FactorizedCost.per_slot
    __call__ = FactorizedCost.__call__


def endpoints_of(space: Space, head: Head, resolution: int) -> dict[str, Endpoint]:
    """The endpoints ``head`` reads, checked to exist in ``space``."""
    available = space_endpoints(space, resolution)
    missing = [n for n in head.endpoints if n not in available]
    if missing:
        raise ValueError(f"head {head.name!r} reads endpoints {list(head.endpoints)}, but space {space.name!r} "
                         f"has only {sorted(available)} (missing {missing}); pick a space with those output "
                         f"strides")
    return {n: available[n] for n in head.endpoints}


def _width_combinations(space: Space, endpoints: dict):
    """``(decisions, choice counts, iterator of {name: (h, w, c)})`` over the endpoints' width choices.

    Combinations run in ``itertools.product`` order, the order of the head slot's mixed radix.
    """
    decisions = sorted({e.channels.decision for e in endpoints.values() if e.channels.decision >= 0})
    counts = [int(space.num_choices[d]) for d in decisions]

    def shapes():
        for combo in itertools.product(*[range(c) for c in counts]):
            chosen = dict(zip(decisions, combo))
            yield {n: (e.height, e.width, e.channels.value(chosen.__getitem__)) for n, e in endpoints.items()}

    return decisions, counts, shapes()


def head_ops(space: Space, head: Head, resolution: int) -> list[ConcreteOp]:
    """Every distinct head op (by signature) over the endpoint widths ``space`` can choose.

    What :func:`jaxnas.latency.build_table` measures in addition to the space's ops.
    """
    seen: dict[tuple, ConcreteOp] = {}
    for shapes in _width_combinations(space, endpoints_of(space, head, resolution))[2]:
        for op in head.ops(shapes):
            seen.setdefault(op.signature(), op)
    return list(seen.values())


def headed_network(space: Space, head: Head, arch, resolution: int, num_classes: int = 1000) \
        -> tuple[list[ConcreteOp], list[ConcreteOp]]:
    """``(backbone ops up to the endpoints, head ops)`` of one architecture (the per-op reference)."""
    arch = space.validate(arch)
    endpoints = endpoints_of(space, head, resolution)
    last = max(e.position for e in endpoints.values())
    choose = lambda d: int(arch[d])
    backbone = [space.position_op(p, choose, resolution, num_classes) for p in space.positions[:last + 1]]
    shapes = {n: (e.height, e.width, e.channels.value(choose)) for n, e in endpoints.items()}
    return [op for op in backbone if op is not None], list(head.ops(shapes))
