"""Fuzzed parsers: any architecture string, architecture JSON or block string either parses to a
valid architecture or raises the documented one-line ValueError/TypeError, never anything else."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnas.searchspace import from_block_string, get_space, to_block_string

SPACE = get_space("proxylessnas")
FUZZ = settings(max_examples=150, deadline=None)


def parsed_or_clean_error(fn, text, prefix):
    """``fn(text)`` as a valid architecture, or None after a one-line error that starts with ``prefix``."""
    try:
        arch = fn(text)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert "\n" not in message and message.startswith(prefix), repr(message)
        return None
    assert np.array_equal(SPACE.validate(arch), arch)
    return arch


def _mutated(tokens):
    """Strategy: a list of tokens with some replaced, dropped or duplicated, joined back."""
    return st.lists(st.tuples(st.integers(0, len(tokens) - 1), st.sampled_from(["drop", "dup", "swap"]),
                              st.text(max_size=6)), max_size=4)


@FUZZ
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789:- +_e", max_size=200),
                 st.lists(st.integers(-2**70, 2**70), max_size=80).map(lambda v: ":".join(map(str, v)))))
def test_architecture_strings(text):
    parsed_or_clean_error(SPACE.parse, text, "architecture")


@FUZZ
@given(st.one_of(st.text(max_size=60),
                 st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=5),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=3),
                              max_leaves=20).map(lambda v: __import__("json").dumps({"arch": v})),
                 st.lists(st.integers(-3, 5), min_size=73, max_size=73).map(
                     lambda v: __import__("json").dumps({"space": "proxylessnas", "arch": v}))))
def test_architecture_json(text):
    parsed_or_clean_error(SPACE.from_json, text, "architecture")


@FUZZ
@given(st.data())
def test_block_strings(data):
    good = to_block_string(SPACE, SPACE.sample(np.random.default_rng(data.draw(st.integers(0, 99))), 1)[0])
    tokens = good.split(" ")
    for index, edit, junk in data.draw(_mutated(tokens)):
        index = min(index, len(tokens) - 1)
        if edit == "drop" and len(tokens) > 1:
            tokens.pop(index)
        elif edit == "dup":
            tokens.insert(index, tokens[index])
        else:
            cut = data.draw(st.integers(0, len(tokens[index])))
            tokens[index] = tokens[index][:cut] + junk + tokens[index][cut:]
    parsed_or_clean_error(lambda t: from_block_string(SPACE, t), " ".join(tokens), "block string")


@FUZZ
@given(st.lists(st.sampled_from(list("conv_dsirkecs0123456789-._|") + ["skip", "pool", "relu", "se", " "]),
                max_size=40).map("".join))
def test_block_string_alphabet(text):
    parsed_or_clean_error(lambda t: from_block_string(SPACE, t), text, "block string")


@pytest.mark.parametrize("bad", [None, 5, b"0:1", ["0"]])
def test_non_strings(bad):
    parsed_or_clean_error(SPACE.parse, bad, "architecture")
    parsed_or_clean_error(lambda t: from_block_string(SPACE, t), bad, "block string")


def test_huge_values_name_the_decision():
    text = ":".join(["0"] * 72 + [str(2**70)])
    with pytest.raises(ValueError, match=rf"decision 72 \(.*\) has value {2**70}, allowed range is 0\.\.\d+$"):
        SPACE.parse(text)
    with pytest.raises(ValueError, match="expected 73 decisions, got 2"):
        SPACE.parse(f"0:{2**70}")
