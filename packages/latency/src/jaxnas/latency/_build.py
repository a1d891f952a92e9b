"""``build_table``: measure every distinct op signature of a space, resumably.

The table file is rewritten atomically as measurements come in (at most every
``save_every_s`` seconds, and always on exit, also on an exception or Ctrl-C),
so re-running the same command after an interruption measures only what is
missing.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable

from jaxnas.latency._backends import Backend
from jaxnas.latency._heads import Head, head_ops
from jaxnas.latency._signatures import space_ops
from jaxnas.latency._table import LatencyTable
from jaxnas.searchspace import Space


def build_table(space: Space, backend: Backend, resolution: int = 224, num_classes: int = 1000,
                out: str | None = None, progress: bool = True, save_every_s: float = 5.0,
                log: Callable[[str], None] | None = print, head: Head | None = None) -> LatencyTable:
    """Measures every op signature of ``space`` on ``backend``.

    Args:
      space: the search space.
      backend: a :class:`Backend` (e.g. ``get_backend("litert")``).
      resolution: input size of the networks.
      num_classes: classifier outputs.
      out: table path; if it exists, the build resumes from it (its backend,
        resolution, classes, batch and dtype must match). A table of another
        space is extended with this space's missing ops (listed in
        ``provenance["extra_spaces"]``), so one table can serve several spaces.
      progress: show a tqdm progress bar with ETA.
      save_every_s: most seconds between two atomic saves.
      log: where the one-line summary goes (None: silent).
      head: also measure this head's ops for every endpoint width of the space
        (e.g. SSDLite for detection); recorded in ``provenance["heads"]``.

    Returns:
      The complete table (also saved to ``out`` when given).

    Raises:
      ValueError: ``out`` holds a table built with other settings.
    """
    if not isinstance(space, Space):
        raise TypeError(f"build_table: space must be a Space, got {type(space).__name__}")
    if not isinstance(backend, Backend):
        raise TypeError(f"build_table: backend must provide name, batch, dtype, provenance() and "
                        f"measure(ops); got {type(backend).__name__}")
    ops = space_ops(space, resolution, num_classes)
    if head is not None:
        known = {op.signature() for op in ops}
        ops += [op for op in head_ops(space, head, resolution) if op.signature() not in known]
    # These must match for a table on disk to be resumed instead of overwritten.
    wanted = {"backend": backend.name, "resolution": resolution, "num_classes": num_classes,
              "batch": backend.batch, "dtype": backend.dtype}
    if out is not None and os.path.exists(out):
        table = LatencyTable.load(out)
        diff = {k: (table.provenance.get(k), v) for k, v in wanted.items() if table.provenance.get(k) != v}
        if diff:
            raise ValueError(f"build_table: {out} was built with other settings "
                             f"({', '.join(f'{k}: {a!r} there, {b!r} now' for k, (a, b) in diff.items())}); "
                             "pass another --out to build a new table")
        extra = table.provenance.setdefault("extra_spaces", [])
        if space.name != table.space and space.name not in extra:
            extra.append(space.name)
    else:
        table = LatencyTable({**backend.provenance(), **wanted, "space": space.name, "extra_spaces": []},
                             path=out)
    if head is not None and head.name not in table.provenance.setdefault("heads", []):
        table.provenance["heads"].append(head.name)
    todo = [op for op in ops if op not in table]
    if log:
        what = "" if head is None else f" (with head {head.name})"
        log(f"{space.name}{what} at {resolution}px: {len(ops)} distinct op signatures, "
            f"{len(ops) - len(todo)} already measured, {len(todo)} to measure on {backend.name}")
    bar = _progress(len(todo), f"{space.name}/{backend.name}") if progress and todo else None
    last_save = time.monotonic()
    try:
        for op in todo:
            table.add(op, backend.measure([op]))
            if bar is not None:
                bar.update(1)
            if out is not None and time.monotonic() - last_save >= save_every_s:
                table.save(out)
                last_save = time.monotonic()
    finally:
        if bar is not None:
            bar.close()
        if out is not None and todo:
            table.provenance["updated"] = datetime.datetime.now(datetime.UTC).isoformat(
                timespec="seconds")
            table.save(out)
    return table


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="op", dynamic_ncols=True)
