"""jaxnas.supernet: a Haiku weight-sharing supernet, child networks and a fast CPU depthwise conv."""

from jaxnas.supernet._child import ChildNet
from jaxnas.supernet._depthwise import depthwise_conv
from jaxnas.supernet._version import __version__

__all__ = [
    "ChildNet",
    "__version__",
    "depthwise_conv",
]
