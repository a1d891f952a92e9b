"""``export`` / ``import``: measure a real phone with TFLite's own benchmark tool.

``export_models`` writes every op of a space (and optionally N random whole
networks) as ``.tflite`` files plus ``manifest.json`` and a CSV template. Time
them on the device (e.g. ``benchmark_model --graph=FILE --num_threads=1``), fill
in ``id,latency_ms`` and ``import_table`` turns the CSV into a latency table;
rows for the exported networks become its validation measurements.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os

import numpy as np
from jaxnas.latency._litert import LiteRTBackend, input_shape
from jaxnas.latency._signatures import op_from_key, signature_key, space_ops
from jaxnas.latency._table import LatencyTable, Timing, write_atomic
from jaxnas.searchspace import Space, get_space

MANIFEST_SCHEMA = "jaxnas-latency-export"


def export_models(space: Space, out_dir: str, resolution: int = 224, num_classes: int = 1000,
                  num_networks: int = 0, seed: int = 0, backend: LiteRTBackend | None = None) -> str:
    """Writes ``ops/<signature id>.tflite``, ``networks/net_<i>.tflite``, the manifest and a CSV template.

    Returns:
      The manifest path.
    """
    backend = backend or LiteRTBackend()
    os.makedirs(os.path.join(out_dir, "ops"), exist_ok=True)
    entries = []
    for op in space_ops(space, resolution, num_classes):
        key = signature_key(op, backend.dtype, backend.batch)
        _write(out_dir, f"ops/{key}.tflite", backend.model([op]))
        entries.append({"id": key, "file": f"ops/{key}.tflite", "input_shape": list(input_shape([op]))})
    networks = []
    if num_networks:
        os.makedirs(os.path.join(out_dir, "networks"), exist_ok=True)
        for i, arch in enumerate(space.sample(np.random.default_rng(seed), num_networks)):
            ops = space.network(arch, resolution, num_classes)
            name = f"net_{i:04d}"
            _write(out_dir, f"networks/{name}.tflite", backend.model(ops))
            networks.append({"id": name, "arch": space.format(arch), "file": f"networks/{name}.tflite",
                             "input_shape": list(input_shape(ops))})
    manifest = {"schema": MANIFEST_SCHEMA, "schema_version": 1, "space": space.name,
                "resolution": resolution, "num_classes": num_classes, "batch": backend.batch,
                "dtype": backend.dtype, "seed": seed, "ops": entries, "networks": networks,
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    path = os.path.join(out_dir, "manifest.json")
    write_atomic(path, json.dumps(manifest, indent=1) + "\n")
    write_atomic(os.path.join(out_dir, "latencies_template.csv"),
                 "id,latency_ms\n" + "".join(f"{e['id']},\n" for e in entries + networks))
    return path


def import_table(csv_path: str, manifest_path: str, device: str = "unknown device") -> tuple[LatencyTable, dict]:
    """Reads ``id,latency_ms`` rows (ops and networks of the manifest) into a table.

    Returns:
      ``(table, measured_networks)`` with ``{arch string: latency_ms}`` for the
      manifest's networks that the CSV times.

    Raises:
      ValueError: an unknown id, a bad number, or an op of the manifest missing
        from the CSV (all named).
    """
    with open(manifest_path, encoding="utf-8") as f:
        try:
            manifest = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"manifest {manifest_path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise ValueError(f"manifest {manifest_path}: not a jaxnas-latency export manifest")
    nets = {n["id"]: n["arch"] for n in manifest["networks"]}
    ops = {e["id"] for e in manifest["ops"]}
    values = read_latency_csv(csv_path)
    unknown = sorted(set(values) - ops - set(nets))
    if unknown:
        raise ValueError(f"{csv_path}: ids not in the manifest: {unknown[:3]}; use the ids of "
                         f"{manifest_path}")
    missing = sorted(ops - set(values))
    if missing:
        raise ValueError(f"{csv_path}: {len(missing)} ops of the manifest have no latency, e.g. "
                         f"{missing[0]}; time ops/{missing[0]}.tflite and add a row")
    provenance = {"backend": "import", "space": manifest["space"], "resolution": manifest["resolution"],
                  "num_classes": manifest["num_classes"], "batch": manifest["batch"],
                  "dtype": manifest["dtype"], "device": device, "runtime": "imported CSV",
                  "source": os.path.abspath(csv_path),
                  "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    table = LatencyTable(provenance)
    for key in sorted(ops):
        op_from_key(key)  # every op id must be a well-formed signature
        ms = values[key]
        table.add(key, Timing(ms, ms, ms, 0))
    return table, {nets[k]: v for k, v in values.items() if k in nets}


def read_latency_csv(path: str) -> dict:
    """``{id: latency_ms}`` from a CSV with a header row ``id,latency_ms``."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["id", "latency_ms"]:
            raise ValueError(f"{path}: expected the header 'id,latency_ms', got {header!r}")
        for line, row in enumerate(reader, start=2):
            if not row or not row[0].strip() or len(row) < 2 or not row[1].strip():
                continue  # ids left blank in the template were not measured
            try:
                ms = float(row[1])
            except (IndexError, ValueError):
                raise ValueError(f"{path}, line {line}: latency_ms must be a number, got {row[1:2]}") from None
            if not math.isfinite(ms) or ms <= 0:
                raise ValueError(f"{path}, line {line}: latency_ms must be > 0, got {ms}")
            out[row[0].strip()] = ms
    return out


def manifest_space(manifest_path: str) -> Space:
    """The registered space a manifest was exported from."""
    with open(manifest_path, encoding="utf-8") as f:
        return get_space(json.load(f)["space"])


def _write(out_dir: str, rel: str, data: bytes) -> None:
    path = os.path.join(out_dir, rel)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
