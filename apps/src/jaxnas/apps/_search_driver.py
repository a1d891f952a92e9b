"""The task-independent search driver: one TuNAS search from its parts, with every output.

A task (classification, detection) turns its config into a :class:`SearchSetup`: the space,
the ``SearchTask`` (init/loss/quality), the cost, the controller, the weight optimizer and its
data streams. :func:`run_search` does the rest, identically for every task: sharding,
checkpoints and bit-exact resume, metrics (JSON lines + TensorBoard), the progress bar, the
final one-shot evaluation of the argmax architecture with the shared weights, plots, and the
result files:

    config.json, checkpoints/, metrics.jsonl, tensorboard/,
    probabilities.png, reward.png, quality.png, cost.png,
    arch.txt (index string), arch_blocks.txt (block string), arch.json, result.json

The config is duck-typed: it needs the search fields the classification and detection
configs share (``steps, per_device_batch, archs_per_step, validation_multiplier, reward,
reward_beta, controller_schedule, controller_delay_fraction, entropy_weight,
baseline_momentum, controller_second_moment, warmup_fraction, op_warmup, filter_warmup, seed, log_every,
checkpoint_every, eval_batches, plots``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.apps import _distributed as dist
from jaxnas.apps._checkpoint import Checkpointer
from jaxnas.apps._config import to_dict
from jaxnas.apps._cost import SearchCost
from jaxnas.apps._metrics import MetricWriter, plot_search
from jaxnas.apps._progress import Progress
from jaxnas.apps._search_loop import (
    SearchState,
    SearchTask,
    StepSettings,
    make_quality_fn,
    make_search_step,
    summarize,
)

# Keys of a search config allowed to change on --resume (they do not change the result).
RESUME_MUTABLE = ("eval_batches",)


class SearchLayout(NamedTuple):
    """How a step is spread: ``archs`` architectures, ``groups`` per device, on ``mesh``."""

    mesh: object
    archs: int
    groups: int


class SearchSetup(NamedTuple):
    """Everything task-specific a search needs.

    Attributes:
      space: the searched ``Space``.
      task: the ``SearchTask`` (shared weights, loss, reward quality).
      cost: the :class:`SearchCost` (unit, target, numpy and jax predictors).
      controller: the REINFORCE controller.
      optimizer, schedule: the shared weights' optax optimizer and its learning-rate schedule.
      train_stream, valid_stream, eval_stream: streams with ``batches(start_step)`` (and
        ``steps_per_epoch`` for ``eval_stream``) of global batches ``A * B`` (train) and
        ``A * B * validation_multiplier`` (valid, eval) rows; ``eval_stream`` feeds the final
        one-shot evaluation of the argmax.
      init_batch: a batch of one group (``B`` rows) for ``task.init``.
      quality_name: what the quality is (``accuracy``, ``map``): result key ``one_shot_<name>``.
      describe: ``arch int32[D] -> dict`` of task facts about the found network (params, MACs, ...).
    """

    space: object
    task: SearchTask
    cost: SearchCost
    controller: object
    optimizer: object
    schedule: Callable
    train_stream: object
    valid_stream: object
    eval_stream: object
    init_batch: dict
    quality_name: str
    describe: Callable[[np.ndarray], dict]


def search_layout(config) -> SearchLayout:
    """The mesh over all devices and the architectures per step of ``config``."""
    mesh = dist.make_mesh()
    groups = dist.groups_per_device(config.archs_per_step, mesh)
    return SearchLayout(mesh, groups * mesh.size, groups)


def search_streams(config, layout: SearchLayout, data, preprocess) -> dict:
    """The ``SearchSetup`` fields every task builds alike from a dataset.

    ``data.stream(role, batch, preprocess, train=, seed=, process_index=, process_count=)``
    (ClassificationData, DetectionData) gives: ``train_stream`` (``A * B`` rows, shuffled and
    augmented, seed ``config.seed``), ``valid_stream`` (reward batches of ``A * B *
    validation_multiplier`` rows, seed + 1), ``eval_stream`` (the final one-shot evaluation, same
    size, seed + 2), and ``init_batch`` (one group of ``B`` zero images ``[B, R, R, 3]``).
    """
    A, b, r = layout.archs, config.per_device_batch, config.data.resolution
    pi, pc = jax.process_index(), jax.process_count()
    valid_batch = A * b * config.validation_multiplier

    def stream(role, batch, train, seed):
        return data.stream(role, batch, preprocess, train=train, seed=seed, process_index=pi, process_count=pc)

    return dict(train_stream=stream("train", A * b, True, config.seed),
                valid_stream=stream("validation", valid_batch, False, config.seed + 1),
                eval_stream=stream("validation", valid_batch, False, config.seed + 2),
                init_batch={"image": jnp.zeros((b, r, r, 3), jnp.float32)})


def make_controller(space, config, learning_rate: float):
    """The REINFORCE controller with the config's schedule, delay, entropy, baseline and Adam settings."""
    from jaxnas.controller import reinforce_controller
    return reinforce_controller(
        space, learning_rate, schedule=config.controller_schedule, total_steps=config.steps,
        delay_fraction=config.controller_delay_fraction, entropy_weight=config.entropy_weight,
        baseline_momentum=config.baseline_momentum, second_moment=config.controller_second_moment)


