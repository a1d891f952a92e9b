"""The REINFORCE controller of TuNAS, in the shape of an optax transformation.

``reinforce_controller(space, ...)`` returns a :class:`Controller`: a NamedTuple
of pure, jittable functions over a :class:`ControllerState` (a pytree: save it
with any checkpointer). One step, for N architectures with rewards R:

    b    = debiased EMA (momentum 0.95) of mean(R), updated with THIS step first
    loss = mean_n( -stop_gradient(R_n - b) * log pi(arch_n) )
    logits <- Adam(b1=0, b2=0.999, eps=1e-8) step on d loss / d logits
    logits <- logits - lr * d mean_n( -entropy_weight * H(arch_n) ) / d logits   (plain SGD)

The entropy bonus is its own plain SGD step at the controller's rate, outside Adam's moments,
as the TuNAS reference's ``apply_adam(loss, regularization_loss=...)`` does (with a custom
``optimizer`` the bonus is part of the loss that optimizer minimises instead).

``log pi`` and ``H`` use hierarchical accounting (see ``_policy``). With
``axis_name`` set (inside ``shard_map``/``pmap``), the mean reward and the
gradients are averaged over that axis, so every device's architecture counts
in the baseline, as in the paper.

``second_moment`` picks what Adam's second moment sees: ``"per_architecture"``
(default with the built-in Adam: the TuNAS reference TPU optimiser, the average of each
architecture's squared gradient, about sqrt(N) times smaller steps for noisy gradients;
see ``_adam``) or ``"batch"`` (``optax.adam`` on the batch-mean gradient; the default
with a custom ``optimizer``).

Shape letters: N architectures, D decisions, C = most choices of any decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxnas.controller import _policy
from jaxnas.controller._adam import per_sample_adam
from jaxnas.controller._ema import EmaState, ema_init, ema_update, ema_value
from jaxnas.controller._schedules import BASE_LEARNING_RATE, as_schedule
from jaxnas.controller._structure import DecisionStructure, as_structure

SECOND_MOMENTS = ("batch", "per_architecture")


class ControllerState(NamedTuple):
    """Everything a controller learns; a pytree of arrays.

    Attributes:
      logits: ``float32[D, C]``, ``-inf`` on padded choices.
      opt_state: the optax optimiser state.
      baseline: zero-debiased EMA of the mean reward per step.
      step: ``int32[]``, number of updates done.
    """

    logits: jax.Array
    opt_state: optax.OptState
    baseline: EmaState
    step: jax.Array


class UpdateInfo(NamedTuple):
    """Scalars describing one update (for logging)."""

    loss: jax.Array
    mean_reward: jax.Array
    baseline: jax.Array
    mean_advantage: jax.Array
    mean_log_prob: jax.Array
    entropy: jax.Array          # exact entropy of the policy after the update (hierarchical)
    learning_rate: jax.Array


class Controller(NamedTuple):
    """A controller: pure functions over :class:`ControllerState`.

    Attributes:
      init: ``() -> ControllerState`` (uniform policy).
      sample: ``(key, state, n, temperature=1.0) -> int32[n, D]``; ``n`` static.
      update: ``(state, archs int32[N, D], rewards float[N]) -> (state, UpdateInfo)``.
      argmax: ``state -> int32[D]``, the most likely choice of every decision.
      probabilities: ``state -> float32[D, C]``.
      log_prob: ``(state, archs) -> float32[N]`` (hierarchical).
      entropy: ``state -> float32[]``, exact entropy over networks.
      structure: the :class:`DecisionStructure` it was built for.
    """

    init: Callable
    sample: Callable
    update: Callable
    argmax: Callable
    probabilities: Callable
    log_prob: Callable
    entropy: Callable
    structure: DecisionStructure


def reinforce_controller(space_or_structure, learning_rate=BASE_LEARNING_RATE, *,
                         schedule: object | None = None, total_steps: int | None = None,
                         delay_fraction: float = 0.25, entropy_weight: float = 0.0,
                         baseline_momentum: float = 0.95, hierarchical: bool = True,
                         optimizer: optax.GradientTransformation | None = None,
                         second_moment: str | None = None,
                         axis_name: str | None = None) -> Controller:
    """Builds the TuNAS REINFORCE controller.

    Args:
      space_or_structure: a ``jaxnas.searchspace.Space`` or a ``DecisionStructure``.
        Only its numpy constants are kept; nothing of it is needed inside jit.
      learning_rate: base rate (float) or an optax schedule. The paper uses
        ``scaled_learning_rate(global_image_batch)`` = 3e-4 per 256 images.
      schedule: None (constant rate from step 0), ``"constant"`` or
        ``"exponential"`` (0 for the first ``delay_fraction`` of ``total_steps``,
        then constant / growing to 10x; see ``rl_schedule``), or an optax schedule.
      total_steps: number of search steps (needed by a named schedule).
      delay_fraction: share of steps with rate 0 for named schedules.
      entropy_weight: lambda of the entropy bonus (paper: 0).
      baseline_momentum: momentum of the reward baseline EMA (paper: 0.95).
      hierarchical: decisions of skipped layers add no log-prob/entropy/gradient.
      optimizer: replaces the paper's Adam (then ``learning_rate``/``schedule`` are unused).
      second_moment: ``"per_architecture"``: :func:`per_sample_adam`, whose second
        moment averages every architecture's squared gradient, as the TuNAS
        reference code does with one architecture per TPU core; a custom
        ``optimizer`` must then accept the ``mean_square=`` extra argument.
        ``"batch"``: ``optax.adam`` on the mean gradient of the step. None (default):
        ``"per_architecture"`` with the built-in Adam, ``"batch"`` with a custom ``optimizer``.
      axis_name: average rewards and gradients (and, per architecture, squared
        gradients) over this mapped axis.

    Returns:
      A :class:`Controller`.

    >>> from jaxnas.searchspace import get_space
    >>> ctrl = reinforce_controller(get_space("proxylessnas"), 1e-2)
    >>> state = ctrl.init()
    >>> archs = ctrl.sample(jax.random.key(0), state, 8)
    >>> state, info = jax.jit(ctrl.update)(state, archs, jnp.linspace(0.0, 1.0, 8))
    >>> archs.shape, int(state.step)
    ((8, 73), 1)
    """
    structure = as_structure(space_or_structure)
    policy_structure = structure if hierarchical else structure.flat()
    _check_fraction("baseline_momentum", baseline_momentum)
    if isinstance(entropy_weight, bool) or not isinstance(entropy_weight, (int, float, np.number)):
        raise TypeError(f"entropy_weight: expected a number, got {entropy_weight!r}")
    if entropy_weight < 0:
        raise ValueError(f"entropy_weight must be >= 0 (a bonus for exploration), got {entropy_weight!r}")
    if second_moment is None:
        second_moment = "per_architecture" if optimizer is None else "batch"
    if second_moment not in SECOND_MOMENTS:
        raise ValueError(f"second_moment: expected one of {SECOND_MOMENTS}, got {second_moment!r}")
    per_architecture = second_moment == "per_architecture"
    if per_architecture and optimizer is not None and not isinstance(
            optimizer, optax.GradientTransformationExtraArgs):
        raise ValueError("second_moment='per_architecture' passes mean_square= to the optimizer; give an "
                         "optax.GradientTransformationExtraArgs that accepts it (e.g. per_sample_adam) "
                         "or leave optimizer=None")
    rate = as_schedule(learning_rate, total_steps, schedule, delay_fraction)
    report_rate = rate if optimizer is None else float("nan")  # a custom optimizer owns its rate
    # The reference applies the entropy bonus as a separate SGD step at Adam's rate; a custom
    # optimizer has no such rate, so there the bonus stays in the loss it minimises.
    separate_entropy = optimizer is None and bool(entropy_weight)
    if optimizer is None:
        # Paper appendix E.2: Adam with b1 = 0 (no momentum), b2 = 0.999, eps = 1e-8. While the
        # schedule is 0 (first 25%), Adam's second moment and step count still advance, as in the
        # reference code, which runs its Adam op every step with the rate multiplied by 0.
        optimizer = (per_sample_adam(rate, b1=0.0, b2=0.999, eps=1e-8) if per_architecture
                     else optax.adam(rate, b1=0.0, b2=0.999, eps=1e-8))
    D = structure.num_decisions

    def init() -> ControllerState:
        logits = _policy.init_logits(structure)
        return ControllerState(logits, optimizer.init(logits), ema_init(), jnp.zeros((), jnp.int32))

    def sample(key, state: ControllerState, n: int, temperature=1.0):
        return _policy.sample(key, state.logits, n, temperature)

    def loss_fn(logits, archs, advantage):
        logp = _policy.log_prob(logits, archs, policy_structure)                    # [N]
        loss = -advantage * logp
        if entropy_weight and not separate_entropy:
            loss = loss + entropy_loss(logits, archs)
        return jnp.mean(loss), logp

    def entropy_loss(logits, archs):
        """``float32[N]``: ``-entropy_weight * H(arch_n)`` (minimising it raises the entropy)."""
        return -entropy_weight * _policy.entropy(logits, policy_structure, archs)

    def gradients(logits, archs, advantage):
        """``(loss, logp [N], mean gradient [D, C], mean squared gradient [D, C] or None)``."""
        if not per_architecture:
            (loss, logp), grads = jax.value_and_grad(loss_fn, has_aux=True)(logits, archs, advantage)
            return loss, logp, grads, None
        # One gradient per architecture (what one TPU core computes in the reference): [N, D, C].
        if not entropy_weight or separate_entropy:  # the REINFORCE term alone: closed form
            loss, logp = loss_fn(logits, archs, advantage)
            per_arch = -advantage[:, None, None] * _policy.log_prob_gradients(logits, archs, policy_structure)
            return loss, logp, jnp.mean(per_arch, 0), jnp.mean(jnp.square(per_arch), 0)
        one = jax.value_and_grad(lambda lg, a, adv: loss_fn(lg, a[None], adv[None]), has_aux=True)
        (losses, logp), per_arch = jax.vmap(one, in_axes=(None, 0, 0))(logits, archs, advantage)
        return jnp.mean(losses), logp[:, 0], jnp.mean(per_arch, 0), jnp.mean(jnp.square(per_arch), 0)

    def update(state: ControllerState, archs, rewards):
        archs = _policy.check_archs(archs, D, "update")
        rewards = jnp.asarray(rewards, jnp.float32)
        if archs.ndim != 2:
            raise ValueError(f"update: archs must be int[N, {D}] (N sampled architectures), got shape "
                             f"{archs.shape}")
        if rewards.shape != archs.shape[:1]:
            raise ValueError(f"update: rewards must be float[N] with N = {archs.shape[0]} (one per "
                             f"architecture), got shape {rewards.shape}")
        mean_reward = jnp.mean(rewards)
        if axis_name is not None:
            mean_reward = jax.lax.pmean(mean_reward, axis_name)
        # The baseline includes the current step (reference: EMA updated before the advantage).
        baseline = ema_update(state.baseline, mean_reward, baseline_momentum)
        b = ema_value(baseline, baseline_momentum)
        advantage = jax.lax.stop_gradient(rewards - b)
        loss, logp, grads, mean_square = gradients(state.logits, archs, advantage)
        if axis_name is not None:
            grads = jax.lax.pmean(grads, axis_name)
        if per_architecture:
            if axis_name is not None:
                mean_square = jax.lax.pmean(mean_square, axis_name)
            updates, opt_state = optimizer.update(grads, state.opt_state, state.logits,
                                                  mean_square=mean_square)
        else:
            updates, opt_state = optimizer.update(grads, state.opt_state, state.logits)
        logits = optax.apply_updates(state.logits, updates)
        lr = report_rate(state.step) if callable(report_rate) else jnp.asarray(report_rate)
        if separate_entropy:
            # Plain SGD on the entropy loss, after the Adam step, at the same (scheduled) rate.
            h_loss, h_grads = jax.value_and_grad(lambda lg: jnp.mean(entropy_loss(lg, archs)))(state.logits)
            if axis_name is not None:
                h_grads = jax.lax.pmean(h_grads, axis_name)
            logits = logits - lr * jnp.where(jnp.isfinite(logits), h_grads, 0.0)
            loss = loss + h_loss
        info = UpdateInfo(loss, mean_reward, b, jnp.mean(advantage), jnp.mean(logp),
                          _policy.entropy(logits, policy_structure), jnp.asarray(lr, jnp.float32))
        return ControllerState(logits, opt_state, baseline, state.step + 1), info

    return Controller(
        init=init,
        sample=sample,
        update=update,
        argmax=lambda state: _policy.argmax(state.logits),
        probabilities=lambda state: _policy.probabilities(state.logits),
        log_prob=lambda state, archs: _policy.log_prob(state.logits, archs, policy_structure),
        entropy=lambda state: _policy.entropy(state.logits, policy_structure),
        structure=structure,
    )


def baseline_value(state: ControllerState, momentum: float = 0.95) -> jax.Array:
    """The current (debiased) reward baseline of a state."""
    return ema_value(state.baseline, momentum)


def _check_fraction(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
