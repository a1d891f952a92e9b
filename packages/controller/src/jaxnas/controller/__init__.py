"""jaxnas-controller."""

from jaxnas.controller._version import __version__

__all__ = ["__version__"]
