import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnas.searchspace import from_block_string, get_space, to_block_string

SPACES = ["proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like"]


def archs(name):
    space = get_space(name)
    return st.tuples(*[st.integers(0, int(n) - 1) for n in space.num_choices]).map(
        lambda t: np.array(t, dtype=np.int32))


@pytest.mark.parametrize("name", SPACES)
def test_round_trips_for_any_architecture(name):
    space = get_space(name)

    @settings(max_examples=40, deadline=None)
    @given(archs(name))
    def check(arch):
        assert np.array_equal(space.validate(arch), arch)
        assert np.array_equal(space.parse(space.format(arch)), arch)
        assert np.array_equal(space.from_json(space.to_json(arch)), arch)
        canonical = space.canonicalize(arch)
        assert np.array_equal(from_block_string(space, to_block_string(space, arch)), canonical)
        ops = space.network(arch)
        assert [op.signature() for op in ops] == [op.signature() for op in space.network(canonical)]
        # Shape consistency: every op reads what the previous one wrote.
        for prev, op in zip(ops, ops[1:]):
            assert (op.in_h, op.in_w, op.in_channels) == (prev.out_h, prev.out_w, prev.out_channels)
        assert ops[0].in_channels == 3 and ops[-1].kind == "dense"

    check()


@pytest.mark.parametrize("name", SPACES)
def test_sampling_is_seeded_vectorised_and_valid(name):
    space = get_space(name)
    a = space.sample(np.random.default_rng(7), 500)
    b = space.sample(np.random.default_rng(7), 500)
    assert a.shape == (500, space.num_decisions) and a.dtype == np.int32
    assert np.array_equal(a, b)
    space.validate(a)
    # Every choice of every decision shows up: the sampler is not stuck on index 0.
    for d in range(space.num_decisions):
        assert len(np.unique(a[:, d])) == space.num_choices[d]


def test_active_mask_follows_skips():
    space = get_space("proxylessnas")
    arch = np.zeros(space.num_decisions, np.int32)
    skip = space.decision_index["block2/layer1/op"]
    kernel = space.decision_index["block2/layer1/kernel"]
    arch[skip], arch[kernel] = 1, 2
    active = space.active(arch)
    assert not active[kernel] and active[skip]
    assert space.canonicalize(arch)[kernel] == 0
    assert space.canonicalize(arch)[skip] == 1


def test_wrong_length_says_expected_vs_got():
    space = get_space("proxylessnas")
    with pytest.raises(ValueError, match="expected 73 decisions, got 3"):
        space.parse("0:1:2")


def test_out_of_range_names_path_value_and_range():
    space = get_space("proxylessnas")
    arch = np.zeros(73, np.int32)
    arch[3] = 3
    with pytest.raises(ValueError, match=r"decision 3 \(block2/layer0/kernel\) has value 3, allowed range is 0..2"):
        space.validate(arch)
    arch[3] = -1
    with pytest.raises(ValueError, match="has value -1"):
        space.validate(arch)


def test_malformed_strings_and_types():
    space = get_space("proxylessnas")
    with pytest.raises(ValueError, match="expected integers separated by ':', got '0:a'"):
        space.parse("0:a")
    with pytest.raises(TypeError, match="expected integers, got dtype"):
        space.validate(np.full(73, 0.5))
    with pytest.raises(TypeError, match="expected str"):
        space.parse(5)
    with pytest.raises(ValueError, match="written for space 'mobilenet_v3_like', not 'proxylessnas'"):
        space.from_json('{"space": "mobilenet_v3_like", "arch": []}')
    with pytest.raises(ValueError, match="not valid JSON"):
        space.from_json("{")
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        space.sample(0, 3)
    with pytest.raises(ValueError, match="n: expected a positive integer, got 0"):
        space.sample(np.random.default_rng(0), 0)


def test_block_string_errors():
    space = get_space("proxylessnas")
    good = to_block_string(space, space.parse(space.format(np.zeros(73, np.int32))))
    with pytest.raises(ValueError, match="has 9 blocks, got 1"):
        from_block_string(space, "conv_k3_s2_c32_relu")
    with pytest.raises(ValueError, match="'ir_k9_e3_s2_c32_relu' is not a choice of block2/layer0"):
        from_block_string(space, good.replace("ir_k3_e3_s2_c32_relu", "ir_k9_e3_s2_c32_relu", 1))
    with pytest.raises(ValueError, match="unknown token 'xx_k3'"):
        from_block_string(space, good.replace("conv_k3_s2_c32_relu", "xx_k3", 1))
    with pytest.raises(ValueError, match="width 48 .* is not a choice of block 2"):
        from_block_string(get_space("proxylessnas_enlarged"),
                          to_block_string(get_space("proxylessnas_enlarged"), np.zeros(73, np.int32))
                          .replace("ir_k3_e3_s2_c8_relu", "ir_k3_e3_s2_c48_relu", 1))
