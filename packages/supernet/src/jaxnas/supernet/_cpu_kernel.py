"""Builds, caches and registers the C++ CPU kernels (depthwise, 1x1 weight gradient, batch norm).

Why compile on first use instead of at install: the package stays a pure-Python
wheel that installs anywhere, and the kernel is built for the CPU it runs on
(``-march=native``) against the FFI headers of the installed jaxlib. The shared
library is cached under ``$JAXNAS_CACHE_DIR`` (default ``~/.cache/jaxnas``),
keyed by the source, the compiler command, jaxlib's version and the CPU, so it
is built once per machine (about 5 s) and reused by every process. Where no C++
compiler is found or the build fails, :func:`available` is False with the reason
in :func:`unavailable_reason`, and ``depthwise_conv(impl="auto")`` falls back to
the pure-jax ``shifted`` form (a warning says why).

Set ``JAXNAS_CPU_KERNEL=0`` to never build or use the kernel.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import jax
import jaxlib

SOURCE = Path(__file__).parent / "_kernels" / "cpu_kernels.cc"
TARGETS = {  # FFI target name -> exported handler symbol
    "jaxnas_depthwise_forward": "JaxnasDepthwiseForward",
    "jaxnas_depthwise_input_grad": "JaxnasDepthwiseInputGrad",
    "jaxnas_depthwise_weight_grad": "JaxnasDepthwiseWeightGrad",
    "jaxnas_pointwise_weight_grad": "JaxnasPointwiseWeightGrad",
    "jaxnas_bn_stats": "JaxnasBnStats",
    "jaxnas_bn_act_forward": "JaxnasBnActForward",
    "jaxnas_bn_act_backward": "JaxnasBnActBackward",
}
FLAGS = ("-O3", "-march=native", "-std=c++20", "-shared", "-fPIC", "-w")


def cache_dir() -> Path:
    """Where built kernels live: ``$JAXNAS_CACHE_DIR`` or ``~/.cache/jaxnas``, plus ``kernels``."""
    root = os.environ.get("JAXNAS_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "jaxnas")
    return Path(root) / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_signature() -> str:
    """The CPU model and feature flags (``-march=native`` code is only valid on the same CPU)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags", "Features"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def _build(compiler: str) -> Path:
    """Compiles :data:`SOURCE` into the cache (atomically: concurrent builders do not clash)."""
    command = [compiler, *FLAGS, "-I", jax.ffi.include_dir()]
    key = hashlib.sha256("\0".join([SOURCE.read_text(), " ".join(command), jaxlib.__version__,
                                    platform.machine(), _cpu_signature()]).encode()).hexdigest()[:16]
    target = cache_dir() / f"cpu_kernels-{key}.so"
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # e.g. a read-only home: build into the temp folder instead (per user)
        target = Path(tempfile.gettempdir()) / f"jaxnas-kernels-{os.getuid()}" / target.name
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        result = subprocess.run([*command, "-o", str(built), str(SOURCE)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
        os.replace(built, target)  # atomic: readers see the whole library or none
    return target


@functools.cache
def _load() -> tuple[bool, str]:
    if os.environ.get("JAXNAS_CPU_KERNEL", "1") == "0":
        return False, "disabled by JAXNAS_CPU_KERNEL=0"
    compiler = _compiler()
    if compiler is None:
        return False, "no C++ compiler found (install g++ or clang++, or set CXX)"
    try:
        library = ctypes.cdll.LoadLibrary(str(_build(compiler)))
        for name, symbol in TARGETS.items():
            jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(library, symbol)), platform="cpu")
    except (OSError, RuntimeError, AttributeError) as error:
        return False, f"building the C++ depthwise kernel failed: {error}"
    return True, ""


def available() -> bool:
    """Whether the C++ kernel is built and registered (builds it on the first call)."""
    return _load()[0]


def unavailable_reason() -> str:
    """Why :func:`available` is False ("" when it is True)."""
    return _load()[1]


def call(target: str, out_shapes, *args, **attrs):
    """``jax.ffi.ffi_call`` of one of :data:`TARGETS` with float32 results.

    ``out_shapes``: one shape tuple, or a tuple of them (several results). ``attrs`` are
    passed as the handler's attributes (numpy scalars fix their type).
    """
    if out_shapes and isinstance(out_shapes[0], tuple):
        outs = tuple(jax.ShapeDtypeStruct(shape, "float32") for shape in out_shapes)
    else:
        outs = jax.ShapeDtypeStruct(out_shapes, "float32")
    return jax.ffi.ffi_call(target, outs, vmap_method="sequential")(*args, **attrs)


@functools.cache
def warn_fallback() -> None:
    """Warns once per process that ``auto`` fell back to the pure-jax form, and why."""
    warnings.warn(f"jaxnas.supernet: the fast C++ depthwise kernel is unavailable ({unavailable_reason()}); "
                  "using the slower pure-jax 'shifted' form", RuntimeWarning, stacklevel=3)
