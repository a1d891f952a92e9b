"""Search cost: MACs or a latency table, targets as numbers or reference networks, clear errors."""

import numpy as np
import pytest
from jaxnas.apps._cost import search_cost
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.searchspace import count_macs, get_space, reference_arch

register_app_spaces()


def _table(path, space_name):
    from jaxnas.latency import LatencyTable, Timing, space_ops
    space = get_space(space_name)
    table = LatencyTable({"backend": "fake", "space": space_name, "resolution": 64, "num_classes": 10,
                          "batch": 1, "dtype": "float32"})
    for op in space_ops(space, 64, 10):
        table.add(op, Timing(op.macs / 1e6, op.macs / 1e6, op.macs / 1e6, 1))
    return table.save(str(path))


def test_macs_cost_matches_searchspace_and_jax():
    space = get_space("proxylessnas_micro")
    cost = search_cost(space, None, 4.0, 64, 10)
    archs = space.sample(np.random.default_rng(0), 5)
    np.testing.assert_allclose(cost.predict(archs), count_macs(space, archs, 64, 10) / 1e6)
    np.testing.assert_allclose(np.asarray(cost.jax_fn(archs.astype(np.int32))), cost.predict(archs), rtol=1e-5)
    assert cost.bounds[0] <= cost.predict(archs).min() and cost.predict(archs).max() <= cost.bounds[1]


def test_target_as_reference_network():
    space = get_space("proxylessnas")
    cost = search_cost(space, None, "proxylessnas_mobile", 224, 1000)
    assert cost.target == pytest.approx(count_macs(space, space.parse(reference_arch("proxylessnas_mobile"))) / 1e6)
    with pytest.raises(ValueError, match="not a point of space 'proxylessnas'"):
        search_cost(space, None, "mobilenet_v2", 224, 1000)
    with pytest.raises(ValueError, match="neither a number"):
        search_cost(space, None, "resnet50", 224, 1000)


def test_target_outside_the_space_is_refused():
    with pytest.raises(ValueError, match="outside what space 'proxylessnas_micro' can reach"):
        search_cost(get_space("proxylessnas_micro"), None, 1000.0, 64, 10)


def test_latency_table_of_its_space_and_of_another(tmp_path):
    space = get_space("proxylessnas_micro")
    path = _table(tmp_path / "micro.json", "proxylessnas_micro")
    cost = search_cost(space, path, 4.0, 64, 10)
    archs = space.sample(np.random.default_rng(1), 4)
    assert cost.unit == "ms"
    np.testing.assert_allclose(cost.predict(archs), count_macs(space, archs, 64, 10) / 1e6, rtol=1e-9)
    other = _table(tmp_path / "other.json", "proxylessnas")
    with pytest.raises(ValueError, match="built for space 'proxylessnas', not 'proxylessnas_micro'"):
        search_cost(space, other, 4.0, 64, 10)
