"""The task-independent TuNAS search step and loop (classification and detection share it).

One step (docs/design.md section 3), all inside one jit, in the order of the TuNAS reference code:

    archs   = controller.sample(key, A)                      # [A, D], one per group
    per device (shard_map over "data"), per local group (vmap when a device has several):
        loss    = task.loss(params, train_group, arch, key, op_p, filter_p)
    params  <- optimizer step on the mean gradient (pmean over devices)
        quality = task.quality(params, valid_group, arch)    # UPDATED weights, same arch, batch statistics
    cost    = cost_fn(archs); reward = reward_fn(quality, cost)
    controller <- REINFORCE step on (archs, reward)

A ``SearchTask`` is what an application supplies: pure ``init``/``loss``/``quality``
functions. Everything else (sharding, warm-up schedule, checkpoints, metrics,
progress, resume) lives here.

Shape letters: A architectures per step, G groups per device, D decisions,
B images per group.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import PartitionSpec as P
from jaxnas.apps._distributed import AXIS


class SearchTask(NamedTuple):
    """An application's part of a search.

    Attributes:
      init: ``(key, batch) -> params`` (the shared weights).
      loss: ``(params, batch, arch int32[D], key, op_p, filter_p) -> scalar`` training
        loss of one group (incl. regularisation), batch statistics.
      quality: ``(params, batch, arch int32[D]) -> scalar`` reward quality of one group
        (e.g. accuracy on the validation batch), batch statistics.
    """

    init: Callable
    loss: Callable
    quality: Callable


class SearchState(NamedTuple):
    """Everything a search checkpoint holds (the data position is ``step``)."""

    params: object
    opt_state: object
    controller: object
    key: jax.Array          # uint32[2] raw PRNG key
    step: jax.Array         # int32[]


class StepInfo(NamedTuple):
    """Per-step scalars for logging (means over the step's architectures; replicated on every process)."""

    loss: jax.Array
    quality: jax.Array
    cost: jax.Array
    reward: jax.Array
    baseline: jax.Array
    entropy: jax.Array
    weight_lr: jax.Array
    controller_lr: jax.Array
    warmup: jax.Array


def warmup_probability(step, total_steps: int, fraction: float):
    """Op/filter warmup probability: linear 1 -> 0 over the first ``fraction`` of the steps.

    >>> [float(warmup_probability(s, 100, 0.25)) for s in (0, 10, 25, 50)]
    [1.0, 0.6000000238418579, 0.0, 0.0]
    """
    if fraction <= 0:
        return jnp.zeros((), jnp.float32)
    ramp = jnp.asarray(step, jnp.float32) / (fraction * total_steps)
    return jnp.clip(1.0 - ramp, 0.0, 1.0)


def steps_for_epochs(epochs: float, examples: int, global_batch: int) -> int:
    """Steps of ``epochs`` passes over ``examples`` at ``global_batch``: ``floor``, as the TuNAS reference.

    The reference computes ``max_global_step = examples * epochs // batch`` (search and
    stand-alone alike); at least one step.

    >>> steps_for_epochs(90, 1_231_121, 4096)  # ImageNet's search split (rounding would give 27,051)
    27050
    """
    return max(1, math.floor(epochs * examples / global_batch))


def weight_optimizer(peak_lr: float, total_steps: int, warmup_fraction: float, decay: float, momentum: float,
                     eps: float, initial_scale: float = 1.0):
    """TF1 ``RMSPropOptimizer`` with linear warm-up and cosine decay to 0.

    Per weight: ``ms = decay * ms + (1 - decay) * g**2`` (``ms`` starts at ``initial_scale``),
    ``mom = momentum * mom + lr * g / sqrt(ms + eps)``, ``w -= mom`` (eps inside the square root).
    The TuNAS reference: decay 0.9, momentum 0.9, eps 1.0, ``ms`` from 1.0 (TF1's initial value).

    Returns:
      ``(optax optimizer, learning-rate schedule)``.
    """
    warmup = max(1, round(warmup_fraction * total_steps)) if warmup_fraction > 0 else 0
    schedule = optax.warmup_cosine_decay_schedule(0.0, peak_lr, warmup, max(total_steps, warmup + 1))
    return optax.rmsprop(schedule, decay=decay, eps=eps, momentum=momentum, eps_in_sqrt=True,
                         initial_scale=initial_scale), schedule


@dataclasses.dataclass(frozen=True)
class StepSettings:
    """Static settings of the search step."""

    total_steps: int
    warmup_fraction: float
    op_warmup: bool
    filter_warmup: bool
    archs_per_step: int
    groups_per_device: int


def make_search_step(task: SearchTask, controller, optimizer, weight_schedule, cost_fn: Callable,
                     reward_fn: Callable, mesh, settings: StepSettings):
    """Builds the jitted ``step(state, train_batch, valid_batch) -> (state, StepInfo)``.

    ``train_batch``/``valid_batch`` are dicts of global arrays sharded over ``data``
    whose leading axis is ``A * B`` (rows of group ``a`` contiguous).
    """
    A, G = settings.archs_per_step, settings.groups_per_device

    def split_groups(batch):
        return jax.tree_util.tree_map(lambda x: x.reshape((G, x.shape[0] // G) + x.shape[1:]), batch)

    def per_device(params, opt_state, archs, train, valid, key, op_p, filter_p):
        # archs: [G, D] (this device's groups); train/valid: this device's rows.
        first = jax.lax.axis_index(AXIS) * G
        keys = jax.vmap(lambda i: jax.random.fold_in(key, first + i))(jnp.arange(G))
        train, valid = split_groups(train), split_groups(valid)

        def mean_loss(p):
            if G == 1:  # no vmap: keeps data-dependent control flow in the model un-batched
                return task.loss(p, jax.tree_util.tree_map(lambda x: x[0], train), archs[0], keys[0], op_p, filter_p)
            losses = jax.vmap(task.loss, in_axes=(None, 0, 0, 0, None, None))(p, train, archs, keys, op_p, filter_p)
            return jnp.mean(losses)

        loss, grads = jax.value_and_grad(mean_loss)(params)
        grads = jax.lax.pmean(grads, AXIS)
        loss = jax.lax.pmean(loss, AXIS)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        # The reward of the same architecture with the UPDATED weights (the reference runs its
        # validation pass under a control dependency on the weight update).
        if G == 1:
            quality = task.quality(params, jax.tree_util.tree_map(lambda x: x[0], valid), archs[0])[None]
        else:
            quality = jax.vmap(task.quality, in_axes=(None, 0, 0))(params, valid, archs)
        return params, opt_state, loss, quality

    sharded = jax.shard_map(per_device, mesh=mesh,
                            in_specs=(P(), P(), P(AXIS), P(AXIS), P(AXIS), P(), P(), P()),
                            out_specs=(P(), P(), P(), P(AXIS)), check_vma=False)

    def step(state: SearchState, train, valid):
        key = jax.random.wrap_key_data(state.key)
        key, k_sample, k_model = jax.random.split(key, 3)
        archs = controller.sample(k_sample, state.controller, A)
        p = warmup_probability(state.step, settings.total_steps, settings.warmup_fraction)
        op_p = p if settings.op_warmup else jnp.zeros_like(p)
        filter_p = p if settings.filter_warmup else jnp.zeros_like(p)
        params, opt_state, loss, quality = sharded(state.params, state.opt_state, archs, train, valid,
                                                   jax.random.key_data(k_model), op_p, filter_p)
        cost = cost_fn(archs)
        reward = reward_fn(quality, cost)
        ctrl, cinfo = controller.update(state.controller, archs, reward)
        info = StepInfo(loss, jnp.mean(quality), jnp.mean(cost), jnp.mean(reward), cinfo.baseline, cinfo.entropy,
                        jnp.asarray(weight_schedule(state.step), jnp.float32), cinfo.learning_rate, p)
        return SearchState(params, opt_state, ctrl, jax.random.key_data(key), state.step + 1), info

    return jax.jit(step, donate_argnums=(0,))


def factorized_cost_fn(cost, scale: float = 1.0, offset: float = 0.0) -> Callable:
    """The jax version of a ``jaxnas.searchspace.FactorizedCost``: ``int32[A, D] -> float32[A]``.

    ``scale * sum + offset`` applies a linear calibration (latency tables).
    """
    table = jnp.asarray(cost.table, jnp.float32)
    deps = jnp.asarray(cost.deps, jnp.int32)
    radix = jnp.asarray(cost.radix, jnp.int32)
    offsets = jnp.asarray(cost.offsets, jnp.int32)

    def fn(archs):
        ext = jnp.concatenate([archs, jnp.zeros(archs.shape[:-1] + (1,), archs.dtype)], axis=-1)
        idx = offsets + jnp.sum(ext[..., deps] * radix, axis=-1)          # [A, P]
        return scale * jnp.sum(table[idx], axis=-1) + offset

    return fn


def summarize(infos: list) -> dict:
    """Means over the steps since the last log of every ``StepInfo`` field (host floats)."""
    if not infos:
        return {}
    host = jax.device_get(infos)  # replicated scalars: readable on every process
    return {k: float(np.mean([getattr(i, k) for i in host])) for k in StepInfo._fields}


def make_quality_fn(task: SearchTask, mesh, groups_per_device: int):
    """Jitted ``(params, batch, archs int32[A, D]) -> float32[A]``: each group's quality."""
    G = groups_per_device

    def per_device(params, batch, archs):
        batch = jax.tree_util.tree_map(lambda x: x.reshape((G, x.shape[0] // G) + x.shape[1:]), batch)
        return jax.vmap(task.quality, in_axes=(None, 0, 0))(params, batch, archs)

    return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(AXIS), P(AXIS)), out_specs=P(AXIS),
                                 check_vma=False))
