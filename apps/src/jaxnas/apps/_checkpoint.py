"""Atomic, resumable checkpoints with orbax-checkpoint, for any pytree of train state.

A checkpoint is one orbax step directory holding the state pytree and a JSON
``meta`` item (config, data position, tree fingerprint). Orbax writes to a
temporary directory and renames it when complete, so a run killed while saving
(SIGKILL included) leaves the previous checkpoint intact and the partial one is
ignored. Restoring checks the fingerprint (every leaf's path, shape and dtype)
and the config before anything is loaded, so a checkpoint of another network or
another run is reported, never half-loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

FORMAT = "jaxnas-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: corrupt, of another run, or of another network."""


def fingerprint(tree) -> list[str]:
    """``["path shape dtype", ...]`` of every leaf: what a compatible checkpoint must match."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [f"{jax.tree_util.keystr(p)} {tuple(np.shape(x))} {np.dtype(getattr(x, 'dtype', None) or np.asarray(x).dtype)}"
            for p, x in leaves]


class Checkpointer:
    """Saves and restores ``(state, meta)`` in ``directory`` (keeps the last ``max_to_keep``).

    Args:
      directory: checkpoint folder (created).
      max_to_keep: completed checkpoints kept.

    >>> import tempfile, jax.numpy as jnp
    >>> ckpt = Checkpointer(tempfile.mkdtemp())
    >>> ckpt.save(3, {"w": jnp.ones(2)}, {"note": "x"})
    >>> ckpt.latest_step()
    3
    >>> state, meta = ckpt.restore({"w": jnp.zeros(2)})
    >>> float(state["w"].sum()), meta["note"]
    (2.0, 'x')
    >>> ckpt.close()
    """

    def __init__(self, directory: str, max_to_keep: int = 2):
        import orbax.checkpoint as ocp
        self._ocp = ocp
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                               enable_async_checkpointing=False)
        self._manager = ocp.CheckpointManager(self.directory, options=options,
                                              item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        """The step of the newest complete checkpoint, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state, meta: dict | None = None) -> None:
        """Writes ``state`` (any pytree of arrays) and ``meta`` (JSON-able) at ``step``, atomically."""
        ocp = self._ocp
        meta = dict(meta or {})
        meta.update(format=FORMAT, step=int(step), fingerprint=fingerprint(state))
        self._manager.save(int(step), args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                              meta=ocp.args.JsonSave(meta)), force=True)
        self._manager.wait_until_finished()

    def restore(self, target, step: int | None = None, expect: dict | None = None,
                ignore: Sequence[str] = ()) -> tuple[Any, dict]:
        """Restores the state into the structure of ``target`` (arrays or shape/dtype structs).

        Args:
          target: a pytree like the saved state (its shardings are used).
          step: which checkpoint; default the latest.
          expect: meta entries that must equal the saved ones (e.g. the config).
          ignore: keys of ``expect["config"]`` allowed to differ (e.g. the number of steps).

        Raises:
          CheckpointError: no checkpoint, a corrupt one, or one of another network/config.
        """
        ocp = self._ocp
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint in {self.directory}; start without --resume")
        where = f"checkpoint step {step} in {self.directory}"
        try:
            meta = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception as err:  # noqa: BLE001  (orbax raises many kinds; all mean unreadable)
            raise CheckpointError(f"{where} is corrupt (its meta data cannot be read: {type(err).__name__}: "
                                  f"{str(err).splitlines()[0] if str(err) else ''}); delete that step "
                                  f"directory to fall back to an older one, or start a fresh work dir") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = f"format {meta.get('format')!r}" if isinstance(meta, dict) else f"meta data {type(meta).__name__}"
            raise CheckpointError(f"{where} is not a jaxnas checkpoint ({found})")
        wanted = fingerprint(target)
        if meta.get("fingerprint") != wanted:
            saved = meta.get("fingerprint")
            saved = saved if isinstance(saved, list) else []  # a damaged one: no leaves to compare
            diff = next((f"saved {a!r} vs expected {b!r}" for a, b in zip(saved, wanted) if a != b),
                        f"{len(saved)} saved leaves vs {len(wanted)} expected")
            raise CheckpointError(f"{where} does not match this network/state ({diff}); it was written by a "
                                  f"different space, architecture or config; use another work dir")
        for key, value in (expect or {}).items():
            saved = meta.get(key)
            if key == "config" and isinstance(value, dict) and isinstance(saved, dict):
                bad = [k for k in sorted(set(saved) | set(value)) if k not in ignore and saved.get(k) != value.get(k)]
                if bad:
                    raise CheckpointError(f"{where} was written with a different config: "
                                          + "; ".join(f"{k}: saved {saved.get(k)!r}, now {value.get(k)!r}"
                                                      for k in bad[:5])
                                          + "; resume with the same config or use another work dir")
            elif saved != value:
                raise CheckpointError(f"{where}: {key} is {saved!r}, expected {value!r}")
        abstract = jax.tree_util.tree_map(
            lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=getattr(x, "sharding", None)), target)
        try:
            state = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
        except Exception as err:  # noqa: BLE001  (orbax raises many kinds; all mean unreadable)
            raise CheckpointError(f"{where} is corrupt (arrays cannot be read: {type(err).__name__}: "
                                  f"{str(err).splitlines()[0] if str(err) else ''}); delete that step "
                                  f"directory to fall back to an older one, or start a fresh work dir") from None
        return state["state"], meta

    def close(self) -> None:
        self._manager.close()
