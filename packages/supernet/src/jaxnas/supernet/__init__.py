"""jaxnas.supernet: a Haiku weight-sharing supernet, child networks and a fast CPU depthwise conv.

Call :func:`configure_xla` before the first jax computation when training with
rematerialization on CPU (it sets the XLA flag the memory saving depends on).
"""

from jaxnas.supernet._child import ChildNet
from jaxnas.supernet._depthwise import depthwise_conv
from jaxnas.supernet._inherit import inherit_weights
from jaxnas.supernet._regularizer import WEIGHT_DECAY
from jaxnas.supernet._regularizer import l2_penalty
from jaxnas.supernet._step import make_sgd_step
from jaxnas.supernet._step import supernet_loss
from jaxnas.supernet._supernet import SuperNet
from jaxnas.supernet._supernet import SuperNetOutput
from jaxnas.supernet._version import __version__
from jaxnas.supernet._xla import configure_xla
from jaxnas.supernet._xla import xla_configured

__all__ = [
    "WEIGHT_DECAY",
    "ChildNet",
    "SuperNet",
    "SuperNetOutput",
    "__version__",
    "configure_xla",
    "depthwise_conv",
    "inherit_weights",
    "l2_penalty",
    "make_sgd_step",
    "supernet_loss",
    "xla_configured",
]
