#!/usr/bin/env bash
# One prepared check for a GPU machine (jax with CUDA, torch and torchvision installed; no
# package index needed): the GPU throughput benchmark, the apps' search step at the ImageNet
# config's shape against it, the package test suite on the GPU and a 50-step search, each with
# its own time limit, everything written into one folder.
#
#   bash benchmarks/accelerator_check.sh [OUT_DIR]        (default: $OUT, else ./accelerator_check)
#
# Missing Python packages travel as wheels in ./.whl (dm-haiku, jmp, ofa, pycocotools, ...):
# they are installed into a private folder first. Limits (seconds, environment variables):
# BENCH_TIMEOUT (270; COMPILE_TIMEOUT 170 of it), APPS_STEP_TIMEOUT (120), TEST_TIMEOUT (170, cut
# to what is left of TOTAL_TIMEOUT after the steps before and the search's share), SEARCH_TIMEOUT
# (50, only where TensorFlow is importable): TOTAL_TIMEOUT (480) = 8 minutes at most. Where every
# step takes its whole limit the tests get 480 - 270 - 120 - 50 = 40 s (90 s without TensorFlow),
# less the wheel install; a benchmark that finishes early leaves its time to them.
set -u
cd "$(dirname "$0")/.."
out=${1:-${OUT:-accelerator_check}}
mkdir -p "$out"
py=${PYTHON:-python3}
start=$(date +%s)

if compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/jaxnas_site \
    .whl/*.whl >"$out/wheels.log" 2>&1 || echo "wheel install failed, see wheels.log"
  export PYTHONPATH=/tmp/jaxnas_site${PYTHONPATH:+:$PYTHONPATH}
fi
src=""
for p in packages/searchspace packages/latency packages/controller packages/supernet packages/detection apps; do
  src="$src:$PWD/$p/src"
done
export PYTHONPATH="${src#:}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# Test processes share the GPU: none may take most of its memory up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

"$py" - >"$out/environment.json" 2>"$out/environment.log" <<'EOF'
import json, os, jax
from jaxnas.supernet._xla import computes_on_cpu_only, installed_accelerator_plugins
print(json.dumps({"jax": jax.__version__, "backend": jax.default_backend(),
                  "devices": [d.device_kind for d in jax.devices()], "plugins": installed_accelerator_plugins(),
                  "cpu_only": computes_on_cpu_only(), "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}))
EOF
cat "$out/environment.json"

# 1. The throughput benchmark (its JSON is the last line of its log).
timeout "${BENCH_TIMEOUT:-270}" "$py" benchmarks/step_throughput.py --device gpu --compile-timeout "${COMPILE_TIMEOUT:-170}" --json >"$out/step_throughput.log" 2>&1
bench_rc=$?
tail -n 1 "$out/step_throughput.log" >"$out/step_throughput.json"
grep -v '^{' "$out/step_throughput.log" | tail -n 12

# 2. The apps' search step (jaxnas-search classification --config search_imagenet: weights,
# reward on the 4x validation batch, controller) on synthetic 128 x 224 batches, vs step 1.
ref=(); grep -q '"jaxnas_img_per_s"' "$out/step_throughput.json" && ref=(--reference-json "$out/step_throughput.json")
timeout "${APPS_STEP_TIMEOUT:-120}" "$py" benchmarks/search_step_throughput.py --device gpu --config search_imagenet \
  ${ref[@]+"${ref[@]}"} --json >"$out/search_step_throughput.log" 2>&1
apps_step_rc=$?
tail -n 1 "$out/search_step_throughput.log" >"$out/search_step_throughput.json"
grep -v '^{' "$out/search_step_throughput.log" | tail -n 8

# 3. The package tests on the default (GPU) device; CPU-kernel tests pin the CPU device.
# The latency tests and the apps need TensorFlow, which such a machine may lack: they run
# where it is importable (and then the search of step 4 keeps its share of the total).
have_tf=false; "$py" -c "import tensorflow, tensorflow_datasets" 2>/dev/null && have_tf=true
paths="packages/searchspace packages/controller packages/supernet packages/detection"
reserve=0
if $have_tf; then paths="$paths packages/latency apps tests"; reserve=${SEARCH_TIMEOUT:-50}; fi
test_timeout=$(( ${TOTAL_TIMEOUT:-480} - ($(date +%s) - start) - reserve ))
[ "$test_timeout" -gt "${TEST_TIMEOUT:-170}" ] && test_timeout=${TEST_TIMEOUT:-170}
[ "$test_timeout" -lt 10 ] && test_timeout=10  # timeout 0 would mean no limit
workers=$(( $(nproc) / 2 )); [ "$workers" -gt 8 ] && workers=8
xdist=""; "$py" -c "import xdist" 2>/dev/null && xdist="-n $workers"
# shellcheck disable=SC2086
timeout "$test_timeout" "$py" -m pytest $paths -q $xdist -p no:cacheprovider \
  --junitxml="$out/tests.xml" >"$out/tests.log" 2>&1
test_rc=$?
echo "tests: limit ${test_timeout} s"
tail -n 3 "$out/tests.log"

# 4. A 50-step search with the CLI (needs TensorFlow and TFDS for the built-in dataset).
if $have_tf; then
  timeout "${SEARCH_TIMEOUT:-50}" "$py" -c "import sys; from jaxnas.apps._cli import search_main; sys.argv[0] = 'jaxnas-search'; search_main()" classification --config search_shapes \
    --config.steps=50 --workdir "$out/search" >"$out/search.log" 2>&1
  search_rc=$?
else
  echo "skipped: tensorflow/tensorflow_datasets not importable here" >"$out/search.log"
  search_rc=skipped
fi

"$py" - "$out" "$bench_rc" "$apps_step_rc" "$test_rc" "$search_rc" "$(( $(date +%s) - start ))" <<'EOF' | tee "$out/summary.json"
import json, sys, xml.etree.ElementTree as ET
out, bench_rc, apps_step_rc, test_rc, search_rc, seconds = sys.argv[1:]
summary = {"bench_rc": bench_rc, "apps_step_rc": apps_step_rc, "test_rc": test_rc, "search_rc": search_rc,
           "seconds": int(seconds)}
for name in ("step_throughput", "search_step_throughput"):
    try:
        summary[name] = json.load(open(f"{out}/{name}.json"))
    except (OSError, ValueError):
        summary[name] = None
try:
    suite = ET.parse(f"{out}/tests.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    summary["tests"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
except (OSError, ET.ParseError, IndexError):
    summary["tests"] = None
print(json.dumps(summary))
EOF
