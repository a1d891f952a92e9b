"""jaxnas-detection."""

from jaxnas.detection._version import __version__

__all__ = ["__version__"]