def search_step_fn(config, setup: SearchSetup, layout: SearchLayout) -> Callable:
    """The jitted search step of ``setup``: ``step(state, train, valid) -> (state, StepInfo)``.

    ``make_search_step`` with the config's reward (``reward``, ``reward_beta``, the cost's target)
    and warmup settings; ``train``/``valid`` are global batches (``dist.shard_batch``) of
    ``A * B`` and ``A * B * validation_multiplier`` rows. The state is donated.
    """
    from jaxnas.controller import get_reward
    reward, cost = get_reward(config.reward), setup.cost
    target, beta = cost.target, config.reward_beta
    settings = StepSettings(config.steps, config.warmup_fraction, config.op_warmup, config.filter_warmup,
                            layout.archs, layout.groups)
    return make_search_step(setup.task, setup.controller, setup.optimizer, setup.schedule, cost.jax_fn,
                            lambda q, c: reward(q, c, target, beta), layout.mesh, settings)


def initial_state(config, setup: SearchSetup, layout: SearchLayout) -> SearchState:
    """The search's first :class:`SearchState` (step 0, seeded by ``config.seed``), replicated on the mesh."""
    k_init, k_run = jax.random.split(jax.random.PRNGKey(config.seed))
    params = setup.task.init(k_init, setup.init_batch)
    state = SearchState(params, setup.optimizer.init(params), setup.controller.init(), k_run,
                        jnp.zeros((), jnp.int32))
    return dist.replicate(layout.mesh, state)


