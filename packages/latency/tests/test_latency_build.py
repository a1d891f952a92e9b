"""build_table (resumable), validate_table, calibrate_table, summarize, import_table."""

import json
import os

import numpy as np
import pytest
from jaxnas.latency import (
    LatencyTable,
    build_table,
    calibrate_table,
    import_table,
    latency_model,
    signature_key,
    space_ops,
    summarize,
    validate_table,
)

TINY, RESOLUTION, NUM_CLASSES = "latency_tiny", 32, 10  # registered in conftest.py


def _build(space, backend, path, **kw):
    return build_table(space, backend, RESOLUTION, NUM_CLASSES, out=path, progress=False, **kw)


def test_build_measures_every_signature_once(tmp_path, tiny, fake, op_ms):
    lines = []
    table = _build(tiny, fake, str(tmp_path / "t.json"), log=lines.append)
    ops = space_ops(tiny, RESOLUTION, NUM_CLASSES)
    assert lines == [(f"{TINY} at {RESOLUTION}px: 45 distinct op signatures, 0 already measured, "
                     "45 to measure on fake")]
    assert len(table) == 45 and len(fake.measured) == 45
    assert sorted(m[0] for m in fake.measured) == sorted(op.signature() for op in ops)
    assert all(table.lookup(op) == op_ms(op) for op in ops)
    loaded = LatencyTable.load(str(tmp_path / "t.json"))
    assert loaded.entries == table.entries
    assert loaded.provenance["device"] == "fake device" and loaded.provenance["space"] == TINY


def test_build_resumes_after_an_interruption(tmp_path, tiny, fake_cls):
    path = str(tmp_path / "t.json")
    failing = fake_cls(fail_after=17)
    with pytest.raises(KeyboardInterrupt):
        _build(tiny, failing, path, save_every_s=1e9)  # only the save on the way out
    assert len(LatencyTable.load(path)) == 17
    first = {tuple(m[0]) for m in failing.measured}
    again = fake_cls()
    lines = []
    table = _build(tiny, again, path, log=lines.append)
    assert "17 already measured, 28 to measure" in lines[0]
    assert len(again.measured) == 28
    assert not first & {tuple(m[0]) for m in again.measured}  # nothing measured twice
    assert len(table) == 45 and len(LatencyTable.load(path)) == 45
    # A third run has nothing left to do.
    third = fake_cls()
    _build(tiny, third, path, log=None)
    assert third.measured == []


def test_build_refuses_a_table_of_other_settings(tmp_path, tiny, fake):
    path = str(tmp_path / "t.json")
    _build(tiny, fake, path, log=None)
    with pytest.raises(ValueError, match=r"other settings \(resolution: 32 there, 64 now\); pass another --out"):
        build_table(tiny, fake, 64, NUM_CLASSES, out=path, progress=False, log=None)


def test_build_extends_a_table_with_another_space(tmp_path, tiny, fake_cls):
    from jaxnas.searchspace import Activation, Block, Conv, GlobalPool, OneOf, Space

    path = str(tmp_path / "t.json")
    _build(tiny, fake_cls(), path, log=None)
    other = Space("latency_other", (Block([Conv(OneOf((3, 7), "op"), 2), Activation("relu"), GlobalPool()],
                                          OneOf((8,), "filters")),), 8)
    backend = fake_cls()
    table = _build(other, backend, path, log=None)
    # Its 3x3 conv to 8 channels is in the tiny table already; the 7x7 conv, pool and head are new.
    assert len(backend.measured) == len(space_ops(other, RESOLUTION, NUM_CLASSES)) - 1
    assert table.spaces == (TINY, "latency_other")
    latency_model(LatencyTable.load(path), other)  # every op of both spaces is there


def test_build_checks_its_arguments(tiny):
    with pytest.raises(TypeError, match="backend must provide name, batch, dtype"):
        build_table(tiny, object(), RESOLUTION, NUM_CLASSES, progress=False, log=None)


