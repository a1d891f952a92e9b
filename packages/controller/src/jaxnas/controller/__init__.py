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

from jaxnas.controller._ema import EmaState
from jaxnas.controller._ema import ema_init
from jaxnas.controller._ema import ema_update
from jaxnas.controller._ema import ema_value
from jaxnas.controller._ema import periodic_ema_update
from jaxnas.controller._policy import active_mask
from jaxnas.controller._policy import active_probability
from jaxnas.controller._policy import argmax
from jaxnas.controller._policy import decision_entropies
from jaxnas.controller._policy import entropy
from jaxnas.controller._policy import init_logits
from jaxnas.controller._policy import log_prob
from jaxnas.controller._policy import probabilities
from jaxnas.controller._policy import sample
from jaxnas.controller._reinforce import Controller
from jaxnas.controller._reinforce import ControllerState
from jaxnas.controller._reinforce import UpdateInfo
from jaxnas.controller._reinforce import baseline_value
from jaxnas.controller._reinforce import reinforce_controller
from jaxnas.controller._rewards import REWARDS
from jaxnas.controller._rewards import get_reward
from jaxnas.controller._rewards import reward_absolute
from jaxnas.controller._rewards import reward_mnas_hard
from jaxnas.controller._rewards import reward_mnas_soft
from jaxnas.controller._schedules import BASE_LEARNING_RATE
from jaxnas.controller._schedules import SCHEDULES
from jaxnas.controller._schedules import delay_steps
from jaxnas.controller._schedules import rl_schedule
from jaxnas.controller._schedules import scaled_learning_rate
from jaxnas.controller._structure import DecisionStructure
from jaxnas.controller._structure import as_structure
from jaxnas.controller._tracking import ProbabilityHistory
from jaxnas.controller._version import __version__

__all__ = [
    "BASE_LEARNING_RATE",
    "Controller",
    "ControllerState",
    "DecisionStructure",
    "EmaState",
    "ProbabilityHistory",
    "REWARDS",
    "SCHEDULES",
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
    "periodic_ema_update",
    "probabilities",
    "reinforce_controller",
    "reward_absolute",
    "reward_mnas_hard",
    "reward_mnas_soft",
    "rl_schedule",
    "sample",
    "scaled_learning_rate",
]
