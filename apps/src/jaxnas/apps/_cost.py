"""The cost a search trades accuracy against: latency from a jaxnas-latency table, or MACs.

``search_cost(space, table_path, target, ...)`` returns a :class:`SearchCost` with
a numpy predictor (reports), a jax predictor (inside the search step, one gather
and sum), the unit, the numeric target and the bounds of the space. The target
is a number in the cost's unit or the name of a reference network (``proxylessnas_mobile``):
its cost on the same table, which is how TuNAS chose 84 ms.

A target of ``None`` takes the default of the TuNAS reference, which only has a unit with a
latency table: 84 ms for the ProxylessNAS spaces, 57 ms for ``mobilenet_v3_like`` (simulated
Pixel-1 latencies; see :data:`DEFAULT_TARGETS_MS`). With the MACs cost there is no default: the
caller gives one. Every target outside what the space can reach is refused, naming the range.

With a ``head`` (detection: ``jaxnas.latency.Head`` of SSDLite) the cost is that of the
backbone up to the head's endpoints plus the head (``jaxnas.latency.HeadedCost``), and a
reference network that is not a point of the searched space is priced as its own fixed
space + the head on the same table (the paper's 106 ms target: MobileNetV3-Large + SSDLite).
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


# The reference's default targets (ms on its Pixel-1 cost model); only meaningful with a latency table.
DEFAULT_TARGETS_MS = {"proxylessnas": 84.0, "proxylessnas_enlarged": 84.0, "mobilenet_v3_like": 57.0}


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
                num_classes: int, head=None) -> SearchCost:
    """Builds the cost of ``space``: latency from ``latency_table`` (path) or MACs at ``resolution``.

    Args:
      space, latency_table, target, resolution, num_classes: see the module docstring.
      head: a ``jaxnas.latency.Head``: cost of backbone (up to its endpoints) + head.

    Raises:
      ValueError: a table of another space or resolution, a table without the head's ops,
        an unknown reference network, or a target outside what the space can reach.

    >>> from jaxnas.searchspace import get_space
    >>> c = search_cost(get_space("proxylessnas"), None, "proxylessnas_mobile", 224, 1000)
    >>> c.unit, round(c.target, 1)
    ('M MACs', 320.4)
    """
    if latency_table:
        from jaxnas.latency import LatencyTable
        table = LatencyTable.load(latency_table)
        if space.name not in table.spaces:
            raise ValueError(f"latency table {latency_table!r} was built for space {table.space!r}, not "
                             f"{space.name!r}; build one with `jaxnas-latency build --space {space.name} "
                             f"--backend litert --out TABLE.json` or pick --config.space={table.space}")
        if table.resolution != resolution:
            raise ValueError(f"latency table {latency_table!r} was measured at {table.resolution} px but the "
                             f"networks run at {resolution} px; build a table at {resolution} px")
        model = _latency(table, space, head)
        fc = model.cost
        cal = table.calibration
        scale, offset = (float(cal.a), float(cal.b)) if cal is not None else (1.0, 0.0)
        predict = model.predict
        unit, source = "ms", latency_table
    else:
        fc = _macs(space, head, resolution, num_classes)
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
    if target is None:
        target = default_target(space, unit, bounds, head)
    if head is not None and isinstance(target, str) and target in REFERENCE_NAMES \
            and space.name not in reference_spaces(target):
        value = _fixed_reference_cost(target, table if latency_table else None, head, resolution, num_classes)
    else:
        value = resolve_target(space, target, predict, unit)
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"target {value:.4g} {unit} is outside what space {space.name!r} can reach "
                         f"({bounds[0]:.4g} - {bounds[1]:.4g} {unit} on {source}); choose a target inside")
    return SearchCost(lambda a: np.asarray(predict(np.atleast_2d(a)), np.float64), jax_fn, unit, value, bounds,
                      source)


def default_target(space: Space, unit: str, bounds: tuple, head=None) -> float:
    """The reference's default target of ``space`` in ms; a ValueError where there is none.

    Raises:
      ValueError: the cost is not a latency (MACs have no default), ``space`` has no default,
        or the cost includes a detection ``head`` (the defaults are of classifiers).
    """
    reach = f"space {space.name!r} spans {bounds[0]:.4g} - {bounds[1]:.4g} {unit}"
    if head is not None:
        raise ValueError(f"no default target for a detection search ({reach}): give --config.target, e.g. "
                         f"'mobilenet_v3_large' (MobileNetV3-Large + SSDLite on the same cost, the paper's 106 ms)")
    if unit != "ms":
        raise ValueError(f"no default target with the MACs cost ({reach}): give --config.target in {unit} or a "
                         f"reference network name, or give --config.latency_table (the defaults "
                         f"{DEFAULT_TARGETS_MS} are ms of a latency table)")
    if space.name not in DEFAULT_TARGETS_MS:
        raise ValueError(f"no default target for space {space.name!r} ({reach}): give --config.target")
    return DEFAULT_TARGETS_MS[space.name]


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


def _latency(table, space: Space, head):
    """``latency_model`` of ``table``; a missing signature becomes a ValueError naming the fix."""
    from jaxnas.latency import MissingSignatureError, latency_model
    try:
        return latency_model(table, space, head=head)
    except MissingSignatureError as err:
        how = "" if head is None else ("; a table with the head's ops is built by jaxnas.apps.detection."
                                       "build_detection_table(space, backend, resolution, num_classes, out) "
                                       "or `jaxnas-latency build --head ssdlite --num-classes K`")
        raise ValueError(f"{err}{how}") from None


def _macs(space: Space, head, resolution: int, num_classes: int):
    """Millions of MACs of the classifier network, or of backbone + ``head``."""
    if head is None:
        return FactorizedCost(space, lambda op: op.macs / 1e6, resolution, num_classes, dtype=np.float64)
    from jaxnas.latency import HeadedCost
    return HeadedCost(space, head, lambda op: op.macs / 1e6, resolution, num_classes, dtype=np.float64)


def _fixed_reference_cost(name: str, table, head, resolution: int, num_classes: int) -> float:
    """Cost of reference network ``name`` (its fixed space) + ``head`` on the same table or MACs."""
    from jaxnas.searchspace import get_space, list_spaces
    if name not in list_spaces():
        raise ValueError(f"reference network {name!r} has no fixed space to price it with the head; "
                         f"give the target as a number")
    ref = get_space(name)
    arch = np.zeros((1, ref.num_decisions), np.int32)
    if table is None:
        return float(_macs(ref, head, resolution, num_classes)(arch)[0])
    if name not in table.spaces:
        raise ValueError(f"latency table {table.path!r} has no ops of the reference network {name!r}: extend it "
                         f"with jaxnas.apps.detection.build_detection_table({name!r}, backend, {resolution}, "
                         f"num_classes, out={table.path!r}), or give the target in ms")
    return float(_latency(table, ref, head).predict(arch)[0])
