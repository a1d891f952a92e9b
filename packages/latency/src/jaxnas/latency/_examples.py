"""Measured tables shipped with the package (``data/``), with their validation reports.

Each example table carries its provenance (device, runtime, versions, clock,
date, machine load); the figures of its ``.validation.md`` were measured with
``benchmarks/latency_table.py`` on that machine and apply to it only.
"""

from __future__ import annotations

import importlib.resources
import json

from jaxnas.latency._table import LatencyTable


def _data():
    return importlib.resources.files("jaxnas.latency").joinpath("data")


def example_tables() -> list[str]:
    """Names of the shipped tables (for :func:`load_example`)."""
    # Tables are NAME.json; their reports are NAME.validation.json, NAME.benchmark.json.
    return sorted(p.name[:-5] for p in _data().iterdir() if p.name.endswith(".json") and "." not in p.name[:-5])


def load_example(name: str = "proxylessnas_litert_224") -> LatencyTable:
    """A shipped table, e.g. the ``proxylessnas`` table measured at 224 px with ``litert``.

    >>> table = load_example()
    >>> table.provenance["space"], table.provenance["backend"], len(table)
    ('proxylessnas', 'litert', 73)
    """
    names = example_tables()
    if name not in names:
        raise ValueError(f"example table {name!r}: unknown; shipped tables are {names}")
    resource = _data().joinpath(f"{name}.json")
    return LatencyTable.from_json(resource.read_bytes(), f"jaxnas.latency/data/{name}.json")


def load_example_report(name: str = "proxylessnas_litert_224") -> dict:
    """The validation report (JSON) of a shipped table."""
    resource = _data().joinpath(f"{name}.validation.json")
    if not resource.is_file():
        raise ValueError(f"example table {name!r} has no validation report; shipped: {example_tables()}")
    return json.loads(resource.read_text(encoding="utf-8"))
