"""The vectorised predictor equals the brute-force per-op sum, exactly."""

import itertools

import numpy as np
import pytest
from jaxnas.latency import (
    Calibration,
    LatencyTable,
    MissingSignatureError,
    Timing,
    latency_model,
    network_latency,
    space_ops,
)
from jaxnas.searchspace import get_space

TINY, RESOLUTION, NUM_CLASSES = "latency_tiny", 32, 10  # registered in conftest.py


def _random_table(space, resolution, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    table = LatencyTable({"backend": "fake", "space": space.name, "resolution": resolution,
                          "num_classes": num_classes, "batch": 1, "dtype": "float32"})
    for op in space_ops(space, resolution, num_classes):
        table.add(op, Timing(float(rng.random() * 3), 0.0, 9.0, 20))  # full-precision floats: a hard sum
    return table


def _all_archs(space):
    return np.array(list(itertools.product(*[range(int(c)) for c in space.num_choices])), dtype=np.int32)


def test_space_ops_are_exactly_the_ops_of_all_networks(tiny):
    archs = _all_archs(tiny)
    assert len(archs) == 256
    seen = {op.signature() for a in archs for op in tiny.network(a, RESOLUTION, NUM_CLASSES)}
    listed = [op.signature() for op in space_ops(tiny, RESOLUTION, NUM_CLASSES)]
    assert len(listed) == len(set(listed)) == len(seen) == 45
    assert set(listed) == seen


def test_predictor_equals_brute_force_on_every_tiny_arch(tiny):
    table = _random_table(tiny, RESOLUTION, NUM_CLASSES)
    archs = _all_archs(tiny)
    predicted = latency_model(table, tiny).predict(archs)
    brute = np.array([network_latency(table, tiny, a) for a in archs])
    np.testing.assert_array_equal(predicted, brute)  # bit for bit, not approx


@pytest.mark.parametrize("name", ["proxylessnas", "mobilenet_v3_like"])
def test_predictor_equals_brute_force_in_tunas_spaces(name):
    space = get_space(name)
    table = _random_table(space, 224, 1000)
    archs = space.sample(np.random.default_rng(1), 64)
    np.testing.assert_array_equal(latency_model(table, space).predict(archs),
                                  [network_latency(table, space, a) for a in archs])


def test_single_architectures_and_a_last_chunk_of_one_are_exact():
    # 26 slots: numpy would sum a lone [26, 1] column pairwise; the predictor must not.
    space = get_space("proxylessnas")
    table = _random_table(space, 224, 1000, seed=5)
    model = latency_model(table, space)
    archs = space.sample(np.random.default_rng(4), 16385)  # chunks of 16384 and 1
    batch = model.predict(archs)
    for i in (0, 1, 2, 16384):
        brute = network_latency(table, space, archs[i])
        assert model.predict(archs[i])[0] == brute and batch[i] == brute


def test_vectorised_equals_loop_and_per_slot(tiny):
    table = _random_table(tiny, RESOLUTION, NUM_CLASSES, seed=3)
    model = latency_model(table, tiny)
    archs = tiny.sample(np.random.default_rng(0), 40_000)  # more than one chunk
    batch = model.predict(archs)
    loop = np.array([model.predict(a)[0] for a in archs[:300]])
    np.testing.assert_array_equal(batch[:300], loop)
    np.testing.assert_array_equal(model.per_slot(archs[:50]).sum(axis=1), batch[:50])
    assert model.per_slot(archs[:5]).shape == (5, len(tiny.positions))
    # Strings and lists are accepted like the searchspace accepts them.
    assert model.predict(tiny.format(archs[7]))[0] == batch[7]


def test_calibration_is_applied(tiny):
    table = _random_table(tiny, RESOLUTION, NUM_CLASSES)
    archs = tiny.sample(np.random.default_rng(0), 10)
    raw = latency_model(table, tiny).predict(archs)
    table.calibration = Calibration(1.5, -0.25, 10)
    model = latency_model(table, tiny)
    np.testing.assert_array_equal(model.predict(archs), 1.5 * raw - 0.25)
    np.testing.assert_array_equal(model.predict_sum(archs), raw)


def test_bad_architectures_are_refused(tiny):
    model = latency_model(_random_table(tiny, RESOLUTION, NUM_CLASSES), tiny)
    with pytest.raises(ValueError, match="expected 9 decisions, got 3"):
        model.predict(np.zeros((2, 3), np.int32))
    bad = np.zeros((2, 9), np.int32)
    bad[1, 4] = 7
    with pytest.raises(ValueError, match="decision 4 .* has value 7, allowed range is 0..1"):
        model.predict(bad)
    with pytest.raises(ValueError, match="decision 0 .* has value -1"):
        model.predict(-np.ones(9, np.int32))


def test_missing_signature_fails_when_the_model_is_made(tiny):
    table = _random_table(tiny, RESOLUTION, NUM_CLASSES)
    del table.entries[next(iter(table.entries))]
    with pytest.raises(MissingSignatureError, match=f"measure it with: jaxnas-latency build --space {TINY}"):
        latency_model(table, tiny)


def test_cost_arrays_are_exposed_for_jax(tiny):
    model = latency_model(_random_table(tiny, RESOLUTION, NUM_CLASSES), tiny)
    archs = tiny.sample(np.random.default_rng(2), 8)
    np.testing.assert_allclose(model.cost(archs), model.predict(archs), rtol=1e-12)
