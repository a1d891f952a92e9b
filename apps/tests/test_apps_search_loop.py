"""The search loop's mechanics: resume after SIGKILL (toy network and real supernet), 8 devices = 1, two processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
from jaxnas.apps._metrics import read_metrics

SCRIPT = os.path.join(os.path.dirname(__file__), "search_script.py")
TIMING = ("train_img_per_s",)


def _env(devices=1, **extra):
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _run(workdir, data_dir, *args, devices=1, timeout=240, **env):
    out = subprocess.run([sys.executable, SCRIPT, str(workdir), data_dir, *args], env=_env(devices, **env),
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))[7:])


def _metrics(workdir):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in read_metrics(str(workdir))]


def _checkpoint(workdir, step):
    """The saved state of ``step`` as ``{path: numpy array}`` (read without a target tree)."""
    import jax
    import orbax.checkpoint as ocp
    manager = ocp.CheckpointManager(str(workdir / "checkpoints"), item_names=("state", "meta"))
    state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
    manager.close()
    return {jax.tree_util.keystr(p): np.asarray(x) for p, x in jax.tree_util.tree_flatten_with_path(state)[0]}


def _kill_after_checkpoint(work, data_dir, flags, step, env=None):
    """Starts a search, SIGKILLs it once checkpoint ``step`` is complete, checks it did not finish."""
    proc = subprocess.Popen([sys.executable, SCRIPT, str(work), data_dir, *flags], env=env or _env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not (work / "checkpoints" / str(step)).exists() and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (work / "result.json").exists()


def test_resume_after_sigkill_is_bit_exact(tmp_path, data_dir):
    steps = ["--toy", "--config.steps=24", "--config.log_every=2", "--config.checkpoint_every=4"]
    full = _run(tmp_path / "full", data_dir, *steps)
    work = tmp_path / "killed"
    _kill_after_checkpoint(work, data_dir, [*steps, "--sleep", "0.3"], 8)
    resumed = _run(work, data_dir, *steps, "--resume")
    assert resumed["arch"] == full["arch"]
    assert resumed["one_shot_accuracy"] == full["one_shot_accuracy"]
    assert _metrics(work) == _metrics(tmp_path / "full")


def test_supernet_resume_after_sigkill_is_bit_exact_on_other_thread_counts(tmp_path, data_dir):
    """The real supernet (C++ kernels included), killed after step 2 of 6 and resumed.

    The uninterrupted run, the killed run and the resumed one each get another size of XLA's
    intra-op thread pool (``NPROC``): the kernels' reductions must not depend on it. A shared
    persistent compilation cache keeps the three compiles to one (test time).
    """
    steps = ["--config.steps=6", "--config.log_every=1", "--config.checkpoint_every=2"]
    cache = dict(JAX_COMPILATION_CACHE_DIR=tmp_path / "xla_cache", JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0)
    full = _run(tmp_path / "full", data_dir, *steps, NPROC=2, **cache)
    work = tmp_path / "killed"
    _kill_after_checkpoint(work, data_dir, [*steps, "--sleep", "0.5"], 2, env=_env(NPROC=1, **cache))
    assert not (work / "checkpoints" / "6").exists()
    resumed = _run(work, data_dir, *steps, "--resume", NPROC=3, **cache)
    assert resumed["arch"] == full["arch"]
    assert resumed["one_shot_accuracy"] == full["one_shot_accuracy"]
    assert len(_metrics(work)) == 6 and _metrics(work) == _metrics(tmp_path / "full")
    want, got = _checkpoint(tmp_path / "full", 6), _checkpoint(work, 6)
    assert want.keys() == got.keys()
    for path in want:
        np.testing.assert_array_equal(got[path], want[path], err_msg=path)


def test_eight_devices_equal_one_device(tmp_path, data_dir):
    flags = ["--toy", "--config.steps=4", "--config.archs_per_step=8", "--config.per_device_batch=2",
             "--config.log_every=1", "--config.checkpoint_every=4"]
    one = _run(tmp_path / "one", data_dir, *flags, devices=1)
    eight = _run(tmp_path / "eight", data_dir, *flags, devices=8)
    assert (one["devices"], eight["devices"]) == (1, 8)
    assert one["arch"] == eight["arch"]
    for a, b in zip(_metrics(tmp_path / "one"), _metrics(tmp_path / "eight")):
        assert a["argmax"] == b["argmax"]
        for key in ("loss", "quality", "reward", "cost_sampled", "entropy"):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_two_processes_search_together(tmp_path, data_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = ["--toy", "--config.steps=4", "--config.log_every=2", "--config.checkpoint_every=4",
             "--config.archs_per_step=2"]
    procs = [subprocess.Popen([sys.executable, SCRIPT, str(tmp_path / "two"), data_dir, *flags],
                              env=_env(1, JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES=2,
                                       JAX_PROCESS_ID=i), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    results = [json.loads(next(l for l in out.splitlines() if l.startswith("RESULT "))[7:]) for out, _ in outs]
    assert results[0]["processes"] == 2 and results[0]["devices"] == 2
    assert results[0]["arch"] == results[1]["arch"]
    single = _run(tmp_path / "single", data_dir, *flags, devices=2)
    assert single["arch"] == results[0]["arch"]
    for a, b in zip(_metrics(tmp_path / "two"), _metrics(tmp_path / "single")):
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-4)
    assert (tmp_path / "two" / "result.json").exists()