def test_validate_writes_the_report_and_calibrates(tmp_path, tiny, fake):
    path = str(tmp_path / "t.json")
    table = _build(tiny, fake, path, log=None)
    report = validate_table(table, fake, tiny, num_archs=12, seed=3, progress=False, log=None)
    for name in ("t.validation.json", "t.validation.md", "t.validation.png"):
        assert os.path.getsize(tmp_path / name) > 0
    on_disk = json.loads((tmp_path / "t.validation.json").read_text())
    assert on_disk["num_archs"] == 12 and len(on_disk["archs"]) == 12
    # The fake whole network is exactly 0.9 * sum + 0.05: perfect correlation, exact calibration.
    assert report["pearson"] == pytest.approx(1.0) and report["spearman"] == pytest.approx(1.0)
    assert report["mape_calibrated"] == pytest.approx(0.0, abs=1e-9)
    predicted = np.array([r["predicted_ms"] for r in report["archs"]])
    measured = np.array([r["measured_ms"] for r in report["archs"]])
    np.testing.assert_allclose(measured, 0.9 * predicted + 0.05)
    assert report["additivity"] == pytest.approx(np.mean(predicted / measured))
    cal = calibrate_table(table, report)
    assert (cal.a, cal.b, cal.num_archs) == (pytest.approx(0.9), pytest.approx(0.05), 12)
    table.save()
    archs = tiny.sample(np.random.default_rng(0), 5)
    model = latency_model(LatencyTable.load(path), tiny)
    np.testing.assert_allclose(model.predict(archs), 0.9 * model.predict_sum(archs) + 0.05)
    assert "![predicted vs measured](t.validation.png)" in (tmp_path / "t.validation.md").read_text()


def test_validate_reports_each_networks_spread(tmp_path, tiny, fake_cls):
    class Noisy(fake_cls):
        # The k-th network measured spreads (p90 - p10) / median = 0.02 * k; ops stay exact.
        networks = 0

        def measure(self, ops):
            t = super().measure(ops)
            if len(ops) == 1:
                return t
            self.networks += 1
            half = 0.01 * self.networks
            return t._replace(p10_ms=t.median_ms * (1 - half), p90_ms=t.median_ms * (1 + half))

    fake = Noisy()
    table = _build(tiny, fake, str(tmp_path / "t.json"), log=None)
    report = validate_table(table, fake, tiny, num_archs=5, seed=0, progress=False, log=None)
    spreads = [r["spread"] for r in report["archs"]]
    np.testing.assert_allclose(spreads, [0.02, 0.06, 0.04, 0.08, 0.10])  # measured in order 0, 2, 1, 3, 4
    assert report["spread_median"] == pytest.approx(0.06) and report["spread_max"] == pytest.approx(0.10)
    on_disk = json.loads((tmp_path / "t.validation.json").read_text())
    assert [r["spread"] for r in on_disk["archs"]] == pytest.approx(spreads)
    md = (tmp_path / "t.validation.md").read_text()
    assert "| measurement spread per network, median / largest | 6.0 % / 10.0 % |" in md
    assert "| 4 | " in md and md.count("| 10.0 % | 20 |") == 1  # one row per network, with its spread


def test_validate_measures_networks_by_the_tables_statistic(tmp_path, tiny, fake_cls, op_ms):
    class P10(fake_cls):
        def provenance(self):
            return {**super().provenance(), "statistic": "p10"}

    fake = P10()
    table = _build(tiny, fake, str(tmp_path / "t.json"), log=None)
    report = validate_table(table, fake, tiny, num_archs=4, seed=0, progress=False, log=None)
    predicted = np.array([r["predicted_ms"] for r in report["archs"]])
    measured = np.array([r["measured_ms"] for r in report["archs"]])
    ops_p10 = np.array([sum(0.95 * op_ms(op) for op in tiny.network(tiny.parse(r["arch"]), RESOLUTION,
                                                                             NUM_CLASSES)) for r in report["archs"]])
    # Both sides use p10 (the fake's p10 is 0.95 x its median), not one median and one p10.
    np.testing.assert_allclose(predicted, ops_p10)
    np.testing.assert_allclose(measured, 0.95 * (0.9 * predicted / 0.95 + 0.05))
    md = (tmp_path / "t.validation.md").read_text()
    assert "(both the p10 of the timed runs)" in md and "statistic = p10" in md