def run_search(config, workdir: str, setup: SearchSetup, layout: SearchLayout, *, resume: bool = False,
               progress: bool = True, on_step: Callable[[int], None] | None = None) -> dict:
    """Runs (or resumes) the search of ``setup``; returns the result also written to ``result.json``.

    Raises:
      ValueError: a work dir that already has a checkpoint while ``resume`` is False, or a
        checkpoint of another config.
    """
    from jaxnas.searchspace import to_block_string
    space, task, cost, controller = setup.space, setup.task, setup.cost, setup.controller
    mesh, A, G = layout.mesh, layout.archs, layout.groups
    b = config.per_device_batch
    pi, pc = jax.process_index(), jax.process_count()
    cfg = to_dict(config)
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    if not resume and ckpt.latest_step() is not None:
        raise ValueError(f"work dir {workdir!r} already holds a search checkpoint (step {ckpt.latest_step()}); "
                         f"pass --resume to continue it or choose a new --workdir")

    step_fn = search_step_fn(config, setup, layout)
    quality_fn = make_quality_fn(task, mesh, G)
    policy_fn = jax.jit(lambda c: (controller.argmax(c), controller.probabilities(c)))

    state = initial_state(config, setup, layout)
    start = 0
    if resume and ckpt.latest_step() is not None:
        state, _ = ckpt.restore(state, expect={"config": cfg}, ignore=RESUME_MUTABLE)
        start = int(state.step)
    if pi == 0:
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
    writer = MetricWriter(workdir, enabled=pi == 0, resume_step=start if resume else None)
    bar = Progress(config.steps, start, enabled=progress and pi == 0)
    train_it, valid_it = setup.train_stream.batches(start), setup.valid_stream.batches(start)
    infos, t_start, t_window = [], time.time(), time.time()
    try:  # an interruption (Ctrl-C, an error) still closes the checkpointer's threads and the files
        for s in range(start + 1, config.steps + 1):
            state, info = step_fn(state, dist.shard_batch(mesh, next(train_it)),
                                  dist.shard_batch(mesh, next(valid_it)))
            infos.append(info)
            bar.step()
            if on_step is not None:
                on_step(s)
            if s % config.log_every == 0 or s == config.steps:
                scalars = summarize(infos)
                n_steps = len(infos)
                infos = []
                now = time.time()
                argmax, probs = (np.asarray(dist.to_host(x)) for x in policy_fn(state.controller))
                row = {"loss": scalars["loss"], "quality": scalars["quality"], "reward": scalars["reward"],
                       "baseline": scalars["baseline"], "cost_sampled": scalars["cost"],
                       "cost_argmax": float(cost.predict(argmax)[0]), "entropy": scalars["entropy"],
                       "weight_lr": scalars["weight_lr"], "controller_lr": scalars["controller_lr"],
                       "warmup": scalars["warmup"],
                       "train_img_per_s": n_steps * A * b / max(now - t_window, 1e-9)}
                t_window = now
                writer.write(s, row, extra={"argmax": space.format(argmax),
                                            "probabilities": probs.round(6).tolist()})
                bar.show({"loss": row["loss"], setup.quality_name: row["quality"], "cost": row["cost_sampled"],
                          "argmax": row["cost_argmax"]})
            if s % config.checkpoint_every == 0 or s == config.steps:
                ckpt.save(s, state, {"config": cfg})
    finally:
        bar.close()
        ckpt.close()
        writer.close()
    seconds = time.time() - t_start
    steps_run = config.steps - start

    # The result: the argmax architecture, its cost, and its quality with the shared weights.
    argmax = np.asarray(dist.to_host(policy_fn(state.controller)[0]))
    archs = jnp.asarray(np.repeat(argmax[None], A, axis=0))
    n_eval = config.eval_batches or setup.eval_stream.steps_per_epoch
    it = setup.eval_stream.batches(0)
    qualities = [dist.to_host(quality_fn(state.params, dist.shard_batch(mesh, next(it)), archs)).mean()
                 for _ in range(n_eval)]
    arch_text = space.format(argmax)
    result = {
        "space": space.name, "arch": arch_text, "block_string": to_block_string(space, argmax),
        "cost": float(cost.predict(argmax)[0]), "target": cost.target, "unit": cost.unit,
        "cost_source": cost.source, **setup.describe(argmax),
        f"one_shot_{setup.quality_name}": float(np.mean(qualities)),
        "one_shot_eval_images": int(n_eval * A * b * config.validation_multiplier),
        "steps": config.steps, "archs_per_step": A, "devices": mesh.size, "processes": pc,
        "search_seconds": seconds, "train_img_per_s": steps_run * A * b / max(seconds, 1e-9),
    }
    if pi == 0:
        write_search_outputs(workdir, space, argmax, result)
        if config.plots:
            plot_search(workdir, [f"{d.index}:{d.kind}:{d.path}" for d in space.decisions], cost.target,
                        cost.unit, quality_label=f"validation {setup.quality_name} (shared weights)")
    return result


def write_search_outputs(workdir: str, space, arch: np.ndarray, result: dict) -> None:
    """``arch.txt``, ``arch_blocks.txt``, ``arch.json`` and ``result.json`` of a finished search."""
    with open(os.path.join(workdir, "arch.txt"), "w") as f:
        f.write(result["arch"] + "\n")
    with open(os.path.join(workdir, "arch_blocks.txt"), "w") as f:
        f.write(result["block_string"] + "\n")
    with open(os.path.join(workdir, "arch.json"), "w") as f:
        json.dump({"space": space.name, "arch": json.loads(space.to_json(arch)), "index_string": result["arch"],
                   "block_string": result["block_string"]}, f, indent=1)
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
