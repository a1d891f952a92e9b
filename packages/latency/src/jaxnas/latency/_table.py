"""``LatencyTable``: measured latency of every op signature, as versioned JSON.

File layout (``schema_version`` 1)::

    {"schema": "jaxnas-latency-table", "schema_version": 1,
     "provenance": {"backend": "litert", "device": "<CPU model>", "space": "proxylessnas",
                    "resolution": 224, "num_classes": 1000, "batch": 1, "dtype": "float32",
                    "threads": 1, "versions": {...}, "date": "...",
                    "statistic": "p10" (optional; absent = "median"), ...},
     "calibration": null or {"a": 1.02, "b": 0.3, "num_archs": 50},
     "entries": {"<signature key>": {"median_ms": .., "p10_ms": .., "p90_ms": .., "runs": 20}}}

JSON only (never pickle): a table is data a user may download and inspect.
Writes are atomic (a temporary file then ``os.replace``), so an interrupted
build never leaves a truncated table behind.
"""

from __future__ import annotations

import json
import math
import os
from typing import NamedTuple

import numpy as np
from jaxnas.latency._signatures import signature_key
from jaxnas.searchspace import ConcreteOp

SCHEMA = "jaxnas-latency-table"
SCHEMA_VERSION = 1
REQUIRED_PROVENANCE = ("backend", "space", "resolution", "num_classes", "batch", "dtype")
# provenance["statistic"]: which number of a Timing is "the latency" of an op or a network.
# Tables without it (written before the field existed) mean the median.
STATISTICS = {"median": "median_ms", "p10": "p10_ms"}


