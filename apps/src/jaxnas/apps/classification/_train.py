"""``train(config, workdir)``: stand-alone training of one architecture (paper appendix E recipe).

RMSProp (decay 0.9, momentum 0.9, eps 0.1 inside the square root), peak rate
0.165 per 256 images, linear warm-up then cosine decay to 0, label smoothing 0.1,
L2 4e-5 on conv kernels only (never BN or the classifier), BN momentum 0.99 /
eps 1e-3, dropout before the classifier by the paper's rule. Data parallel over
all devices (one architecture; BN statistics over the global batch).

Writes into ``workdir``: ``config.json``, ``checkpoints/``, ``metrics.jsonl``,
``tensorboard/``, ``result.json`` and ``export/``: ``params.npz`` (trained params
and BN statistics, ``/``-joined names), ``model.json`` (space, architecture,
classes, resolution, normalisation) and ``model.tflite`` (float32, batch 1).
"""

from __future__ import annotations

import json
import math
import os
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
from jaxnas.apps._search_loop import weight_optimizer
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.classification._configs import TrainConfig, default_dropout
from jaxnas.apps.classification._model import cross_entropy
from jaxnas.apps.classification._search import preprocess_of
from jaxnas.apps.data import ClassificationData


class TrainState(NamedTuple):
    """A stand-alone training checkpoint (the data position is ``step``)."""

    params: object
    bn_state: object
    opt_state: object
    key: jax.Array
    step: jax.Array


