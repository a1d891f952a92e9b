"""jaxnas.controller: the TuNAS REINFORCE controller, its rewards and schedules.

A policy of independent categoricals over a space's decisions (with hierarchical
accounting for skipped layers), updated by REINFORCE with a moving-average
baseline and Adam, in the optax style: a factory returning pure functions.

>>> import jax, jax.numpy as jnp
>>> from jaxnas.searchspace import get_space
>>> from jaxnas.controller import reinforce_controller
>>> ctrl = reinforce_controller(get_space("proxylessnas"), schedule="exponential", total_steps=100)
>>> state = ctrl.init()
>>> round(float(ctrl.entropy(state)), 3)  # nats; kernels/expansions of skippable layers count half
35.685
>>> archs = ctrl.sample(jax.random.key(0), state, 32)
>>> state, info = jax.jit(ctrl.update)(state, archs, jnp.zeros(32))
"""

from jaxnas.controller._adam import (
    ScaleByPerSampleAdamState,
    per_sample_adam,
    scale_by_per_sample_adam,
)
from jaxnas.controller._ema import (
    EmaState,
    ema_init,
    ema_update,
    ema_value,
    periodic_ema_update,
)
from jaxnas.controller._policy import (
    active_mask,
    active_probability,
    argmax,
    decision_entropies,
    entropy,
    init_logits,
    log_prob,
    probabilities,
    sample,
)
from jaxnas.controller._reinforce import (
    SECOND_MOMENTS,
    Controller,
    ControllerState,
    UpdateInfo,
    baseline_value,
    reinforce_controller,
)
from jaxnas.controller._rewards import (
    REWARDS,
    get_reward,
    reward_absolute,
    reward_mnas_hard,
    reward_mnas_soft,
)
from jaxnas.controller._schedules import (
    BASE_LEARNING_RATE,
    SCHEDULES,
    delay_steps,
    rl_schedule,
    scaled_learning_rate,
)
from jaxnas.controller._structure import DecisionStructure, as_structure
from jaxnas.controller._tracking import ProbabilityHistory
from jaxnas.controller._version import __version__

__all__ = [
    "BASE_LEARNING_RATE",
    "REWARDS",
    "SCHEDULES",
    "SECOND_MOMENTS",
    "Controller",
    "ControllerState",
    "DecisionStructure",
    "EmaState",
    "ProbabilityHistory",
    "ScaleByPerSampleAdamState",
    "UpdateInfo",
    "__version__",
    "active_mask",
    "active_probability",
    "argmax",
    "as_structure",
    "baseline_value",
    "decision_entropies",
    "delay_steps",
    "ema_init",
    "ema_update",
    "ema_value",
    "entropy",
    "get_reward",
    "init_logits",
    "log_prob",
    "per_sample_adam",
    "periodic_ema_update",
    "probabilities",
    "reinforce_controller",
    "reward_absolute",
    "reward_mnas_hard",
    "reward_mnas_soft",
    "rl_schedule",
    "sample",
    "scale_by_per_sample_adam",
    "scaled_learning_rate",
]
