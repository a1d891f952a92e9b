"""The ``jaxnas-latency`` command line: build, predict, validate, calibrate, export, import.

Every command reads and writes the same JSON files as the Python API. Bad
input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PROG = "jaxnas-latency"
DEFAULT_CLASSES = 1000  # classifier outputs of a table (also of one that covers a detection head)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the whole usage by default)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Latency lookup tables: build, predict, validate.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="measure every op signature of a space (resumes)")
    b.add_argument("--space", required=True)
    b.add_argument("--backend", default="litert")
    b.add_argument("--out", required=True, help="table JSON (resumed if it exists)")
    b.add_argument("--resolution", type=int, default=224)
    b.add_argument("--num-classes", type=int, default=None,
                   help="classifier outputs (default 1000); with --head the head's object classes")
    _head_arguments(b)
    b.add_argument("--threads", type=int, default=None, help="litert interpreter threads (default 1)")
    b.add_argument("--runs", type=int, default=None, help="timed runs per op and round (>= 20)")
    b.add_argument("--rounds", type=int, default=None, help="litert: rounds per op, quietest kept (default 3)")
    b.add_argument("--cache-dir", default=None, help="litert: keep converted .tflite models here")
    b.add_argument("--flush-bytes", type=int, default=None,
                   help="litert: rewrite this many bytes before each timed op run "
                        "(default 4 x the L2 cache; 0 = off)")
    b.add_argument("--statistic", choices=("p10", "median"), default=None,
                   help="litert: the latency of an op or network is this number of its runs (default p10)")
    b.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="litert: thread CPU time (default with 1 thread) or wall time")
    b.add_argument("--no-progress", action="store_true")

    pr = sub.add_parser("predict", help="latency of architectures (JSON lines)")
    pr.add_argument("--table", required=True)
    pr.add_argument("--space", default=None, help="default: the table's space")
    pr.add_argument("--raw", action="store_true", help="ignore the table's calibration")
    pr.add_argument("--num-classes", type=int, default=None, help="with --head: the head's object classes")
    _head_arguments(pr)
    pr.add_argument("archs", nargs="+", help="colon strings, or - to read one per line from stdin")

    v = sub.add_parser("validate", help="measure random whole networks and compare (report files)")
    v.add_argument("--table", required=True)
    v.add_argument("--num-archs", type=int, default=100)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--out-dir", default=None, help="default: beside the table")
    v.add_argument("--space", default=None)
    v.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    v.add_argument("--no-progress", action="store_true")

    c = sub.add_parser("calibrate", help="fit a * sum + b on a validation report, store it in the table")
    c.add_argument("--table", required=True)
    c.add_argument("--report", default=None, help="default: the table's validation report")

    e = sub.add_parser("export", help="write .tflite per op (+ networks) and a manifest")
    e.add_argument("--space", required=True)
    e.add_argument("--out-dir", required=True)
    e.add_argument("--resolution", type=int, default=224)
    e.add_argument("--num-classes", type=int, default=1000)
    e.add_argument("--num-networks", type=int, default=0)
    e.add_argument("--seed", type=int, default=0)

    i = sub.add_parser("import", help="read id,latency_ms CSV measured elsewhere into a table")
    i.add_argument("--manifest", required=True)
    i.add_argument("--csv", required=True)
    i.add_argument("--out", required=True)
    i.add_argument("--device", default="unknown device", help="recorded in the provenance")
    return p


def _head_arguments(p) -> None:
    from jaxnas.latency._ssdlite import HEADS

    p.add_argument("--head", default=None, choices=sorted(HEADS),
                   help="a detection head on the backbone's C4/C5 (needs jaxnas-detection); "
                        "with --num-classes K object classes")
    p.add_argument("--extra-depths", default=None,
                   help="ssdlite: widths of the extra layers, comma-separated (default 512,256,256,128)")


def _head_of(args):
    """The ``Head`` the flags ask for, or None; ``--num-classes`` is then the head's classes."""
    if args.head is None:
        if args.extra_depths is not None:
            raise ValueError("--extra-depths needs --head ssdlite")
        return None
    from jaxnas.latency._ssdlite import get_head

    if args.num_classes is None:
        raise ValueError(f"--head {args.head} needs --num-classes (the detector's object classes, e.g. 80 for COCO)")
    extra = None
    if args.extra_depths is not None:
        try:
            extra = tuple(int(d) for d in args.extra_depths.split(","))
        except ValueError:
            raise ValueError(f"--extra-depths {args.extra_depths!r}: expected comma-separated ints, "
                             "e.g. 512,256,256,128") from None
    return get_head(args.head, args.num_classes, extra)


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    from jaxnas.latency._table import MissingSignatureError

    try:
        return _COMMANDS[args.command](args)
    except (ValueError, TypeError, OSError, MissingSignatureError) as e:
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 2


def _space(name):
    from jaxnas.searchspace import get_space

    return get_space(name)


