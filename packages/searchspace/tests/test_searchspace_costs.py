import numpy as np
import pytest

from jaxnas.searchspace import FactorizedCost, count_macs, count_params, get_space


@pytest.mark.parametrize("name", ["proxylessnas", "proxylessnas_enlarged", "mobilenet_v3_like"])
def test_vectorised_counts_equal_the_per_op_loop(name):
    space = get_space(name)
    archs = space.sample(np.random.default_rng(1), 30)
    params = count_params(space, archs, num_classes=10)
    macs = count_macs(space, archs, resolution=96, num_classes=10)
    for a, p, m in zip(archs, params, macs):
        ops = space.network(a, resolution=96, num_classes=10)
        assert p == sum(op.params for op in ops)
        assert m == sum(op.macs for op in ops)


def test_any_additive_cost_and_networks_lookup():
    space = get_space("mobilenet_v3_like")
    cost = FactorizedCost(space, lambda op: op.kernel * 1.5 + op.out_channels, resolution=64)
    archs = space.sample(np.random.default_rng(2), 20)
    for a, c, ops in zip(archs, cost(archs), cost.networks(archs)):
        assert ops == space.network(a, resolution=64)
        assert c == pytest.approx(sum(op.kernel * 1.5 + op.out_channels for op in ops))
    assert cost.per_slot(archs).shape == (20, len(space.positions))


def test_scalar_for_one_arch_and_resolution_scaling():
    space = get_space("mobilenet_v2")
    assert count_macs(space, "", resolution=112) < count_macs(space, "") / 3
    assert count_params(space, "", num_classes=10) < count_params(space, "")
    with pytest.raises(ValueError, match="resolution: expected a positive integer, got 0"):
        count_macs(space, "", resolution=0)


def test_endpoints_sit_at_stride_16_and_32():
    space = get_space("proxylessnas")
    ops = space.network(space.sample(np.random.default_rng(0), 1)[0])
    strides = sorted({224 // op.out_h for op in ops if op.endpoint})
    assert strides == [2, 4, 8, 16, 32]
