"""The one place where jaxnas sets XLA flags (apps and tests call it first).

Why: XLA:CPU's pipeline runs the ``cse_barrier_expander`` pass, which removes
``optimization_barrier``s before scheduling. Rematerialization (ours and
``jax.checkpoint``) relies on those barriers to keep the backward recomputation
from being merged with the forward pass and to run one choice at a time; without
them the memory saving disappears on CPU (docs/design.md, section 7).

The flag is for XLA:CPU only, and it is NOT harmless elsewhere: ``XLA_FLAGS``
apply to every backend of a process, and on a GPU the same flag leaves
``opt-barrier`` instructions that the GPU compiler rejects ("Unsupported
instruction opcode: opt-barrier", measured on an H200). GPU and TPU keep their
barriers on their own. So :func:`configure_xla` sets it only where the process
will compute on CPU alone, decided before jax starts (the rule is
:func:`computes_on_cpu_only`).

XLA reads ``XLA_FLAGS`` once, when jax creates its first backend, so this must run
before any jax computation (importing jax is fine).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import warnings
from collections.abc import Mapping

REMAT_XLA_FLAGS = ("--xla_disable_hlo_passes=cse_barrier_expander",)

# Distributions that give jax an accelerator backend (PJRT plugins and TPU runtimes).
_ACCELERATOR_DISTRIBUTIONS = ("libtpu", "libtpu-nightly", "jax-cuda12-plugin", "jax-cuda13-plugin",
                              "jax-rocm60-plugin", "jax-rocm7-plugin", "jax-metal")


def _started_backend() -> str | None:
    """The platform of jax's default backend if jax already started one, else None."""
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - private module moved; assume none started
        return None
    if not getattr(xla_bridge, "_backends", {}):
        return None
    import jax

    return jax.default_backend()


def _backend_started() -> bool:
    return _started_backend() is not None


def installed_accelerator_plugins() -> tuple[str, ...]:
    """Names of the installed jax accelerator plugins (PJRT plugins, libtpu), sorted.

    Read from package metadata and the ``jax_plugins`` entry points, the way jax
    itself discovers plugins, without importing jax or starting a backend.
    """
    found = set()
    try:
        found.update(ep.name for ep in importlib.metadata.entry_points(group="jax_plugins"))
    except Exception:  # noqa: BLE001 - broken metadata must not stop a program from starting
        pass
    for name in _ACCELERATOR_DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.add(name)
    try:
        spec = importlib.util.find_spec("jax_plugins")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            if os.path.isdir(folder):
                found.update(f"jax_plugins.{n.split('.')[0]}" for n in os.listdir(folder)
                             if not n.startswith(("_", ".")))
    return tuple(sorted(found))


def computes_on_cpu_only(environ: Mapping[str, str] | None = None,
                         plugins: tuple[str, ...] | None = None) -> bool:
    """Whether this process will run jax on the CPU backend alone (the CPU flag is safe then).

    The rule, in order:
      1. ``JAX_PLATFORMS`` set (e.g. ``cpu``, ``cuda,cpu``): CPU only iff every listed
         platform is ``cpu``.
      2. ``JAX_PLATFORM_NAME`` set: CPU only iff it is ``cpu``.
      3. Otherwise jax picks an accelerator when one of its plugins is installed
         (``jax-cuda*-plugin``, ``libtpu``, ...): CPU only iff none is. An installed
         plugin on a machine without the device makes jax fall back to CPU; set
         ``JAX_PLATFORMS=cpu`` there to get the CPU flag.

    Args:
      environ: the environment to read (default ``os.environ``).
      plugins: installed accelerator plugins (default :func:`installed_accelerator_plugins`).

    >>> computes_on_cpu_only({"JAX_PLATFORMS": "cpu"}), computes_on_cpu_only({"JAX_PLATFORMS": "cuda,cpu"})
    (True, False)
    >>> computes_on_cpu_only({}, plugins=()), computes_on_cpu_only({}, plugins=("jax_plugins.xla_cuda13",))
    (True, False)
    """
    env = os.environ if environ is None else environ
    platforms = [p.strip().lower() for p in env.get("JAX_PLATFORMS", "").split(",") if p.strip()]
    if platforms:
        return all(p == "cpu" for p in platforms)
    name = env.get("JAX_PLATFORM_NAME", "").strip().lower()
    if name:
        return name == "cpu"
    return not (installed_accelerator_plugins() if plugins is None else plugins)


def remat_flags(cpu_only: bool | None = None) -> tuple[str, ...]:
    """The flags rematerialization needs in this process: the CPU flag where it computes on CPU alone.

    Args:
      cpu_only: override the decision; by default the running backend if jax already
        started one, else :func:`computes_on_cpu_only`.
    """
    if cpu_only is None:
        started = _started_backend()
        cpu_only = started == "cpu" if started is not None else computes_on_cpu_only()
    return REMAT_XLA_FLAGS if cpu_only else ()


def configure_xla(extra_flags: tuple = (), cpu_only: bool | None = None) -> str:
    """Adds the flags rematerialization needs to ``XLA_FLAGS``; returns the new value.

    Call it at the top of a program (before the first jax computation). On a process
    that computes on CPU alone it adds ``--xla_disable_hlo_passes=cse_barrier_expander``;
    on GPU/TPU it adds nothing (that flag breaks their compilers) and removes it if a
    previous call put it there. Flags already present are not repeated. Warns if jax's
    backend already started (then the flags only apply to a fresh process).

    Args:
      extra_flags: more flags to add.
      cpu_only: override the platform decision (:func:`computes_on_cpu_only`).

    >>> remat_flags(cpu_only=True), remat_flags(cpu_only=False)
    (('--xla_disable_hlo_passes=cse_barrier_expander',), ())
    """
    before = os.environ.get("XLA_FLAGS", "")
    current = before.split()
    wanted = remat_flags(cpu_only)
    current = [f for f in current if f not in REMAT_XLA_FLAGS or f in wanted]
    for flag in wanted + tuple(extra_flags):
        if flag not in current:
            current.append(flag)
    value = " ".join(current)
    changed = value != before
    if value:
        os.environ["XLA_FLAGS"] = value
    else:
        os.environ.pop("XLA_FLAGS", None)
    if changed and _backend_started():
        warnings.warn("configure_xla: jax's backend is already running, so the XLA flags take effect only in "
                      "a new process; call jaxnas.supernet.configure_xla() before the first jax computation",
                      RuntimeWarning, stacklevel=2)
    return value


def xla_configured() -> bool:
    """Whether ``XLA_FLAGS`` holds exactly the remat flags this process needs (none on GPU/TPU)."""
    current = os.environ.get("XLA_FLAGS", "").split()
    wanted = remat_flags()
    return all(f in current for f in wanted) and not any(f in current for f in REMAT_XLA_FLAGS if f not in wanted)