def conv_kernel_l2(params) -> jax.Array:
    """Sum of squares of every conv kernel (names ending in ``_w``; not BN, not the classifier ``w``)."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    total = jnp.zeros((), jnp.float32)
    for path, x in leaves:
        name = str(getattr(path[-1], "key", path[-1]))
        if name.endswith("_w"):
            total = total + jnp.sum(jnp.square(x))
    return total


def child_network(space, arch, num_classes: int, dropout: float, bn_momentum: float, bn_eps: float,
                  depthwise_impl: str = "auto"):
    """``hk.transform_with_state`` of the child network: ``apply(params, state, rng, images, is_training)``."""
    import haiku as hk
    from jaxnas.supernet import ChildNet

    def forward(images, is_training):
        return ChildNet(space, arch, num_classes=num_classes, dropout_rate=dropout, bn_decay=bn_momentum,
                        bn_eps=bn_eps, depthwise_impl=depthwise_impl)(images, is_training)[0]

    return hk.transform_with_state(forward)


def train(config: TrainConfig, workdir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Trains ``config.arch`` of ``config.space``; returns the result written to ``result.json``.

    Raises:
      ValueError: bad config or architecture, unprepared dataset, or an existing
        checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.searchspace import count_macs, count_params, get_space
    space = get_space(config.space)
    try:
        arch = space.parse(config.arch) if config.arch else space.validate(np.zeros(space.num_decisions, np.int32))
    except (ValueError, TypeError) as err:
        raise ValueError(f"--arch {config.arch!r} is not an architecture of space {space.name!r}: {err}") from None
    mesh = dist.make_mesh()
    pi, pc = jax.process_index(), jax.process_count()
    gb = config.per_device_batch * mesh.size
    cfg = to_dict(config)
    data = ClassificationData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction,
                              config.data.cache)
    pre = preprocess_of(config.data)
    train_stream = data.stream("train", gb, pre, train=True, seed=config.seed, process_index=pi, process_count=pc)
    eval_stream = data.stream(config.eval_split, gb, pre, train=False, process_index=pi, process_count=pc)
    steps = config.steps or max(1, math.ceil(config.epochs * data.sizes["train"] / gb))
    epochs = steps * gb / data.sizes["train"]
    dropout = config.dropout if config.dropout is not None else default_dropout(space.name, config.epochs)

    net = child_network(space, arch, data.num_classes, dropout, config.bn_momentum, config.bn_eps)
    o = config.optim
    optimizer, schedule = weight_optimizer(o.lr_per_256 * gb / 256, steps, o.warmup_fraction, o.rmsprop_decay,
                                           o.rmsprop_momentum, o.rmsprop_eps)
    num_classes, smoothing, wd = data.num_classes, config.label_smoothing, o.weight_decay
    batch_sharding = NamedSharding(mesh, P(dist.AXIS))

    def loss_fn(params, bn_state, batch, key):
        logits, bn_state = net.apply(params, bn_state, key, batch["image"], True)
        loss = cross_entropy(logits, batch["label"], num_classes, smoothing) + wd * conv_kernel_l2(params)
        acc = jnp.mean((jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32))
        return loss, (bn_state, acc)

    @jax.jit
    def train_step(state: TrainState, batch):
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        (loss, (bn_state, acc)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.bn_state, batch, jax.random.key_data(key))
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, state.params, updates)
        return TrainState(params, bn_state, opt_state, state.key, state.step + 1), {
            "loss": loss, "train_accuracy": acc, "lr": schedule(state.step)}

    @jax.jit
    def eval_step(params, bn_state, batch):
        logits, _ = net.apply(params, bn_state, None, batch["image"], False)
        correct = (jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32) * batch["mask"]
        return jnp.sum(correct), jnp.sum(batch["mask"])

    def evaluate(params, bn_state) -> float:
        hits = total = 0.0
        for batch in eval_stream.epoch_batches():
            h, t = eval_step(params, bn_state, dist.shard_batch(mesh, batch))
            hits, total = hits + float(h), total + float(t)
        return hits / max(total, 1.0)

    key = jax.random.PRNGKey(config.seed)
    k_init, k_run = jax.random.split(key)
    r = config.data.resolution
    params, bn_state = jax.jit(lambda k: net.init(k, jnp.zeros((1, r, r, 3), jnp.float32), True))(k_init)
    state = dist.replicate(mesh, TrainState(params, bn_state, optimizer.init(params), k_run,
                                            jnp.zeros((), jnp.int32)))
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    if not resume and ckpt.latest_step() is not None:
        raise ValueError(f"work dir {workdir!r} already holds a training checkpoint (step {ckpt.latest_step()}); "
                         f"pass --resume to continue it or choose a new --workdir")
    start, initial_accuracy = 0, None
    if resume and ckpt.latest_step() is not None:
        state, meta = ckpt.restore(state, expect={"config": cfg})
        start, initial_accuracy = int(state.step), meta.get("initial_accuracy")
    if initial_accuracy is None:
        initial_accuracy = evaluate(state.params, state.bn_state)
    if pi == 0:
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
    writer = MetricWriter(workdir, enabled=pi == 0, resume_step=start if resume else None)
    bar = Progress(steps, start, enabled=progress and pi == 0, desc="train")
    it = train_stream.batches(start)
    logs = []
    meta = {"config": cfg, "initial_accuracy": initial_accuracy}
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
                row["eval_accuracy"] = evaluate(state.params, state.bn_state)
            writer.write(s, row)
            bar.show(row)
        if s % config.checkpoint_every == 0 or s == steps:
            ckpt.save(s, state, meta)
    bar.close()
    ckpt.close()
    accuracy = evaluate(state.params, state.bn_state)
    writer.write(steps, {"eval_accuracy": accuracy})
    writer.close()
    result = {"space": space.name, "arch": config.arch, "steps": steps, "epochs": epochs, "dropout": dropout,
              "eval_split": config.eval_split, "accuracy": accuracy, "initial_accuracy": initial_accuracy,
              "params": int(count_params(space, arch, data.num_classes)),
              "macs": int(count_macs(space, arch, r, data.num_classes)), "exports": []}
    if pi == 0:
        from jaxnas.apps.classification._export import export_model
        result["exports"] = export_model(os.path.join(workdir, "export"), space, arch, data.num_classes, config,
                                         jax.device_get(state.params), jax.device_get(state.bn_state),
                                         tflite=config.export_tflite)
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump(result, f, indent=1)
    return result