class Timing(NamedTuple):
    """A latency distribution in milliseconds over ``runs`` timed runs."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int

    @classmethod
    def from_samples(cls, samples_ms) -> Timing:
        """Median, 10th and 90th percentile of ``samples_ms`` (float[R]).

        >>> Timing.from_samples([1.0, 2.0, 3.0]).median_ms
        2.0
        """
        s = np.asarray(samples_ms, dtype=np.float64).reshape(-1)
        if s.size == 0 or not np.all(np.isfinite(s)):
            raise ValueError(f"timing: expected finite samples, got {s.size} values")
        p10, p50, p90 = np.percentile(s, [10, 50, 90])
        return cls(float(p50), float(p10), float(p90), int(s.size))

    def value(self, statistic: str = "median") -> float:
        """The latency by ``statistic`` (a key of ``STATISTICS``: ``median`` or ``p10``).

        >>> Timing(2.0, 1.5, 3.0, 20).value("p10")
        1.5
        """
        return getattr(self, STATISTICS[check_statistic(statistic)])


def check_statistic(statistic) -> str:
    """``statistic`` if it names a field of :class:`Timing` in ``STATISTICS``, else a ValueError."""
    if not isinstance(statistic, str) or statistic not in STATISTICS:
        raise ValueError(f"statistic: expected one of {sorted(STATISTICS)}, got {statistic!r}")
    return statistic


class Calibration(NamedTuple):
    """``measured ~ a * predicted_sum + b``, fitted on ``num_archs`` whole networks."""

    a: float
    b: float
    num_archs: int


class MissingSignatureError(LookupError):
    """A prediction needed an op the table has not measured."""


class LatencyTable:
    """Latency of op signatures on one device, with provenance and optional calibration.

    Args:
      provenance: at least ``backend, space, resolution, num_classes, batch, dtype``;
        anything else (device, versions, threads, date) is recorded as given.
      entries: ``{signature key: Timing}``.
      calibration: optional linear calibration of whole-network predictions.
      path: where the table lives (used in messages and by :meth:`save`).

    >>> from jaxnas.searchspace import ConcreteOp
    >>> t = LatencyTable({"backend": "fake", "space": "s", "resolution": 32, "num_classes": 10,
    ...                   "batch": 1, "dtype": "float32"})
    >>> op = ConcreteOp("pool", 4, 4, 8, 8)
    >>> t.add(op, Timing(0.5, 0.4, 0.6, 20))
    >>> t.lookup(op)
    0.5
    """

    def __init__(self, provenance: dict, entries: dict | None = None,
                 calibration: Calibration | None = None, path: str | None = None):
        if not isinstance(provenance, dict):
            raise TypeError(f"provenance: expected a dict, got {type(provenance).__name__}")
        missing = [k for k in REQUIRED_PROVENANCE if k not in provenance]
        if missing:
            raise ValueError(f"provenance: missing fields {missing}; a table records "
                             f"{list(REQUIRED_PROVENANCE)} so its keys and commands can be rebuilt")
        check_statistic(provenance.get("statistic", "median"))
        self.provenance = dict(provenance)
        self.entries: dict[str, Timing] = {k: Timing(*v) for k, v in (entries or {}).items()}
        self.calibration = calibration
        self.path = None if path is None else os.fspath(path)

    # ------------------------------------------------------------ keys and lookups
    @property
    def space(self) -> str:
        return self.provenance["space"]

    @property
    def spaces(self) -> tuple:
        """Every space the table was built for (``build`` can extend a table with more)."""
        return (self.space, *self.provenance.get("extra_spaces", ()))

    @property
    def statistic(self) -> str:
        """Which number of each entry is its latency: ``median`` (also when absent) or ``p10``."""
        return self.provenance.get("statistic", "median")

    @property
    def resolution(self) -> int:
        return int(self.provenance["resolution"])

    @property
    def num_classes(self) -> int:
        return int(self.provenance["num_classes"])

    def key(self, op: ConcreteOp | str) -> str:
        """The entry key of ``op`` at this table's dtype and batch (a str passes through)."""
        if isinstance(op, str):
            return op
        return signature_key(op, self.provenance["dtype"], int(self.provenance["batch"]))

    def __contains__(self, op) -> bool:
        return self.key(op) in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, op: ConcreteOp | str, timing: Timing) -> None:
        """Records (or replaces) the timing of ``op``."""
        if not isinstance(timing, Timing):
            raise TypeError(f"add: expected a Timing, got {type(timing).__name__}")
        self.entries[self.key(op)] = timing

    def lookup(self, op: ConcreteOp | str, space: str | None = None) -> float:
        """Latency (ms) of ``op``: its entry's median, or the table's ``statistic``.

        Raises:
          MissingSignatureError: the signature was never measured; the message
            names it and the ``jaxnas-latency build`` command that measures it.
        """
        key = self.key(op)
        try:
            return self.entries[key].value(self.statistic)
        except KeyError:
            raise MissingSignatureError(
                f"latency table {self.path or '(not saved)'} has no entry for signature {key}; "
                f"measure it with: {self.build_command(space)}") from None

    def build_command(self, space: str | None = None) -> str:
        """The CLI command that (re)builds this table, resuming what is measured."""
        p = self.provenance
        cmd = (f"jaxnas-latency build --space {space or p['space']} --backend {p['backend']} "
               f"--out {self.path or 'TABLE.json'} --resolution {p['resolution']}")
        if int(p["num_classes"]) != 1000:
            cmd += f" --num-classes {p['num_classes']}"
        return cmd

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "provenance": self.provenance,
                "calibration": None if self.calibration is None else self.calibration._asdict(),
                "entries": {k: v._asdict() for k, v in sorted(self.entries.items())}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False)

    @classmethod
    def from_json(cls, text: str | bytes, path: str | None = None) -> LatencyTable:
        """Parses a table; every failure names the file and how to get a good one."""
        where = f"latency table {path or '(string)'}"
        if not isinstance(text, (str, bytes, bytearray)):
            raise ValueError(f"{where}: expected the file's text, got {type(text).__name__}")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, > 4300 digits, nesting
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ValueError(f"{where}: not valid JSON ({reason}); the file is corrupt or truncated, "
                             "rebuild it with `jaxnas-latency build`") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"{where}: not a jaxnas-latency table (expected \"schema\": \"{SCHEMA}\")")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"{where}: schema version {version!r}, but this jaxnas-latency reads "
                             f"version {SCHEMA_VERSION}; rebuild the table with `jaxnas-latency build` "
                             "or use the jaxnas-latency release that wrote it")
        try:
            entries = {str(k): _timing(v) for k, v in data["entries"].items()}
            cal = data.get("calibration")
            calibration = None if cal is None else _calibration(cal)
            return cls(_provenance(data["provenance"]), entries, calibration, path)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"{where}: malformed content ({type(e).__name__}: {e}); the file is "
                             "corrupt, rebuild it with `jaxnas-latency build`") from None

    def save(self, path: str | None = None) -> str:
        """Writes the table atomically to ``path`` (default: where it was loaded from)."""
        path = os.fspath(path or self.path or "")
        if not path:
            raise ValueError("save: no path given and the table was not loaded from a file")
        self.path = path
        write_atomic(path, self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path) -> LatencyTable:
        """Reads a table written by :meth:`save`."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"latency table {path}: no such file; build one with "
                                    "`jaxnas-latency build --space SPACE --backend litert --out "
                                    f"{path}`")
        with open(path, "rb") as f:
            return cls.from_json(f.read(), path)


def _number(v, name: str) -> float:
    """``v`` as a finite float (JSON numbers only: no bools, no strings)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _count(v, name: str, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    return v


def _provenance(p) -> dict:
    """Checks the types of the fields keys and commands are rebuilt from (a loaded file's)."""
    if not isinstance(p, dict):
        raise TypeError(f"provenance must be an object, got {type(p).__name__}")
    present = [k for k in REQUIRED_PROVENANCE if k in p]  # missing ones: LatencyTable names them all
    for name in ("backend", "space", "dtype"):
        if name in present and (not isinstance(p[name], str) or not p[name]):
            raise ValueError(f"provenance {name!r} must be a non-empty string, got {p[name]!r}")
    for name in ("resolution", "num_classes", "batch"):
        if name in present:
            _count(p[name], f"provenance {name!r}", 1)
    check_statistic(p.get("statistic", "median"))
    extra = p.get("extra_spaces", [])
    if not isinstance(extra, list) or not all(isinstance(e, str) for e in extra):
        raise ValueError(f"provenance 'extra_spaces' must be a list of space names, got {extra!r}")
    return p


def _calibration(cal) -> Calibration:
    return Calibration(_number(cal["a"], "calibration a"), _number(cal["b"], "calibration b"),
                       _count(cal["num_archs"], "calibration num_archs", 0))


def _timing(v) -> Timing:
    t = Timing(float(v["median_ms"]), float(v["p10_ms"]), float(v["p90_ms"]), int(v["runs"]))
    if not all(math.isfinite(x) and x >= 0 for x in t[:3]):
        raise ValueError(f"latencies must be finite and >= 0, got {t}")
    return t


def write_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