def test_validate_alternates_the_halves_it_fits_and_scores(tmp_path, tiny, fake):
    table = _build(tiny, fake, str(tmp_path / "t.json"), log=None)
    built = len(fake.measured)
    report = validate_table(table, fake, tiny, num_archs=7, seed=2, progress=False, log=None)
    archs = tiny.sample(np.random.default_rng(2), 7)
    networks = [[op.signature() for op in tiny.network(a, RESOLUTION, NUM_CLASSES)] for a in archs]
    # Fit half (0-2) and scored half (3-6) measured in turn, so a change of load hits both alike.
    assert fake.measured[built:] == [networks[i] for i in (0, 3, 1, 4, 2, 5, 6)]
    assert [r["arch"] for r in report["archs"]] == [tiny.format(a) for a in archs]  # rows in sample order


def test_validate_refuses_another_backend(tmp_path, tiny, fake):
    table = _build(tiny, fake, str(tmp_path / "t.json"), log=None)
    fake.name = "other"
    with pytest.raises(ValueError, match="built with backend 'fake', not 'other'"):
        validate_table(table, fake, tiny, num_archs=4, progress=False, log=None)


def test_summarize_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    measured = rng.uniform(10, 50, 40)
    predicted = measured * rng.uniform(0.9, 1.2, 40)
    predicted[5] = predicted[6]  # a tie
    m = summarize(predicted, measured)
    assert m["pearson"] == pytest.approx(stats.pearsonr(predicted, measured)[0], abs=1e-12)
    assert m["spearman"] == pytest.approx(stats.spearmanr(predicted, measured)[0], abs=1e-12)
    assert m["kendall"] == pytest.approx(stats.kendalltau(predicted, measured)[0], abs=1e-12)
    err = 100 * np.abs(predicted - measured) / measured
    assert m["mape"] == pytest.approx(err.mean())
    assert m["within_10pct"] == pytest.approx(np.mean(err <= 10))
    with pytest.raises(ValueError, match="measured latencies must be > 0"):
        summarize([1.0, 2.0], [1.0, 0.0])


def test_import_reads_a_csv_for_the_manifest(tmp_path, tiny):
    ops = space_ops(tiny, RESOLUTION, NUM_CLASSES)
    archs = tiny.sample(np.random.default_rng(0), 3)
    manifest = {"schema": "jaxnas-latency-export", "schema_version": 1, "space": TINY, "resolution": RESOLUTION,
                "num_classes": NUM_CLASSES, "batch": 1, "dtype": "float32",
                "ops": [{"id": signature_key(op)} for op in ops],
                "networks": [{"id": f"net_{i}", "arch": tiny.format(a)} for i, a in enumerate(archs)]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    rows = [f"{signature_key(op)},{0.5 + i}" for i, op in enumerate(ops)] + ["net_0,30.5", "net_1,31", "net_2,"]
    (tmp_path / "lat.csv").write_text("id,latency_ms\n" + "\n".join(rows) + "\n")
    table, nets = import_table(str(tmp_path / "lat.csv"), str(tmp_path / "manifest.json"), "pixel 1")
    assert len(table) == 45 and table.lookup(ops[3]) == 3.5
    assert table.provenance["device"] == "pixel 1" and table.provenance["backend"] == "import"
    assert nets == {tiny.format(archs[0]): 30.5, tiny.format(archs[1]): 31.0}
    report = validate_table(table, None, tiny, measured=nets, out_dir=str(tmp_path), log=None)
    assert report["num_archs"] == 2
    # One imported figure per network: no runs, so no spread (never a made-up 0).
    assert [r["spread"] for r in report["archs"]] == [None, None] and report["spread_median"] is None
    (tmp_path / "bad.csv").write_text("id,latency_ms\nnot_an_op,1\n")
    with pytest.raises(ValueError, match=r"ids not in the manifest: \['not_an_op'\]"):
        import_table(str(tmp_path / "bad.csv"), str(tmp_path / "manifest.json"))
    (tmp_path / "short.csv").write_text("id,latency_ms\n" + rows[0] + "\n")
    with pytest.raises(ValueError, match="44 ops of the manifest have no latency, e.g. "):
        import_table(str(tmp_path / "short.csv"), str(tmp_path / "manifest.json"))
    (tmp_path / "nan.csv").write_text("id,latency_ms\n" + signature_key(ops[0]) + ",fast\n")
    with pytest.raises(ValueError, match="line 2: latency_ms must be a number"):
        import_table(str(tmp_path / "nan.csv"), str(tmp_path / "manifest.json"))
