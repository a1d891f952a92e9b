"""``train(config, workdir)``: stand-alone training of one architecture (paper appendix E recipe).

TF1 RMSProp as the TuNAS reference (decay 0.9, momentum 0.9, eps 1.0 inside the square
root, mean square from 1.0; the paper's text says eps 0.1), peak rate 0.165 per 256 images,
linear warm-up then cosine decay to 0, label smoothing 0.1, L2 4e-5 on conv kernels only
(gradient 4e-5 * w; never BN or the classifier), BN momentum 0.99 /
eps 1e-3, dropout before the classifier by the paper's rule. Data parallel over
all devices (one architecture; BN statistics over the global batch), run by the
shared driver ``jaxnas.apps._train_driver.run_training``.

Writes into ``workdir``: ``config.json``, ``checkpoints/``, ``metrics.jsonl``,
``tensorboard/``, ``result.json`` and ``export/``: ``params.npz`` (trained params
and BN statistics, ``/``-joined names), ``model.json`` (space, architecture,
classes, resolution, normalisation) and ``model.tflite`` (float32, batch 1).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from jaxnas.apps import _distributed as dist
from jaxnas.apps._search_loop import steps_for_epochs, weight_optimizer
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps._train_driver import TrainSetup, TrainState, run_training, write_result
from jaxnas.apps.classification._configs import TrainConfig, default_dropout
from jaxnas.apps.classification._model import child_network, cross_entropy
from jaxnas.apps.classification._search import preprocess_of
from jaxnas.apps.data import ClassificationData

__all__ = ["TrainState", "conv_kernel_l2", "parse_arch", "train"]


def conv_kernel_l2(params) -> jax.Array:
    """Sum of squares of every conv kernel (names ending in ``_w``; not BN, not the classifier ``w``)."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    total = jnp.zeros((), jnp.float32)
    for path, x in leaves:
        name = str(getattr(path[-1], "key", path[-1]))
        if name.endswith("_w"):
            total = total + jnp.sum(jnp.square(x))
    return total


def parse_arch(space, text: str) -> np.ndarray:
    """``--arch`` as an architecture of ``space`` ("" = all zeros, for fixed spaces); a clear error otherwise."""
    try:
        return space.parse(text) if text else space.validate(np.zeros(space.num_decisions, np.int32))
    except (ValueError, TypeError) as err:
        raise ValueError(f"--arch {text!r} is not an architecture of space {space.name!r}: {err}") from None


def train(config: TrainConfig, workdir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Trains ``config.arch`` of ``config.space``; returns the result written to ``result.json``.

    Raises:
      ValueError: bad config or architecture, unprepared dataset, or an existing
        checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.searchspace import count_macs, count_params, get_space
    from jaxnas.supernet import l2_penalty
    space = get_space(config.space)
    arch = parse_arch(space, config.arch)
    mesh = dist.make_mesh()
    pi, pc = jax.process_index(), jax.process_count()
    gb = config.per_device_batch * mesh.size
    data = ClassificationData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction,
                              config.data.cache)
    pre = preprocess_of(config.data)
    train_stream = data.stream("train", gb, pre, train=True, seed=config.seed, process_index=pi, process_count=pc)
    eval_stream = data.stream(config.eval_split, gb, pre, train=False, process_index=pi, process_count=pc)
    steps = config.steps or steps_for_epochs(config.epochs, data.sizes["train"], gb)
    epochs = steps * gb / data.sizes["train"]
    dropout = config.dropout if config.dropout is not None else default_dropout(space.name, config.epochs)

    net = child_network(space, arch, data.num_classes, dropout, config.bn_momentum, config.bn_eps)
    o = config.optim
    optimizer, schedule = weight_optimizer(o.lr_per_256 * gb / 256, steps, o.warmup_fraction, o.rmsprop_decay,
                                           o.rmsprop_momentum, o.rmsprop_eps, o.rmsprop_initial_scale)
    num_classes, smoothing, wd = data.num_classes, config.label_smoothing, o.weight_decay
    r = config.data.resolution

    def init(key):
        return jax.jit(lambda k: net.init(k, jnp.zeros((1, r, r, 3), jnp.float32), True))(key)

    def loss_fn(params, bn_state, batch, key):
        logits, bn_state = net.apply(params, bn_state, key, batch["image"], True)
        loss = cross_entropy(logits, batch["label"], num_classes, smoothing) + l2_penalty(conv_kernel_l2(params), wd)
        acc = jnp.mean((jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32))
        return loss, (bn_state, {"train_accuracy": acc})

    @jax.jit
    def eval_step(params, bn_state, batch):
        logits, _ = net.apply(params, bn_state, None, batch["image"], False)
        correct = (jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32) * batch["mask"]
        return jnp.sum(correct), jnp.sum(batch["mask"])

    def evaluate(params, bn_state) -> dict:
        hits = total = 0.0
        for batch in eval_stream.epoch_batches():
            h, t = eval_step(params, bn_state, dist.shard_batch(mesh, batch))
            hits, total = hits + float(h), total + float(t)
        return {"accuracy": hits / max(total, 1.0)}

    setup = TrainSetup(init, loss_fn, optimizer, schedule, train_stream, steps, evaluate, "accuracy")
    state, metrics = run_training(config, workdir, setup, mesh, resume=resume, progress=progress)
    result = {"space": space.name, "arch": config.arch, "steps": steps, "epochs": epochs, "dropout": dropout,
              "eval_split": config.eval_split, "accuracy": metrics["accuracy"],
              "initial_accuracy": metrics["initial_accuracy"],
              "params": int(count_params(space, arch, data.num_classes)),
              "macs": int(count_macs(space, arch, r, data.num_classes)), "exports": []}
    if pi == 0:
        from jaxnas.apps.classification._export import export_model
        result["exports"] = export_model(os.path.join(workdir, "export"), space, arch, data.num_classes, config,
                                         jax.device_get(state.params), jax.device_get(state.bn_state),
                                         tflite=config.export_tflite)
    write_result(workdir, result)
    return result
