"""Vectorised latency prediction: N architectures in one gather and one sum.

``FactorizedCost`` (jaxnas.searchspace) lists, for every slot, the few decision
combinations its op depends on; here each combination's cost is its table
latency. Predicting is then, for the ``[N, D]`` architectures,

    index[p, n] = offset[p] + sum_j arch[n, deps[p, j]] * radix[p, j]
    latency[n]  = sum_p table[index[p, n]]

The sum runs over the slot (outer) axis of a ``[P, N]`` array, which numpy
reduces row after row, slot after slot in network order: the result equals, bit
for bit, the plain per-op sum ``sum(table.lookup(op) for op in space.network(arch))``.
A ``[P, 1]`` array would be reduced as one contiguous vector, pairwise, and
differ in the last bits, so a single architecture is predicted as two copies.

Shape letters: N architectures, D decisions, P slots, J most decisions per slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from jaxnas.latency._heads import Head, HeadedCost, headed_network
from jaxnas.latency._table import LatencyTable, MissingSignatureError
from jaxnas.searchspace import FactorizedCost, Space, get_space

_CHUNK = 16384


class LatencyModel(NamedTuple):
    """Latency of architectures from a table.

    Attributes:
      predict: ``int[N, D] -> float64[N]`` milliseconds (``int[D]`` -> ``[1]``):
        the table's calibration applied when it has one.
      predict_sum: the same without calibration (the plain sum of op latencies).
      per_slot: ``int[N, D] -> float64[N, P]`` latency of every slot (0 if skipped).
      cost: the ``FactorizedCost`` (``HeadedCost`` with a head) whose ``table, deps,
        radix, offsets`` arrays let the same gather run inside jax (e.g. in a search reward).
      table: the latency table.
    """

    predict: Callable[[np.ndarray], np.ndarray]
    predict_sum: Callable[[np.ndarray], np.ndarray]
    per_slot: Callable[[np.ndarray], np.ndarray]
    cost: FactorizedCost | HeadedCost
    table: LatencyTable


def latency_model(table: LatencyTable, space: Space | None = None, head: Head | None = None) -> LatencyModel:
    """Makes the vectorised predictor of ``table`` for ``space``.

    Args:
      table: a latency table.
      space: the space to predict in (default: the registered space named in
        the table's provenance).
      head: predict backbone + head instead of the classifier network: the
        slots up to the head's last endpoint, plus the head's ops for the
        endpoint widths of each architecture (see :class:`HeadedCost`).

    Raises:
      MissingSignatureError: an op of the space is not in the table (names the
        signature and the build command), raised here, once, not per prediction.

    >>> from jaxnas.searchspace import get_space
    >>> from jaxnas.latency._signatures import space_ops
    >>> from jaxnas.latency._table import LatencyTable, Timing
    >>> space = get_space("proxylessnas")
    >>> table = LatencyTable({"backend": "fake", "space": "proxylessnas", "resolution": 224,
    ...                       "num_classes": 1000, "batch": 1, "dtype": "float32"})
    >>> for op in space_ops(space):
    ...     table.add(op, Timing(1.0, 1.0, 1.0, 1))
    >>> model = latency_model(table, space)
    >>> model.predict(space.sample(np.random.default_rng(0), 3)).shape
    (3,)
    """
    if not isinstance(table, LatencyTable):
        raise TypeError(f"latency_model: expected a LatencyTable, got {type(table).__name__}")
    if space is None:
        space = get_space(table.space)
    if not isinstance(space, Space):
        raise TypeError(f"latency_model: space must be a Space, got {type(space).__name__}")
    if head is None:
        cost = FactorizedCost(space, lambda op: table.lookup(op, space.name), table.resolution,
                              table.num_classes, dtype=np.float64)
    else:
        try:
            cost = HeadedCost(space, head, lambda op: table.lookup(op, space.name), table.resolution,
                              table.num_classes, dtype=np.float64)
        except MissingSignatureError as err:
            if head.name in table.provenance.get("heads", ()):
                raise
            raise MissingSignatureError(f"{err}; the table has no ops of head {head.name!r}: build it with "
                                        f"jaxnas.latency.build_table(space, backend, ..., head=HEAD)") from None
    D = space.num_decisions
    num_choices = space.num_choices
    # A decision with one choice is always 0: it adds nothing to an index, so drop it.
    radix = np.where(num_choices[np.minimum(cost.deps, D - 1)] > 1, cost.radix, 0) if D else cost.radix
    used = [j for j in range(radix.shape[1]) if np.any(radix[:, j])]
    itype = np.int32 if cost.table.size < 2**31 else np.int64
    deps_t = [np.ascontiguousarray(cost.deps[:, j]) for j in used]
    radix_t = [radix[:, j, None].astype(itype) for j in used]
    offsets = cost.offsets[:, None].astype(itype)

    def check(archs) -> np.ndarray:  # int[N, D], validated
        a = np.asarray(archs)
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[1] != D or a.dtype.kind not in "iu":
            return np.atleast_2d(space.validate(archs))  # raises the searchspace's own message
        if a.size and (a.min() < 0 or np.any(a >= num_choices)):
            space.validate(a)
        return a

    def indices(a) -> np.ndarray:  # int[P, n] for a chunk of validated architectures
        # Transposed [D + 1, n]: gathering a slot's decision is a row copy; row D is the padding 0.
        ext = np.zeros((D + 1, a.shape[0]), dtype=itype)
        ext[:D] = a.T
        out = np.repeat(offsets, a.shape[0], axis=1)
        for dep, rad in zip(deps_t, radix_t):  # J: a slot's few decisions, not ops or archs
            out += ext[dep] * rad
        return out

    def predict_sum(archs) -> np.ndarray:
        a = check(archs)
        total = np.empty(a.shape[0], dtype=np.float64)
        # Chunks keep the [P, chunk] index arrays in cache (about 2x faster than one big pass).
        for start in range(0, a.shape[0], _CHUNK):
            chunk = a[start:start + _CHUNK]
            idx = indices(chunk)
            if idx.shape[1] == 1:  # see the module docstring: keep the slot axis an outer axis
                idx = np.repeat(idx, 2, axis=1)
            total[start:start + len(chunk)] = cost.table[idx].sum(axis=0)[:len(chunk)]
        return total

    def per_slot(archs) -> np.ndarray:
        return cost.table[indices(check(archs))].T

    def predict(archs) -> np.ndarray:
        total = predict_sum(archs)
        if table.calibration is None:
            return total
        return table.calibration.a * total + table.calibration.b

    return LatencyModel(predict, predict_sum, per_slot, cost, table)


def network_latency(table: LatencyTable, space: Space, arch, head: Head | None = None) -> float:
    """Plain per-op sum over ``space.network(arch)`` (the reference for :func:`latency_model`).

    With ``head``: the backbone's ops up to the head's endpoints, then the head's ops
    (summed on their own, then added, as the head is one slot of the vectorised model).
    """
    if head is None:
        return sum(table.lookup(op, space.name)
                   for op in space.network(arch, table.resolution, table.num_classes))
    backbone, ops = headed_network(space, head, arch, table.resolution, table.num_classes)
    head_ms = 0.0
    for op in ops:
        head_ms += table.lookup(op, space.name)
    return sum(table.lookup(op, space.name) for op in backbone) + head_ms
