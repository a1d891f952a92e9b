"""Facts about the measuring host (CPU, caches, library versions, load) for a table's provenance."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform


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
