"""What each command line does first, before anything imports TensorFlow or jax.

* TensorFlow (imported for the datasets and the TFLite export) prints C++ start-up lines
  on stderr (``oneDNN custom operations are on ...``, ``This TensorFlow binary is
  optimized ...``) into the user's terminal: :func:`quiet_tensorflow_logs` sets
  ``TF_CPP_MIN_LOG_LEVEL=2`` (errors still show) unless the user set it.
  ``TF_ENABLE_ONEDNN_OPTS`` is left alone: it changes TensorFlow's kernels (speed and last
  bits of the input pipeline), not only the log, so it stays the user's choice.
* :func:`jaxnas.apps._malloc.reexec_with_hugepage_malloc` re-executes the process once; the
  log setting is made before, in ``os.environ``, so the new process inherits it.
"""

from __future__ import annotations

import os

from jaxnas.apps._malloc import reexec_with_hugepage_malloc

TF_LOG_LEVEL = "2"  # TensorFlow's C++ log: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR


def quiet_tensorflow_logs(environ=None) -> None:
    """Sets ``TF_CPP_MIN_LOG_LEVEL`` to :data:`TF_LOG_LEVEL` in ``environ`` unless already set.

    >>> env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    >>> quiet_tensorflow_logs(env); env["TF_CPP_MIN_LOG_LEVEL"]
    '0'
    """
    environ = os.environ if environ is None else environ
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)


def start_command_line() -> None:
    """First thing in a console-script entry point: quiet TensorFlow, then maybe re-execute."""
    quiet_tensorflow_logs()
    reexec_with_hugepage_malloc()
