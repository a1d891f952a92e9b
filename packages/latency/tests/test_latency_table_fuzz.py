"""Fuzzed latency table JSON: a mutated, truncated or arbitrary file either loads into a usable
table or raises the documented one-line ``ValueError("latency table ...")``, never anything else."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnas.latency import LatencyTable
from jaxnas.latency._table import Calibration, Timing

FUZZ = settings(max_examples=200, deadline=None)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10)


def _good() -> dict:
    table = LatencyTable({"backend": "fake", "space": "proxylessnas", "resolution": 32, "num_classes": 10,
                          "batch": 1, "dtype": "float32"}, calibration=Calibration(1.1, 0.2, 5))
    table.add("conv:a", Timing(0.5, 0.4, 0.6, 20))
    table.add("pool:b", Timing(0.1, 0.1, 0.2, 20))
    return table.to_dict()


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _set(node, path, value):
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


def loaded_or_clean_error(text):
    """The table (after using every part of it), or None after a one-line documented ValueError."""
    try:
        table = LatencyTable.from_json(text, "t.json")
    except ValueError as err:
        message = str(err)
        assert "\n" not in message and message.startswith("latency table t.json: "), repr(message)
        return None
    # Everything a loaded table offers works: provenance, keys, lookups, commands, a round trip.
    assert isinstance(table.space, str) and table.resolution > 0 and table.num_classes > 0
    for key in table.entries:
        assert math.isfinite(table.lookup(key)) and table.lookup(key) >= 0
    assert table.build_command().startswith("jaxnas-latency build")
    assert LatencyTable.from_json(table.to_json()).to_dict() == table.to_dict()
    return table


@FUZZ
@given(st.data())
def test_mutated_tables(data):
    doc = _good()
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = data.draw(st.sampled_from(paths))
        _set(doc, path, data.draw(st.just(_DELETE) | JSON_VALUES))
    loaded_or_clean_error(json.dumps(doc))


@FUZZ
@given(st.data())
def test_truncated_and_corrupted_files(data):
    text = json.dumps(_good()).encode()
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.binary(max_size=8))
    loaded_or_clean_error(text[:cut] + junk + text[cut + len(junk):])


@FUZZ
@given(st.one_of(st.text(max_size=40), JSON_VALUES.map(json.dumps)))
def test_arbitrary_text(text):
    loaded_or_clean_error(text)


@pytest.mark.parametrize("text", ["[" * 100_000, "1" * 5000, "{\"schema\": " + "[" * 50_000, 12, None])
def test_pathological_inputs(text):
    loaded_or_clean_error(text)
