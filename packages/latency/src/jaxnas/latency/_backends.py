"""Measuring backends: a small protocol, a registry, and the shared timing loop.

A backend times a *chain* of ops built as one model: a single op for a table
entry, a whole ``space.network(arch)`` for validation. Users add their own with
:func:`register_backend`; the built-in ones (``litert``, ``xla``) import their
runtime only when created, so ``import jaxnas.latency`` stays numpy-only.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from jaxnas.latency._table import Timing
from jaxnas.searchspace import ConcreteOp


@runtime_checkable
class Backend(Protocol):
    """What :func:`build_table` and :func:`validate_table` need from a device.

    Attributes:
      name: registry name, recorded in the table (``litert``, ``xla``, ...).
      batch: batch size of every measurement.
      dtype: input/weight dtype name (``float32``).
    """

    name: str
    batch: int
    dtype: str

    def provenance(self) -> dict:
        """Device, runtime, library versions, threads: recorded in the table."""

    def measure(self, ops: Sequence[ConcreteOp]) -> Timing:
        """Latency of the ops run one after another as a single model."""


_REGISTRY: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Makes ``get_backend(name, **options)`` call ``factory(**options)``.

    Raises:
      ValueError: ``name`` is already registered (pick another name).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_backend: name must be a non-empty string, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"register_backend: a backend named {name!r} exists; choose another name")
    _REGISTRY[name] = factory


def list_backends() -> list[str]:
    """Names accepted by :func:`get_backend`."""
    return sorted(_REGISTRY)


def get_backend(name: str, **options) -> Backend:
    """A new backend instance (``litert``: ``threads``, ``runs``, ``cache_dir``, ...)."""
    if name not in _REGISTRY:
        raise ValueError(f"backend {name!r}: unknown; choose one of {list_backends()} "
                         "or register your own with jaxnas.latency.register_backend")
    return _REGISTRY[name](**options)


def _litert(**options):
    from jaxnas.latency._litert import (
        LiteRTBackend,  # imports TensorFlow: only when asked for
    )

    return LiteRTBackend(**options)


def _xla(**options):
    from jaxnas.latency._xla import XLABackend  # imports jax: only when asked for

    return XLABackend(**options)


register_backend("litert", _litert)
register_backend("xla", _xla)


CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}


def time_callable(run: Callable[[], None], runs: int = 20, warmup: int = 5,
                  min_time_s: float = 0.1, max_runs: int = 1000, clock: str = "wall",
                  between: Callable[[], None] | None = None, rounds: int = 1) -> Timing:
    """Times ``run()`` after ``warmup`` calls: at least ``runs`` timed calls and ``min_time_s``.

    Very fast ops get more than ``runs`` calls (up to ``max_runs``) so that
    their median is not dominated by the timer's resolution.

    Args:
      clock: ``wall`` (elapsed time) or ``cpu`` (CPU time of the calling
        thread: on a loaded machine it leaves out the time the thread waited
        for a core, which wall time of a long run always includes; only
        meaningful when ``run`` computes in the calling thread).
      between: called (untimed) before every call, e.g. to evict caches.
      rounds: time this many rounds and return the one with the lowest
        median. Other processes only ever add time (cache and memory
        contention inflate even CPU time), so the quietest round is the
        best estimate of the op's own latency.
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock: expected one of {sorted(CLOCKS)}, got {clock!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds: expected a positive int, got {rounds!r}")
    now = CLOCKS[clock]
    for _ in range(warmup):
        run()
    best = None
    for _ in range(rounds):
        samples = []
        start = time.perf_counter()
        while len(samples) < runs or (time.perf_counter() - start < min_time_s and len(samples) < max_runs):
            if between is not None:
                between()
            t0 = now()
            run()
            samples.append((now() - t0) / 1e6)
        timing = Timing.from_samples(samples)
        if best is None or timing.median_ms < best.median_ms:
            best = timing
    return best


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(*dists: str) -> dict:
    """Installed versions of ``python``, numpy, jaxnas packages and ``dists``."""
    out = {"python": platform.python_version()}
    for d in ("numpy", "jaxnas-latency", "jaxnas-searchspace", *dists):
        try:
            out[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            out[d] = None
    return out


def l2_cache_bytes(default: int = 1 << 20) -> int:
    """Size of CPU 0's level-2 cache from sysfs (``default`` where it cannot be read)."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            with open(os.path.join(base, index, "level")) as f:
                if f.read().strip() != "2":
                    continue
            with open(os.path.join(base, index, "size")) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1], 1)
            return int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return default


def host_provenance() -> dict:
    """Facts about this host and moment, for every backend's provenance."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"device": cpu_model(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "load_average": None if load is None else
            [round(x, 2) for x in load],
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
