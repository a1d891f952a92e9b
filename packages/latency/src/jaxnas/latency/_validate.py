"""``validate_table`` (TuNAS Fig. 4): predicted vs measured whole networks, with a report.

N random architectures (seeded) are predicted from the table and measured end
to end on the same backend. The report gives Pearson, Spearman and Kendall
correlation, the mean absolute % error of the raw sum and of a linear
calibration fitted on the first half and scored on the other half, the share
within +/-10 %, the additivity ratio (sum of ops / whole network) and each
network's measurement spread ((p90 - p10) / median of its timed runs, so a
reader can tell a prediction error from a noisy measurement). It is written as
JSON, Markdown and a scatter plot beside the table.

Shape letters: N architectures.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import numpy as np
from jaxnas.latency._backends import Backend
from jaxnas.latency._predict import latency_model
from jaxnas.latency._stats import abs_pct_error, fit_linear, kendall, pearson, spearman
from jaxnas.latency._table import Calibration, LatencyTable, write_atomic
from jaxnas.searchspace import Space, get_space

REPORT_SCHEMA = "jaxnas-latency-validation"


def summarize(predicted, measured) -> dict:
    """Agreement metrics of ``predicted`` (sum of ops) and ``measured`` (float[N], ms).

    ``mape*`` are percentages, ``within_10pct*`` fractions of the architectures.
    The calibrated figures fit ``a * predicted + b`` on the first half and score
    the second half (None below 4 architectures).

    >>> m = summarize([10.0, 20.0, 30.0, 40.0], [11.0, 21.0, 31.0, 41.0])
    >>> m["pearson"], m["mape_calibrated"], m["within_10pct"]
    (1.0, 0.0, 1.0)
    """
    p = np.asarray(predicted, dtype=np.float64)
    m = np.asarray(measured, dtype=np.float64)
    if p.shape != m.shape or p.ndim != 1 or p.size < 2:
        raise ValueError(f"summarize: expected two float[N] arrays with N >= 2, got {p.shape} and {m.shape}")
    if np.any(m <= 0):
        raise ValueError("summarize: measured latencies must be > 0")
    err = abs_pct_error(p, m)
    out = {"num_archs": int(p.size), "pearson": pearson(p, m), "spearman": spearman(p, m),
           "kendall": kendall(p, m), "mape": float(err.mean()), "within_10pct": float(np.mean(err <= 10)),
           "additivity": float(np.mean(p / m)), "mape_calibrated": None,
           "within_10pct_calibrated": None, "calibration_holdout": None}
    half = p.size // 2
    if p.size >= 4:
        fit = fit_linear(p[:half], m[:half])
        cal_err = abs_pct_error(fit.a * p[half:] + fit.b, m[half:])
        out.update(mape_calibrated=round(float(cal_err.mean()), 12),
                   within_10pct_calibrated=float(np.mean(cal_err <= 10)),
                   calibration_holdout={"a": fit.a, "b": fit.b, "fit_on": half, "scored_on": p.size - half})
    return out


def validate_table(table: LatencyTable, backend: Backend | None, space: Space | None = None,
                   num_archs: int = 100, seed: int = 0, out_dir: str | None = None,
                   progress: bool = True, log: Callable[[str], None] | None = print,
                   measured: dict | None = None) -> dict:
    """Measures ``num_archs`` random whole networks and compares them with the table.

    Args:
      table: the latency table.
      backend: the backend that built it (same settings), used for whole networks.
      space: the space to sample (default: the table's).
      num_archs: how many architectures (>= 2; >= 4 for the calibrated figures).
      seed: sampling seed (``np.random.default_rng(seed)``).
      out_dir: where the report goes (default: beside the table; None and no
        table path: not written).
      progress: tqdm progress bar.
      log: where the paths of the written files go.
      measured: ``{arch string: latency_ms}`` measured elsewhere (e.g. imported
        from a phone); then nothing is sampled or measured and ``backend`` may be None.

    Returns:
      The report: metrics (see :func:`summarize`), the per-architecture rows,
      provenance, seed and ``validate_seconds``.
    """
    if isinstance(num_archs, bool) or not isinstance(num_archs, int) or num_archs < 2:
        raise ValueError(f"validate: num_archs must be an int >= 2, got {num_archs!r}")
    space = get_space(table.space) if space is None else space
    if measured is not None:
        return _validate_measured(table, space, measured, seed, out_dir, log)
    if backend is None:
        raise ValueError("validate: pass a backend, or the measured networks (measured=...)")
    if backend.name != table.provenance["backend"]:
        raise ValueError(f"validate: the table was built with backend {table.provenance['backend']!r}, "
                         f"not {backend.name!r}; validate on the backend that built it")
    model = latency_model(table, space)  # raises for missing signatures before any measuring
    start = time.perf_counter()
    archs = space.sample(np.random.default_rng(seed), num_archs)
    predicted = model.predict_sum(archs)
    rows = [None] * num_archs
    bar = _progress(num_archs) if progress else None
    for i in measure_order(num_archs):
        t = backend.measure(space.network(archs[i], table.resolution, table.num_classes))
        rows[i] = {"arch": space.format(archs[i]), "predicted_ms": float(predicted[i]),
                   "measured_ms": t.value(table.statistic), "p10_ms": t.p10_ms, "p90_ms": t.p90_ms,
                   "runs": t.runs, "spread": timing_spread(t)}
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return _finish(table, space, rows, seed, time.perf_counter() - start, out_dir, log)


def measure_order(n: int) -> list[int]:
    """The order validation measures ``n`` networks in: the two halves alternate.

    The calibrated figures fit on the first half and score the second; measured
    one half after the other, a change of the machine's load between them
    would show as calibration error. Alternating, both halves see the same load.

    >>> measure_order(5)
    [0, 2, 1, 3, 4]
    """
    half = n // 2
    order = [i for pair in zip(range(half), range(half, n)) for i in pair]
    return order + list(range(2 * half, n))


def _validate_measured(table, space, measured: dict, seed, out_dir, log) -> dict:
    if len(measured) < 2:
        raise ValueError(f"validate: needs at least 2 measured networks, got {len(measured)}")
    archs = np.stack([space.validate(a) for a in measured])
    predicted = latency_model(table, space).predict_sum(archs)
    # Imported figures are one number per network: no runs, so no spread.
    rows = [{"arch": space.format(a), "predicted_ms": float(p), "measured_ms": float(m), "p10_ms": float(m),
             "p90_ms": float(m), "runs": 0, "spread": None} for a, p, m in zip(archs, predicted, measured.values())]
    return _finish(table, space, rows, seed, 0.0, out_dir, log)


def timing_spread(timing) -> float:
    """``(p90 - p10) / median`` of a whole network's timed runs (0 = every run alike).

    >>> from jaxnas.latency import Timing
    >>> timing_spread(Timing(20.0, 19.0, 23.0, 20))
    0.2
    """
    return round((timing.p90_ms - timing.p10_ms) / timing.median_ms, 12)


def spread_summary(rows) -> dict:
    """Median and largest per-network spread (fractions; None when nothing was timed here)."""
    spreads = np.array([r["spread"] for r in rows if r.get("spread") is not None], dtype=np.float64)
    if spreads.size == 0:
        return {"spread_median": None, "spread_max": None}
    return {"spread_median": float(np.median(spreads)), "spread_max": float(spreads.max())}


def _finish(table, space, rows, seed, seconds, out_dir, log) -> dict:
    report = {"schema": REPORT_SCHEMA, "schema_version": 1, "table": table.path, "space": space.name,
              "seed": seed, **summarize([r["predicted_ms"] for r in rows], [r["measured_ms"] for r in rows]),
              **spread_summary(rows),
              "validate_seconds": seconds,
              "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
              "provenance": table.provenance, "archs": rows}
    if out_dir is None and table.path:
        out_dir = os.path.dirname(os.path.abspath(table.path))
    if out_dir is not None:
        paths = write_report(report, out_dir, table_stem(table.path))
        if log:
            log("wrote " + ", ".join(paths))
    return report


def calibrate_table(table: LatencyTable, report: dict) -> Calibration:
    """Fits ``measured ~ a * sum + b`` on every architecture of ``report`` and stores it in ``table``."""
    rows = report.get("archs") if isinstance(report, dict) else None
    if not rows:
        raise ValueError("calibrate: the report has no measured architectures; run "
                         "`jaxnas-latency validate` first")
    if report.get("provenance", {}).get("backend") != table.provenance["backend"]:
        raise ValueError("calibrate: the report was measured on another backend than the table's")
    fit = fit_linear([r["predicted_ms"] for r in rows], [r["measured_ms"] for r in rows])
    table.calibration = Calibration(fit.a, fit.b, len(rows))
    return table.calibration


def report_paths(out_dir: str, stem: str) -> tuple[str, str, str]:
    """``(json, md, png)`` paths of a validation report."""
    base = os.path.join(out_dir, f"{stem}.validation")
    return base + ".json", base + ".md", base + ".png"


def write_report(report: dict, out_dir: str, stem: str = "table") -> list[str]:
    """Writes the JSON, Markdown and (with matplotlib) PNG of a report; returns the paths."""
    json_path, md_path, png_path = report_paths(out_dir, stem)
    write_atomic(json_path, json.dumps(report, indent=1) + "\n")
    written = [json_path]
    if _scatter(report, png_path):
        written.append(png_path)
    write_atomic(md_path, markdown(report, os.path.basename(png_path) if len(written) > 1 else None))
    return written + [md_path]


def markdown(report: dict, png: str | None = None) -> str:
    """The report as a Markdown page."""
    p = report["provenance"]

    def fmt(v, pct=False):
        if v is None:
            return "n/a"
        return f"{100 * v:.1f} %" if pct else f"{v:.4f}" if isinstance(v, float) else str(v)

    stat = f" (both the {p['statistic']} of the timed runs)" if "statistic" in p else ""
    intro = (f"{report['num_archs']} architectures (seed {report['seed']}), each measured end to end "
             f"and predicted as the sum of its ops' table latencies{stat}.")
    cal = "n/a" if report["mape_calibrated"] is None else f"{report['mape_calibrated']:.2f} %"
    lines = [f"# Latency table validation: {report['space']} on {p['backend']}", "",
             intro, "",
             "| metric | value |", "|---|---|",
             f"| Pearson | {fmt(report['pearson'])} |", f"| Spearman | {fmt(report['spearman'])} |",
             f"| Kendall tau | {fmt(report['kendall'])} |",
             f"| mean abs error, raw sum | {report['mape']:.2f} % |",
             f"| mean abs error, calibrated (held-out half) | {cal} |",
             f"| within +/-10 %, raw | {fmt(report['within_10pct'], True)} |",
             f"| within +/-10 %, calibrated (held-out half) | {fmt(report['within_10pct_calibrated'], True)} |",
             f"| additivity (sum of ops / whole network) | {fmt(report['additivity'])} |",
             f"| measurement spread per network, median / largest | {fmt(report.get('spread_median'), True)}"
             f" / {fmt(report.get('spread_max'), True)} |",
             f"| validation time | {report['validate_seconds']:.0f} s |", "",
             "Provenance: " + ", ".join(f"{k} = {p.get(k)}" for k in
                                        ("device", "runtime", "threads", "clock", "statistic", "rounds",
                                         "flush_bytes_before_op_runs", "batch", "dtype", "resolution", "date",
                                         "load_average") if k in p) + ".",
             f"Load average during validation: {report.get('load_average')}.", ""]
    if png:
        lines += [f"![predicted vs measured]({png})", ""]
    lines += ["Each network: spread = (p90 - p10) / median of its timed runs; error = predicted sum / "
              "measured - 1.", "", "| # | measured (ms) | predicted sum (ms) | error | spread | runs |",
              "|---|---|---|---|---|---|"]
    for i, r in enumerate(report["archs"]):
        err = r["predicted_ms"] / r["measured_ms"] - 1
        lines.append(f"| {i} | {r['measured_ms']:.3f} | {r['predicted_ms']:.3f} | {100 * err:+.1f} % | "
                     f"{fmt(r.get('spread'), True)} | {r['runs']} |")
    return "\n".join(lines) + "\n"


def _scatter(report: dict, path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is optional: JSON and Markdown still carry every figure
        return False
    measured = np.array([r["measured_ms"] for r in report["archs"]])
    predicted = np.array([r["predicted_ms"] for r in report["archs"]])
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    ax.scatter(measured, predicted, s=12, label="sum of op latencies")
    cal = report.get("calibration_holdout")
    if cal:
        half = cal["fit_on"]
        ax.scatter(measured[half:], cal["a"] * predicted[half:] + cal["b"], s=12, marker="x",
                   label="calibrated (held-out half)")
    lo, hi = float(min(measured.min(), predicted.min())), float(max(measured.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
    ax.set_xlabel("measured whole network (ms)")
    ax.set_ylabel("predicted (ms)")
    ax.set_title(f"{report['space']} / {report['provenance']['backend']}: Pearson {report['pearson']:.3f}",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="validate", unit="net", dynamic_ncols=True)


def table_stem(path: str | None) -> str:
    if not path:
        return "table"
    name = os.path.basename(path)
    return name.removesuffix(".json")
