"""LatencyTable: JSON round trip, atomic writes, clear errors, signature keys."""

import json
import os

import pytest

from jaxnas.latency import (
    SCHEMA_VERSION,
    Calibration,
    LatencyTable,
    MissingSignatureError,
    Timing,
    op_from_key,
    signature_key,
    space_ops,
)
from jaxnas.searchspace import ConcreteOp

TINY, RESOLUTION, NUM_CLASSES = "latency_tiny", 32, 10  # registered in conftest.py


def _table(path=None):
    return LatencyTable({"backend": "fake", "space": TINY, "resolution": RESOLUTION, "num_classes": NUM_CLASSES,
                         "batch": 1, "dtype": "float32", "device": "fake device"}, path=path)


def test_json_round_trip(tmp_path, tiny):
    table = _table()
    for i, op in enumerate(space_ops(tiny, RESOLUTION, NUM_CLASSES)):
        table.add(op, Timing(0.1 + i / 7, 0.1, 0.2 + i, 20 + i))
    table.calibration = Calibration(1.0625, -0.125, 12)
    path = table.save(str(tmp_path / "t.json"))
    loaded = LatencyTable.load(path)
    assert loaded.entries == table.entries
    assert loaded.provenance == table.provenance
    assert loaded.calibration == table.calibration
    assert loaded.path == path
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["schema"] == "jaxnas-latency-table"
    # Atomic write: nothing but the table is left in the folder.
    assert os.listdir(tmp_path) == ["t.json"]


def test_save_replaces_atomically(tmp_path):
    path = str(tmp_path / "t.json")
    table = _table()
    table.add("pool_1x1x8_o8_k0_s1_e0_se0_none_bn_nores_float32_b1", Timing(1.0, 1.0, 1.0, 20))
    table.save(path)
    table.add("pool_2x2x8_o8_k0_s1_e0_se0_none_bn_nores_float32_b1", Timing(2.0, 2.0, 2.0, 20))
    table.save()
    assert len(LatencyTable.load(path)) == 2
    assert sorted(os.listdir(tmp_path)) == ["t.json"]


def test_other_schema_version_is_refused(tmp_path):
    path = tmp_path / "t.json"
    data = _table().to_dict()
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"schema version 99, but this jaxnas-latency reads version 1"):
        LatencyTable.load(str(path))


@pytest.mark.parametrize("content, message", [
    ('{"schema": "jaxnas-latency-table", "schema_ver', "not valid JSON .*corrupt or truncated"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    ('{"hello": 1}', "not a jaxnas-latency table"),
    ('{"schema": "jaxnas-latency-table", "schema_version": 1, "provenance": {}, "entries": {}}',
     "malformed content .*missing fields"),
    (('{"schema": "jaxnas-latency-table", "schema_version": 1, "provenance": {"backend": "b", "space": "s", '
     '"resolution": 8, "num_classes": 2, "batch": 1, "dtype": "float32"}, "entries": {"k": {"median_ms": "x"}}}'),
     "malformed content"),
])
def test_corrupt_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=f"latency table {path}: {message}"):
        LatencyTable.load(str(path))


