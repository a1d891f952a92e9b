"""Vectorised per-op costs: params, MACs, or any additive cost such as latency.

Every slot's concrete op depends on a handful of decisions (its own kernel,
expansion, SE, keep/skip, and the widths around it). A ``FactorizedCost``
enumerates those few combinations once per slot and stores the cost of each in
one flat table; the cost of N architectures is then one gather and one sum:

    cost[n] = sum_p table[offset[p] + sum_j arch[n, deps[p, j]] * radix[p, j]]

Shape letters: N architectures, D decisions, P slots, J = most decisions per slot.
"""

from __future__ import annotations

import functools
import itertools
from typing import Callable, Optional

import numpy as np

from jaxnas.searchspace._network import ConcreteOp
from jaxnas.searchspace._space import Space, check_positive_int

# A slot whose ops depend on more decisions than this would need a huge table.
_MAX_COMBOS_PER_SLOT = 2_000_000


class FactorizedCost:
    """An additive cost of architectures, precomputed per slot.

    Args:
      space: the space.
      op_cost: ``ConcreteOp -> float``; skipped layers cost 0.
      resolution: input size.
      num_classes: classifier outputs.
      dtype: table dtype (int64 for counts, float64 for latencies).

    >>> from jaxnas.searchspace import get_space
    >>> space = get_space("proxylessnas")
    >>> params = FactorizedCost(space, lambda op: op.params, dtype=np.int64)
    >>> from jaxnas.searchspace import reference_arch
    >>> int(params(space.parse(reference_arch("proxylessnas_mobile")))[0])
    4080512
    """

    def __init__(self, space: Space, op_cost: Callable[[ConcreteOp], float], resolution: int = 224,
                 num_classes: int = 1000, dtype=np.float64):
        check_positive_int("resolution", resolution)
        check_positive_int("num_classes", num_classes)
        self.space = space
        positions = space.positions
        J = max(1, max(len(p.decisions) for p in positions))
        D = space.num_decisions
        # Column D of the extended architecture is a constant 0 used for padding.
        self.deps = np.full((len(positions), J), D, dtype=np.int64)
        self.radix = np.zeros((len(positions), J), dtype=np.int64)
        self.offsets = np.zeros(len(positions), dtype=np.int64)
        # ops[k]: the concrete op behind flat table index k (None for a skipped layer).
        self.ops: list[Optional[ConcreteOp]] = []
        offset = 0
        for p, pos in enumerate(positions):
            counts = [int(space.num_choices[d]) for d in pos.decisions]
            total = int(np.prod(counts)) if counts else 1
            if total > _MAX_COMBOS_PER_SLOT:
                raise ValueError(f"slot {pos.path} depends on {total} decision combinations; "
                                 f"at most {_MAX_COMBOS_PER_SLOT} are supported")
            radix = np.cumprod([1] + counts[::-1])[:-1][::-1] if counts else []
            self.deps[p, :len(counts)] = pos.decisions
            self.radix[p, :len(counts)] = radix
            self.offsets[p] = offset
            for combo in itertools.product(*[range(c) for c in counts]):
                chosen = dict(zip(pos.decisions, combo))
                self.ops.append(space.position_op(pos, chosen.__getitem__, resolution, num_classes))
            offset += total
        self.table = np.array([0 if op is None else op_cost(op) for op in self.ops], dtype=dtype)

    def indices(self, archs) -> np.ndarray:
        """``int64[N, P]``: flat table index of each slot of each architecture."""
        a = np.atleast_2d(self.space.validate(archs))
        ext = np.concatenate([a, np.zeros((a.shape[0], 1), a.dtype)], axis=1).astype(np.int64)
        return self.offsets + np.einsum("npj,pj->np", ext[:, self.deps], self.radix)

    def per_slot(self, archs) -> np.ndarray:
        """``[N, P]``: cost of every slot."""
        return self.table[self.indices(archs)]

    def networks(self, archs) -> list[list[ConcreteOp]]:
        """The concrete op list of each architecture, looked up instead of rebuilt."""
        return [self.space.assemble([self.ops[k] for k in row]) for row in self.indices(archs)]

    def __call__(self, archs) -> np.ndarray:
        """``[N]``: total cost of each architecture (``archs``: ``int[N, D]`` or ``int[D]``)."""
        return self.per_slot(archs).sum(axis=1)


@functools.lru_cache(maxsize=64)
def _counter(space: Space, what: str, resolution: int, num_classes: int) -> FactorizedCost:
    op_cost = (lambda op: op.params) if what == "params" else (lambda op: op.macs)
    return FactorizedCost(space, op_cost, resolution, num_classes, dtype=np.int64)


def count_params(space: Space, archs, num_classes: int = 1000) -> np.ndarray:
    """Trainable parameters of each architecture: ``int64[N]`` for ``int[N, D]`` (scalar for ``[D]``).

    Conventions: conv kernels, BN scale and offset, SE and classifier biases; no
    BN moving statistics.
    """
    return _squeeze(archs, _counter(space, "params", 224, num_classes)(archs))


def count_macs(space: Space, archs, resolution: int = 224, num_classes: int = 1000) -> np.ndarray:
    """Multiply-accumulates of each architecture (convs, depthwise, SE convs, classifier)."""
    return _squeeze(archs, _counter(space, "macs", resolution, num_classes)(archs))


def _squeeze(archs, values: np.ndarray):
    single = isinstance(archs, str) or np.asarray(archs).ndim == 1
    return values[0] if single else values


def network_cost(ops: list[ConcreteOp], op_cost: Optional[Callable] = None) -> float:
    """Straightforward per-op sum (the reference the vectorised path is tested against)."""
    return sum(op_cost(op) for op in ops)
