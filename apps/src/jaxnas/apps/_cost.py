"""The cost a search trades accuracy against: latency from a jaxnas-latency table, or MACs.

``search_cost(space, table_path, target, ...)`` returns a :class:`SearchCost` with
a numpy predictor (reports), a jax predictor (inside the search step, one gather
and sum), the unit, the numeric target and the bounds of the space. The target
is a number in the cost's unit or the name of a reference network (``proxylessnas_mobile``):
its cost on the same table, which is how TuNAS chose 84 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from jaxnas.apps._search_loop import factorized_cost_fn
from jaxnas.searchspace import (
    REFERENCE_NAMES,
    FactorizedCost,
    Space,
    reference_arch,
    reference_spaces,
)


class SearchCost(NamedTuple):
    """Cost of architectures in one unit.

    Attributes:
      predict: ``int[N, D] -> float64[N]`` (numpy).
      jax_fn: ``int32[N, D] -> float32[N]`` (jittable).
      unit: ``"ms"`` or ``"M MACs"``.
      target: the numeric target in ``unit``.
      bounds: ``(low, high)``: every architecture's cost lies inside.
      source: what the cost comes from (table path or ``macs@R``).
    """

    predict: Callable
    jax_fn: Callable
    unit: str
    target: float
    bounds: tuple
    source: str


def search_cost(space: Space, latency_table: str | None, target, resolution: int,
                num_classes: int) -> SearchCost:
    """Builds the cost of ``space``: latency from ``latency_table`` (path) or MACs at ``resolution``.

    Raises:
      ValueError: a table of another space, an unknown reference network, or a
        target outside what the space can reach.

    >>> from jaxnas.searchspace import get_space
    >>> c = search_cost(get_space("proxylessnas"), None, "proxylessnas_mobile", 224, 1000)
    >>> c.unit, round(c.target, 1)
    ('M MACs', 320.4)
    """
    if latency_table:
        from jaxnas.latency import LatencyTable, latency_model
        table = LatencyTable.load(latency_table)
        if space.name not in table.spaces:
            raise ValueError(f"latency table {latency_table!r} was built for space {table.space!r}, not "
                             f"{space.name!r}; build one with `jaxnas-latency build --space {space.name} "
                             f"--backend litert --out TABLE.json` or pick --config.space={table.space}")
        model = latency_model(table, space)
        fc = model.cost
        cal = table.calibration
        scale, offset = (float(cal.a), float(cal.b)) if cal is not None else (1.0, 0.0)
        predict = model.predict
        unit, source = "ms", latency_table
    else:
        fc = FactorizedCost(space, lambda op: op.macs / 1e6, resolution, num_classes, dtype=np.float64)
        scale, offset = 1.0, 0.0
        predict = fc
        unit, source = "M MACs", f"macs@{resolution}"
    jax_fn = factorized_cost_fn(fc, scale, offset)
    # Exact bounds of an additive cost: the cheapest / dearest entry of every slot.
    lo = hi = 0.0
    for p in range(len(fc.offsets)):
        end = fc.offsets[p + 1] if p + 1 < len(fc.offsets) else len(fc.table)
        lo += float(np.min(fc.table[fc.offsets[p]:end]))
        hi += float(np.max(fc.table[fc.offsets[p]:end]))
    bounds = (scale * lo + offset, scale * hi + offset)
    value = resolve_target(space, target, predict, unit)
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"target {value:.4g} {unit} is outside what space {space.name!r} can reach "
                         f"({bounds[0]:.4g} - {bounds[1]:.4g} {unit} on {source}); choose a target inside")
    return SearchCost(lambda a: np.asarray(predict(np.atleast_2d(a)), np.float64), jax_fn, unit, value, bounds,
                      source)


def resolve_target(space: Space, target, predict: Callable, unit: str) -> float:
    """A numeric target, or the cost of reference network ``target`` in ``space``."""
    if isinstance(target, str):
        if target not in REFERENCE_NAMES:
            raise ValueError(f"target {target!r} is neither a number ({unit}) nor a reference network "
                             f"({', '.join(REFERENCE_NAMES)})")
        if space.name not in reference_spaces(target):
            raise ValueError(f"reference network {target!r} is not a point of space {space.name!r} (it is in "
                             f"{', '.join(reference_spaces(target))}); give the target as a number")
        return float(np.asarray(predict(space.parse(reference_arch(target, space.name))[None])).reshape(-1)[0])
    if isinstance(target, bool) or not isinstance(target, (int, float)) or target <= 0:
        raise ValueError(f"target must be a positive number ({unit}) or a reference network name, got {target!r}")
    return float(target)