def test_missing_file_names_the_build_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file; build one with `jaxnas-latency build"):
        LatencyTable.load(str(tmp_path / "nope.json"))


def test_missing_signature_names_it_and_the_command(tmp_path, tiny):
    table = _table(str(tmp_path / "t.json"))
    op = space_ops(tiny, RESOLUTION, NUM_CLASSES)[5]
    with pytest.raises(MissingSignatureError) as info:
        table.lookup(op)
    text = str(info.value)
    assert signature_key(op) in text
    assert (f"jaxnas-latency build --space {TINY} --backend fake --out {tmp_path / 't.json'} "
            f"--resolution {RESOLUTION} --num-classes {NUM_CLASSES}") in text


def test_provenance_must_name_the_settings():
    with pytest.raises(ValueError, match=r"provenance: missing fields \['resolution'"):
        LatencyTable({"backend": "b", "space": "s", "num_classes": 2, "batch": 1, "dtype": "float32"})


def test_signature_keys_round_trip(tiny):
    for op in space_ops(tiny, RESOLUTION, NUM_CLASSES):
        key = signature_key(op, "float32", 4)
        back, dtype, batch = op_from_key(key)
        assert back.signature() == op.signature() and (dtype, batch) == ("float32", 4)


def test_bad_signature_key_shows_the_form():
    with pytest.raises(ValueError, match="signature id 'conv_3x3': expected the form KIND_HxWxC"):
        op_from_key("conv_3x3")


def test_timing_from_samples():
    t = Timing.from_samples([5.0, 1.0, 2.0, 3.0, 4.0])
    assert (t.median_ms, t.runs) == (3.0, 5)
    assert t.p10_ms == pytest.approx(1.4) and t.p90_ms == pytest.approx(4.6)
    with pytest.raises(ValueError, match="finite samples"):
        Timing.from_samples([])


def test_time_callable_keeps_the_quietest_round():
    import time

    from jaxnas.latency import time_callable

    delays = iter([0.004] * 22 + [0.001] * 20 + [0.003] * 20)  # warm-up 2, then rounds of 20

    def run():
        time.sleep(next(delays))

    t = time_callable(run, runs=20, warmup=2, min_time_s=0.0, rounds=3)
    assert t.runs == 20 and 1.0 <= t.median_ms < 2.5
    with pytest.raises(ValueError, match="rounds: expected a positive int, got 0"):
        time_callable(run, rounds=0)
    with pytest.raises(ValueError, match=r"clock: expected one of \['cpu', 'wall'\], got 'gpu'"):
        time_callable(run, clock="gpu")


def test_time_callable_compares_rounds_by_the_statistic():
    import time

    from jaxnas.latency import time_callable

    # Round 1: the lower median (3 ms); round 2: a higher median (6 ms) but the lower p10 (1 ms).
    round1 = [0.003] * 20
    round2 = [0.001] * 4 + [0.006] * 16
    delays = iter([0.0] * 2 + round1 + round2)

    def run():
        time.sleep(next(delays))

    t = time_callable(run, runs=20, warmup=2, min_time_s=0.0, rounds=2, statistic="p10", clock="wall")
    assert 1.0 <= t.p10_ms < 2.5 and t.median_ms > 5.5  # round 2, chosen by its p10
    with pytest.raises(ValueError, match=r"statistic: expected one of \['median', 'p10'\], got 'mean'"):
        time_callable(run, statistic="mean")


def test_table_statistic_picks_the_entry_field(tmp_path, tiny):
    op = ConcreteOp("pool", 4, 4, 8, 8)
    base = {"backend": "fake", "space": TINY, "resolution": 32, "num_classes": 10, "batch": 1, "dtype": "float32"}
    old = LatencyTable(base)
    old.add(op, Timing(2.0, 1.5, 3.0, 20))
    assert old.statistic == "median" and old.lookup(op) == 2.0  # tables written before the field existed
    new = LatencyTable({**base, "statistic": "p10"}, {old.key(op): Timing(2.0, 1.5, 3.0, 20)})
    assert new.lookup(op) == 1.5
    new.save(str(tmp_path / "t.json"))
    assert LatencyTable.load(str(tmp_path / "t.json")).lookup(op) == 1.5
    with pytest.raises(ValueError, match=r"statistic: expected one of \['median', 'p10'\], got 'p50'"):
        LatencyTable({**base, "statistic": "p50"})
    text = (tmp_path / "t.json").read_text().replace('"statistic": "p10"', '"statistic": 10')
    with pytest.raises(ValueError, match=r"malformed content .*statistic: expected one of"):
        LatencyTable.from_json(text, "t.json")


def test_pool_key_is_readable():
    assert signature_key(ConcreteOp("pool", 7, 7, 1280, 1280)) == \
        "pool_7x7x1280_o1280_k0_s1_e0_se0_none_bn_nores_float32_b1"