def _build(args) -> int:
    from jaxnas.latency._backends import get_backend
    from jaxnas.latency._build import build_table

    space = _space(args.space)  # bad names fail before a backend loads TensorFlow
    options = {k: v for k, v in (("threads", args.threads), ("runs", args.runs), ("cache_dir", args.cache_dir),
                                 ("clock", args.clock), ("flush_bytes", args.flush_bytes),
                                 ("rounds", args.rounds), ("statistic", args.statistic)) if v is not None}
    head = _head_of(args)
    # With a head the classifier is not part of the network; its ops stay at 1000 classes, as
    # jaxnas.apps.detection.build_detection_table records them, so both build the same table.
    classes = args.num_classes if head is None and args.num_classes is not None else DEFAULT_CLASSES
    backend = get_backend(args.backend, **options)
    table = build_table(space, backend, args.resolution, classes, out=args.out,
                        progress=not args.no_progress, head=head)
    print(f"{len(table)} entries in {table.path}")
    return 0


def _read_archs(values) -> list[str]:
    if values == ["-"]:
        return [line.strip() for line in sys.stdin if line.strip()]
    return list(values)


def _predict(args) -> int:
    import numpy as np
    from jaxnas.latency._predict import latency_model
    from jaxnas.latency._table import LatencyTable

    table = LatencyTable.load(args.table)
    space = _space(args.space or table.space)
    strings = _read_archs(args.archs)
    if not strings:
        raise ValueError("predict: no architectures given")
    head = _head_of(args)
    if head is None and args.num_classes is not None:
        raise ValueError("--num-classes needs --head (a classifier's classes are the table's)")
    archs = np.stack([space.parse(s) for s in strings])
    model = latency_model(table, space, head=head)
    values = (model.predict_sum if args.raw else model.predict)(archs)
    for s, v in zip(strings, values):
        print(json.dumps({"arch": s, "latency_ms": float(v)}))
    return 0


def backend_for(table, **options):
    """The backend that built ``table``, with the table's thread and batch settings."""
    from jaxnas.latency._backends import get_backend

    name = table.provenance["backend"]
    if name == "import":
        raise ValueError("validate: this table was imported; validate it with the networks measured on "
                         "the device (`export --num-networks N`, then `import` their rows)")
    if name == "litert":  # whole networks are timed like the table's ops were
        for field in ("threads", "clock", "statistic", "rounds"):
            if table.provenance.get(field) is not None:
                options.setdefault(field, table.provenance[field])
    return get_backend(name, batch=int(table.provenance["batch"]), **options)


def _validate(args) -> int:
    from jaxnas.latency._table import LatencyTable
    from jaxnas.latency._validate import validate_table

    table = LatencyTable.load(args.table)
    space = _space(args.space or table.space)
    if args.num_archs < 2:
        raise ValueError(f"--num-archs must be >= 2, got {args.num_archs}")
    report = validate_table(table, backend_for(table), space, args.num_archs, args.seed, args.out_dir,
                            progress=not args.no_progress, log=None if args.json else print)
    keys = ("pearson", "spearman", "kendall", "mape", "mape_calibrated", "within_10pct",
            "within_10pct_calibrated", "additivity", "spread_median", "spread_max", "num_archs")
    if args.json:
        print(json.dumps({k: report[k] for k in keys}))
    else:
        for k in keys:
            print(f"{k:>16}: {report[k]}")
    return 0


def _calibrate(args) -> int:
    from jaxnas.latency._table import LatencyTable
    from jaxnas.latency._validate import calibrate_table, report_paths, table_stem

    table = LatencyTable.load(args.table)
    path = args.report or report_paths(os.path.dirname(os.path.abspath(args.table)), table_stem(args.table))[0]
    if not os.path.isfile(path):
        raise ValueError(f"calibrate: no validation report at {path}; run `{PROG} validate --table "
                         f"{args.table}` first or pass --report")
    with open(path, encoding="utf-8") as f:
        cal = calibrate_table(table, json.load(f))
    table.save()
    print(f"calibration a = {cal.a:.6f}, b = {cal.b:.6f} ms (fitted on {cal.num_archs} networks), "
          f"stored in {table.path}")
    return 0


def _export(args) -> int:
    from jaxnas.latency._export import export_models

    space = _space(args.space)
    path = export_models(space, args.out_dir, args.resolution, args.num_classes, args.num_networks, args.seed)
    print(f"wrote {path}")
    return 0


def _import(args) -> int:
    from jaxnas.latency._export import import_table
    from jaxnas.latency._validate import validate_table

    table, networks = import_table(args.csv, args.manifest, args.device)
    table.save(args.out)
    print(f"{len(table)} entries in {table.path}")
    if len(networks) >= 2:
        report = validate_table(table, None, measured=networks)
        print(f"validation on {report['num_archs']} imported networks: pearson {report['pearson']:.4f}, "
              f"mape {report['mape']:.2f} %")
    return 0


_COMMANDS = {"build": _build, "predict": _predict, "validate": _validate, "calibrate": _calibrate,
             "export": _export, "import": _import}
