"""The task-independent stand-alone training driver: checkpoints, resume, metrics, progress.

A task (classification, detection) turns its config into a :class:`TrainSetup`: how to
initialise the network, its loss, the optimizer, the training stream and an evaluation
function. :func:`run_training` runs it data parallel over all devices (one architecture; BN
statistics over the global batch) and writes ``config.json``, ``checkpoints/`` (orbax,
resumable), ``metrics.jsonl`` and ``tensorboard/``; the task writes ``result.json`` and its
exports from what it returns.

The config is duck-typed: it needs ``seed, log_every, checkpoint_every, eval_every``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jaxnas.apps import _distributed as dist
from jaxnas.apps._checkpoint import Checkpointer
from jaxnas.apps._config import to_dict
from jaxnas.apps._metrics import MetricWriter
from jaxnas.apps._progress import Progress


class TrainState(NamedTuple):
    """A stand-alone training checkpoint (the data position is ``step``)."""

    params: object
    bn_state: object
    opt_state: object
    key: jax.Array
    step: jax.Array


class TrainSetup(NamedTuple):
    """Everything task-specific a stand-alone training needs.

    Attributes:
      init: ``key -> (params, bn_state)`` (called outside jit).
      loss: ``(params, bn_state, batch, key uint32[2]) -> (loss, (bn_state, metrics dict))``
        with ``metrics`` scalars logged as their means (e.g. ``train_accuracy``).
      optimizer, schedule: optax optimizer and its learning-rate schedule.
      train_stream: a stream with ``batches(start_step)`` of global batches.
      steps: number of training steps.
      evaluate: ``(params, bn_state) -> dict`` of host floats on the evaluation split; it
        holds ``primary``.
      primary: the headline metric of ``evaluate`` (``accuracy``, ``map``).
    """

    init: Callable
    loss: Callable
    optimizer: object
    schedule: Callable
    train_stream: object
    steps: int
    evaluate: Callable[[object, object], dict]
    primary: str


def run_training(config, workdir: str, setup: TrainSetup, mesh, *, resume: bool = False,
                 progress: bool = True) -> tuple[TrainState, dict]:
    """Trains (or resumes); returns the final state and the metrics.

    The metrics are ``{primary, initial_<primary>, **evaluate(...)}``: the final evaluation
    and the evaluation before training (kept in the checkpoints, so a resumed run reports it).

    Raises:
      ValueError: an existing checkpoint while ``resume`` is False, or one of another config.
    """
    pi, pc = jax.process_index(), jax.process_count()
    cfg = to_dict(config)
    steps, optimizer, schedule = setup.steps, setup.optimizer, setup.schedule
    batch_sharding = NamedSharding(mesh, P(dist.AXIS))

    @jax.jit
    def train_step(state: TrainState, batch):
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        (loss, (bn_state, metrics)), grads = jax.value_and_grad(setup.loss, has_aux=True)(
            state.params, state.bn_state, batch, jax.random.key_data(key))
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, state.params, updates)
        return TrainState(params, bn_state, opt_state, state.key, state.step + 1), {
            "loss": loss, **metrics, "lr": schedule(state.step)}

    k_init, k_run = jax.random.split(jax.random.PRNGKey(config.seed))
    params, bn_state = setup.init(k_init)
    state = dist.replicate(mesh, TrainState(params, bn_state, optimizer.init(params), k_run,
                                            jnp.zeros((), jnp.int32)))
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    if not resume and ckpt.latest_step() is not None:
        raise ValueError(f"work dir {workdir!r} already holds a training checkpoint (step {ckpt.latest_step()}); "
                         f"pass --resume to continue it or choose a new --workdir")
    initial_key = f"initial_{setup.primary}"
    start, initial = 0, None
    if resume and ckpt.latest_step() is not None:
        state, meta = ckpt.restore(state, expect={"config": cfg})
        start, initial = int(state.step), meta.get(initial_key)
    if initial is None:
        initial = setup.evaluate(state.params, state.bn_state)[setup.primary]
    if pi == 0:
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
    writer = MetricWriter(workdir, enabled=pi == 0, resume_step=start if resume else None)
    bar = Progress(steps, start, enabled=progress and pi == 0, desc="train")
    it = setup.train_stream.batches(start)
    logs = []
    meta = {"config": cfg, initial_key: initial}
    try:  # an interruption still closes the checkpointer's threads
        for s in range(start + 1, steps + 1):
            batch = jax.device_put(next(it), batch_sharding) if pc == 1 else dist.shard_batch(mesh, next(it))
            state, info = train_step(state, batch)
            logs.append(info)
            bar.step()
            if s % config.log_every == 0 or s == steps:
                host = jax.device_get(logs)
                row = {k: float(np.mean([x[k] for x in host])) for k in host[0]}
                logs = []
                if config.eval_every and s % config.eval_every == 0:
                    row[f"eval_{setup.primary}"] = setup.evaluate(state.params, state.bn_state)[setup.primary]
                writer.write(s, row)
                bar.show(row)
            if s % config.checkpoint_every == 0 or s == steps:
                ckpt.save(s, state, meta)
    finally:
        bar.close()
        ckpt.close()
    final = setup.evaluate(state.params, state.bn_state)
    writer.write(steps, {f"eval_{k}": v for k, v in final.items()})
    writer.close()
    return state, {**final, initial_key: initial}


def write_result(workdir: str, result: dict) -> None:
    """``workdir/result.json`` (process 0 only)."""
    if jax.process_index() == 0:
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump(result, f, indent=1)
