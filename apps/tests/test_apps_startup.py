"""The command lines start quiet: no TensorFlow C++ start-up lines, the user's own setting kept."""

import os
import re
import subprocess
import sys

from jaxnas.apps import _malloc

# A command line's start, then TensorFlow imported first (before jax initialises absl's log):
# the order in which TensorFlow prints its C++ start-up lines.
_SCRIPT = """
from jaxnas.apps._startup import start_command_line
start_command_line()
import os
import tensorflow as tf
tf.constant(1.0) + 1.0
print("LEVEL", os.environ["TF_CPP_MIN_LOG_LEVEL"], os.environ.get("GLIBC_TUNABLES"))
"""
_TF_LINE = re.compile(r"^[IWEF]\d{4} |oneDNN|cpu_feature_guard|TensorFlow binary|absl::InitializeLog", re.M)


def _start(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("TF_CPP_MIN_LOG_LEVEL", "GLIBC_TUNABLES", "JAXNAS_HUGEPAGE_MALLOC")}
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env={**clean, **env}, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_tensorflow_start_up_lines_are_hidden_also_after_the_reexec():
    out = _start()
    assert not _TF_LINE.search(out.stderr + out.stdout), out.stderr
    # One LEVEL line: the re-executed process replaced the first one and kept the setting.
    tunable = _malloc.TUNABLE if _malloc.hugepage_malloc_applies({}) else None
    assert out.stdout.splitlines() == [f"LEVEL 2 {tunable}"]


def test_the_users_log_level_wins():
    out = _start(TF_CPP_MIN_LOG_LEVEL="0", JAXNAS_HUGEPAGE_MALLOC="0")
    assert out.stdout.splitlines() == ["LEVEL 0 None"]
