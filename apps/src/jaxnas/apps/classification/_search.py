"""``search(config, workdir)``: one TuNAS search for an image classifier.

Writes into ``workdir``: ``config.json``; ``checkpoints/`` (orbax, resumable);
``metrics.jsonl`` and ``tensorboard/``; ``probabilities.png``, ``reward.png``,
``quality.png``, ``cost.png``; and the result: ``arch.txt`` (index string),
``arch_blocks.txt`` (block string), ``arch.json`` and ``result.json`` (cost vs
target, params, MACs, one-shot accuracy of the argmax with the shared weights,
time and images/s).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.apps import _distributed as dist
from jaxnas.apps._checkpoint import Checkpointer
from jaxnas.apps._config import to_dict
from jaxnas.apps._cost import search_cost
from jaxnas.apps._metrics import MetricWriter, plot_search
from jaxnas.apps._progress import Progress
from jaxnas.apps._search_loop import (
    SearchState,
    StepSettings,
    make_quality_fn,
    make_search_step,
    summarize,
    weight_optimizer,
)
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.classification._configs import SearchConfig
from jaxnas.apps.classification._model import (
    SupernetFns,
    classification_task,
    supernet_fns,
)
from jaxnas.apps.data import ClassificationData, Preprocess

# Keys of the config allowed to change on --resume (they do not change the result).
RESUME_MUTABLE = ("eval_batches",)


def preprocess_of(data_config) -> Preprocess:
    """The :class:`Preprocess` of a ``DataConfig``."""
    return Preprocess(resolution=data_config.resolution, min_area=data_config.min_crop_area,
                      crop_fraction=data_config.crop_fraction, mean=tuple(data_config.mean),
                      std=tuple(data_config.std))


def search(config: SearchConfig, workdir: str, *, resume: bool = False, progress: bool = True,
           model: SupernetFns | None = None, on_step: Callable[[int], None] | None = None) -> dict:
    """Runs (or resumes) a search; returns the result dict also written to ``result.json``.

    Args:
      config: a :class:`SearchConfig`.
      workdir: output folder.
      resume: continue from the last checkpoint in ``workdir`` (same config and seed
        give the same result as an uninterrupted run).
      progress: show a progress bar.
      model: replaces the jaxnas-supernet network (tests, custom networks).
      on_step: called with the step number after every step (tests, monitoring).

    Raises:
      ValueError: bad config, dataset, latency table, target, or a work dir that
        already has a checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.controller import get_reward, reinforce_controller, scaled_learning_rate
    from jaxnas.searchspace import count_macs, count_params, get_space, to_block_string
    space = get_space(config.space)
    mesh = dist.make_mesh()
    G = dist.groups_per_device(config.archs_per_step, mesh)
    A = G * mesh.size
    b = config.per_device_batch
    pi, pc = jax.process_index(), jax.process_count()
    cfg = to_dict(config)

    data = ClassificationData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction,
                              config.data.cache)
    pre = preprocess_of(config.data)
    train_stream = data.stream("train", A * b, pre, train=True, seed=config.seed, process_index=pi,
                               process_count=pc)
    valid_stream = data.stream("validation", A * b * config.validation_multiplier, pre, train=False,
                               seed=config.seed + 1, process_index=pi, process_count=pc)
    cost = search_cost(space, config.latency_table, config.target, config.data.resolution, data.num_classes)

    ckpt_dir = os.path.join(workdir, "checkpoints")
    ckpt = Checkpointer(ckpt_dir)
    if not resume and ckpt.latest_step() is not None:
        raise ValueError(f"work dir {workdir!r} already holds a search checkpoint (step {ckpt.latest_step()}); "
                         f"pass --resume to continue it or choose a new --workdir")

    task = classification_task(model or supernet_fns(space, data.num_classes, config.remat), data.num_classes,
                               config.optim.weight_decay)
    controller = reinforce_controller(
        space, scaled_learning_rate(A * b, config.controller_lr_per_256), schedule=config.controller_schedule,
        total_steps=config.steps, delay_fraction=config.controller_delay_fraction,
        entropy_weight=config.entropy_weight, baseline_momentum=config.baseline_momentum)
    o = config.optim
    optimizer, schedule = weight_optimizer(o.lr_per_256 * A * b / 256, config.steps, o.warmup_fraction,
                                           o.rmsprop_decay, o.rmsprop_momentum, o.rmsprop_eps)
    reward = get_reward(config.reward)
    target, beta = cost.target, config.reward_beta
    settings = StepSettings(config.steps, config.warmup_fraction, config.op_warmup, config.filter_warmup, A, G)
    step_fn = make_search_step(task, controller, optimizer, schedule, cost.jax_fn,
                               lambda q, c: reward(q, c, target, beta), mesh, settings)
    quality_fn = make_quality_fn(task, mesh, G)
    policy_fn = jax.jit(lambda c: (controller.argmax(c), controller.probabilities(c)))

    key = jax.random.PRNGKey(config.seed)
    k_init, k_run = jax.random.split(key)
    r = config.data.resolution
    params = task.init(k_init, {"image": jnp.zeros((b, r, r, 3), jnp.float32)})
    state = SearchState(params, optimizer.init(params), controller.init(), k_run, jnp.zeros((), jnp.int32))
    state = dist.replicate(mesh, state)
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
    train_it, valid_it = train_stream.batches(start), valid_stream.batches(start)
    infos, t_start, t_window, seconds = [], time.time(), time.time(), 0.0
    for s in range(start + 1, config.steps + 1):
        state, info = step_fn(state, dist.shard_batch(mesh, next(train_it)), dist.shard_batch(mesh, next(valid_it)))
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
                   "warmup": scalars["warmup"], "train_img_per_s": n_steps * A * b / max(now - t_window, 1e-9)}
            t_window = now
            writer.write(s, row, extra={"argmax": space.format(argmax), "probabilities": probs.round(6).tolist()})
            bar.show({"loss": row["loss"], "acc": row["quality"], "cost": row["cost_sampled"],
                      "argmax": row["cost_argmax"]})
        if s % config.checkpoint_every == 0 or s == config.steps:
            ckpt.save(s, state, {"config": cfg})
    bar.close()
    seconds = time.time() - t_start
    steps_run = config.steps - start
    ckpt.close()
    writer.close()

    # The result: the argmax architecture, its cost, and its accuracy with the shared weights.
    argmax = np.asarray(dist.to_host(policy_fn(state.controller)[0]))
    archs = jnp.asarray(np.repeat(argmax[None], A, axis=0))
    eval_stream = data.stream("validation", A * b * config.validation_multiplier, pre, train=False,
                              seed=config.seed + 2, process_index=pi, process_count=pc)
    n_eval = config.eval_batches or eval_stream.steps_per_epoch
    it = eval_stream.batches(0)
    accs = [dist.to_host(quality_fn(state.params, dist.shard_batch(mesh, next(it)), archs)).mean()
            for _ in range(n_eval)]
    arch_text = space.format(argmax)
    result = {
        "space": space.name, "arch": arch_text, "block_string": to_block_string(space, argmax),
        "cost": float(cost.predict(argmax)[0]), "target": cost.target, "unit": cost.unit,
        "cost_source": cost.source,
        "params": int(count_params(space, argmax, data.num_classes)),
        "macs": int(count_macs(space, argmax, config.data.resolution, data.num_classes)),
        "resolution": config.data.resolution,
        "one_shot_accuracy": float(np.mean(accs)), "one_shot_eval_images": int(n_eval * A * b * 4),
        "steps": config.steps, "archs_per_step": A, "devices": mesh.size, "processes": pc,
        "search_seconds": seconds, "train_img_per_s": steps_run * A * b / max(seconds, 1e-9),
    }
    if pi == 0:
        with open(os.path.join(workdir, "arch.txt"), "w") as f:
            f.write(arch_text + "\n")
        with open(os.path.join(workdir, "arch_blocks.txt"), "w") as f:
            f.write(result["block_string"] + "\n")
        with open(os.path.join(workdir, "arch.json"), "w") as f:
            json.dump({"space": space.name, "arch": json.loads(space.to_json(argmax)), "index_string": arch_text,
                       "block_string": result["block_string"]}, f, indent=1)
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump(result, f, indent=1)
        if config.plots:
            plot_search(workdir, [f"{d.index}:{d.kind}:{d.path}" for d in space.decisions], cost.target,
                        cost.unit)
    return result
