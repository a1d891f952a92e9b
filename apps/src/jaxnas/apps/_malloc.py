"""Runs the command lines with glibc's huge-page malloc (``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``).

Why: XLA:CPU takes each step's buffers from fresh memory (strace: a 256 MB ``mmap`` per step
of the ``step_throughput`` supernet step, before the CPU kernels), and Linux zero-fills every
4 KiB page on its first touch: 58,000 page faults per step there, and 110 of the 305 CPU seconds of the main job
(``jaxnas-search classification --config search_shapes``) were system time. With the tunable,
malloc asks for transparent huge pages (2 MiB): 3,700 faults per step. Measured on this 2-core
machine: the main job's 40-step search 66.2 -> 55.0 s (77 -> 93 img/s, same load).

``GLIBC_TUNABLES`` is read when a process starts, so the entry points re-execute themselves once
with it set. Nothing happens when ``GLIBC_TUNABLES`` is already set (the user's setting wins),
with ``JAXNAS_HUGEPAGE_MALLOC=0``, off Linux/glibc >= 2.35 (the first with the tunable), or where
transparent huge pages are off (``never``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TUNABLE = "glibc.malloc.hugetlb=1"
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def _glibc_version() -> tuple[int, int] | None:
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # e.g. "glibc 2.36"
        major, minor = version.split(".")[:2]
        return (int(major), int(minor)) if name == "glibc" else None
    except (ValueError, OSError, AttributeError):
        return None


def hugepage_malloc_applies(environ=None) -> bool:
    """Whether :func:`reexec_with_hugepage_malloc` would re-execute (see the module docstring)."""
    environ = os.environ if environ is None else environ
    if "GLIBC_TUNABLES" in environ or environ.get("JAXNAS_HUGEPAGE_MALLOC", "1") == "0":
        return False
    if not sys.platform.startswith("linux") or (_glibc_version() or (0, 0)) < (2, 35):
        return False
    try:
        return "[never]" not in THP_SETTING.read_text()
    except OSError:
        return False


def reexec_with_hugepage_malloc() -> None:
    """Replaces this process by the same command line with ``GLIBC_TUNABLES`` set, if it applies.

    Call it first thing in a console-script entry point (never in a library or a test process:
    the process is replaced).
    """
    if not hugepage_malloc_applies():
        return
    env = dict(os.environ, GLIBC_TUNABLES=TUNABLE)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
