"""jaxnas-latency."""

from jaxnas.latency._version import __version__

__all__ = ["__version__"]
