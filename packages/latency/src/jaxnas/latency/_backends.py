"""Measuring backends: a small protocol and a registry.

A backend times a *chain* of ops built as one model: a single op for a table
entry, a whole ``space.network(arch)`` for validation. Users add their own with
:func:`register_backend`; the built-in ones (``litert``, ``xla``) import their
runtime only when created, so ``import jaxnas.latency`` stays numpy-only. The
timing loop they share is in ``_timing``, the host facts of their provenance in
``_host``: modules the backends import, never this registry (which imports them).
"""

from __future__ import annotations

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
