"""Stand-alone detection evaluation scores every process's share of the split."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

SCRIPT = os.path.join(os.path.dirname(__file__), "detection_eval_script.py")


def _env(**extra):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1", JAX_PLATFORMS="cpu",
               TF_CPP_MIN_LOG_LEVEL="3")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _lines(out: str, tag: str):
    return json.loads(next(line for line in out.splitlines() if line.startswith(tag + " "))[len(tag) + 1:])


def test_two_processes_score_the_whole_split():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES=2,
                                       JAX_PROCESS_ID=i))
             for i in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    expected = _lines(outs[0][0], "EXPECTED")
    # Process 0's share alone scores 1.0 (every box found), process 1's 0.0: the whole split is between.
    assert 0.2 < expected["map"] < 0.8, expected
    for out, _ in outs:
        assert _lines(out, "PROCESSES") == 2
        got = _lines(out, "METRICS")
        assert got.keys() == expected.keys()
        np.testing.assert_allclose([got[k] for k in expected], [expected[k] for k in expected], atol=1e-9)
