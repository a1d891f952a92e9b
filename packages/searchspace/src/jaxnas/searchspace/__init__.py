"""placeholder"""
from jaxnas.searchspace._version import __version__
