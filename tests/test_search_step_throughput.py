"""``benchmarks/search_step_throughput.py``: the apps' search step timed at a tiny shape, and its bad input.

The speed target itself (within 10% of ``step_throughput``'s figure at 128 x 224 on a GPU) is
the benchmark's to check, not this test's: here the step runs, the keys are there and the
figures are real numbers.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import pathlib

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("search_step_throughput",
                                               ROOT / "benchmarks" / "search_step_throughput.py")
sst = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sst)

KEYS = {"search_img_per_s", "search_fed_img_per_s", "compile_seconds", "step_seconds", "fed_step_seconds",
        "space", "per_device_batch", "validation_batch", "resolution", "remat", "compute_dtype",
        "archs_per_step", "devices", "warmup_probability", "timed_from_step", "target"}


def tiny_config():
    # search_tiny: proxylessnas_nano at 32 px; 2 training and 8 validation images; 100 steps, so
    # the first 25 are op/filter warmup (probability 1 - step / 25).
    return sst.load_search_config("search_tiny", ["--config.per_device_batch=2", "--config.steps=100"])


def test_times_the_search_step_after_warmup(tmp_path):
    result = sst.search_step_throughput(tiny_config(), steps=2, num_classes=10)
    assert KEYS <= set(result)
    for key in ("search_img_per_s", "search_fed_img_per_s", "step_seconds", "compile_seconds"):
        assert math.isfinite(result[key]) and result[key] > 0, key
    assert result["search_img_per_s"] == pytest.approx(result["archs_per_step"] * 2 / result["step_seconds"])
    assert (result["space"], result["per_device_batch"], result["validation_batch"], result["resolution"]) == \
        ("proxylessnas_nano", 2, 8, 32)
    assert result["warmup_probability"] == 0.0  # timed after op/filter warmup, as step_throughput
    assert result["timed_from_step"] == 26      # floor(0.25 * 100 steps) + 1
    json.dumps(result)

    # Against a step_throughput line: ratio = search / benchmark, and the same variant's figure.
    ref_file = tmp_path / "step_throughput.json"
    ref = {"jaxnas_img_per_s": 2 * result["search_img_per_s"], "default_variant": "remat_float32",
           "remat_float32": {"img_per_s": 4 * result["search_img_per_s"]}, "batch": 2, "resolution": 32}
    ref_file.write_text("log line\n" + json.dumps(ref) + "\n")
    out = sst.compare(result, sst.read_reference(str(ref_file)))
    assert out["ratio_vs_benchmark"] == pytest.approx(0.5)
    assert out["ratio_vs_same_variant"] == pytest.approx(0.25)
    assert out["shape_matches_benchmark"] is True and out["settings_match_benchmark"] is True
    bf16 = sst.compare(result, {**ref, "default_variant": "remat_bfloat16", "batch": 128})
    assert bf16["settings_match_benchmark"] is False and bf16["shape_matches_benchmark"] is False
    assert "the benchmark ran at another shape; the benchmark ran other settings" in sst.report({**result, **bf16})
    assert "ratio search / benchmark 0.500" in sst.report({**result, **out})


def test_bad_device_is_a_clear_error(capsys):
    with pytest.raises(ValueError, match=r"--device 'tpu': choose one of cpu, gpu, default"):
        sst.search_step_throughput(tiny_config(), steps=1, device="tpu")
    backend = jax.default_backend()
    other = "cpu" if backend == "gpu" else "gpu"
    with pytest.raises(ValueError, match=rf"--device {other}: jax computes on {backend} here"):
        sst.search_step_throughput(tiny_config(), steps=1, device=other)
    assert sst.main(["--device", "tpu", "--config", "search_tiny"]) == 2
    assert "error: --device 'tpu': choose one of cpu, gpu, default" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--config", "train_tiny"], "'train_tiny' is a TrainConfig, not a classification search config"),
    (["--config", "search_detection_tiny"], "not a classification search config"),
    (["--config", "no_such_config"], "unknown config 'no_such_config'"),
    (["--config", "search_tiny", "--config.per_device_batch=0"], "per_device_batch"),
    (["--config", "search_tiny", "--config.stpes=3"], "unknown config key 'stpes'"),
])
def test_bad_config_is_a_clear_error(argv, message, capsys):
    assert sst.main(argv + ["--device", "default"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_bad_reference_and_settings_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read it"):
        sst.read_reference(str(tmp_path / "missing.json"))
    (tmp_path / "log.json").write_text("Traceback (most recent call last): ...\n")
    with pytest.raises(ValueError, match="not step_throughput's JSON object"):
        sst.read_reference(str(tmp_path / "log.json"))
    with pytest.raises(ValueError, match="--steps=0: must be a positive int"):
        sst.search_step_throughput(tiny_config(), steps=0)


def test_classification_setup_needs_resolved_steps():
    from jaxnas.apps._search_driver import search_layout
    from jaxnas.apps.classification._search import classification_setup
    config = dataclasses.replace(tiny_config(), steps=0)
    with pytest.raises(ValueError, match=r"config.steps=0; resolve the search length first"):
        classification_setup(config, search_layout(config), 10, {})


@pytest.mark.filterwarnings("ignore:configure_xla:RuntimeWarning")  # the backend is already running here
def test_gpu_gets_step_throughputs_xla_flags_of_the_same_variant(monkeypatch):
    # XLA reads the flags when the backend starts: in this (started) process they change nothing.
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    flags = sst.prepare_process("gpu", tiny_config())  # remat float32: autotuning off, as step_throughput
    assert flags.startswith("--xla_dump_to=/tmp/x --xla_gpu_autotune_level=0")
    monkeypatch.setenv("XLA_FLAGS", "")
    assert "autotune" not in sst.prepare_process("gpu", dataclasses.replace(tiny_config(), remat=False))
