"""The one place where jaxnas sets XLA flags (apps and tests call it first).

Why: XLA:CPU's pipeline runs the ``cse_barrier_expander`` pass, which removes
``optimization_barrier``s before scheduling. Rematerialization (ours and
``jax.checkpoint``) relies on those barriers to keep the backward recomputation
from being merged with the forward pass and to run one choice at a time; without
them the memory saving disappears on CPU (DESIGN.md section 7). GPU and TPU keep
the barriers, and the flag is harmless there.

XLA reads ``XLA_FLAGS`` once, when jax creates its first backend, so this must run
before any jax computation (importing jax is fine).
"""

from __future__ import annotations

import os
import warnings

REMAT_XLA_FLAGS = ("--xla_disable_hlo_passes=cse_barrier_expander",)


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - private module moved; assume the worst
        return True
    return bool(getattr(xla_bridge, "_backends", {}))


def configure_xla(extra_flags: tuple = ()) -> str:
    """Adds the flags rematerialization needs to ``XLA_FLAGS``; returns the new value.

    Call it at the top of a program (before the first jax computation). Flags
    already present are not repeated. Warns if jax's backend already started
    (then the flags only apply to a fresh process).

    >>> "cse_barrier_expander" in configure_xla()
    True
    """
    current = os.environ.get("XLA_FLAGS", "").split()
    for flag in REMAT_XLA_FLAGS + tuple(extra_flags):
        if flag not in current:
            current.append(flag)
    value = " ".join(current)
    changed = value != os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = value
    if changed and _backend_started():
        warnings.warn("configure_xla: jax's backend is already running, so the XLA flags take effect only in "
                      "a new process; call jaxnas.supernet.configure_xla() before the first jax computation",
                      RuntimeWarning, stacklevel=2)
    return value


def xla_configured() -> bool:
    """Whether ``XLA_FLAGS`` holds every flag :func:`configure_xla` sets."""
    current = os.environ.get("XLA_FLAGS", "").split()
    return all(flag in current for flag in REMAT_XLA_FLAGS)
