"""jaxnas.latency: measure a device, predict any architecture's latency, validate the prediction.

Importing this package needs numpy and jaxnas-searchspace only: TensorFlow,
LiteRT and jax are imported by the backends that use them, when they are made.

>>> from jaxnas.searchspace import get_space
>>> from jaxnas.latency import space_ops
>>> len(space_ops(get_space("proxylessnas"), resolution=224))
73
"""

from jaxnas.latency._backends import Backend
from jaxnas.latency._backends import get_backend
from jaxnas.latency._backends import list_backends
from jaxnas.latency._backends import register_backend
from jaxnas.latency._build import build_table
from jaxnas.latency._examples import example_tables
from jaxnas.latency._examples import load_example
from jaxnas.latency._examples import load_example_report
from jaxnas.latency._export import export_models
from jaxnas.latency._export import import_table
from jaxnas.latency._heads import Endpoint
from jaxnas.latency._heads import Head
from jaxnas.latency._heads import HeadedCost
from jaxnas.latency._heads import head_ops
from jaxnas.latency._heads import space_endpoints
from jaxnas.latency._host import l2_cache_bytes
from jaxnas.latency._predict import latency_model
from jaxnas.latency._predict import LatencyModel
from jaxnas.latency._predict import network_latency
from jaxnas.latency._signatures import op_from_key
from jaxnas.latency._ssdlite import get_head
from jaxnas.latency._ssdlite import ssdlite_head
from jaxnas.latency._signatures import signature_key
from jaxnas.latency._signatures import space_ops
from jaxnas.latency._stats import kendall
from jaxnas.latency._stats import pearson
from jaxnas.latency._stats import spearman
from jaxnas.latency._table import SCHEMA_VERSION
from jaxnas.latency._table import Calibration
from jaxnas.latency._table import LatencyTable
from jaxnas.latency._table import MissingSignatureError
from jaxnas.latency._table import Timing
from jaxnas.latency._timing import time_callable
from jaxnas.latency._validate import calibrate_table
from jaxnas.latency._validate import summarize
from jaxnas.latency._validate import validate_table
from jaxnas.latency._version import __version__

__all__ = [
    "SCHEMA_VERSION",
    "Backend",
    "Calibration",
    "Endpoint",
    "Head",
    "HeadedCost",
    "LatencyModel",
    "LatencyTable",
    "MissingSignatureError",
    "Timing",
    "__version__",
    "build_table",
    "calibrate_table",
    "example_tables",
    "export_models",
    "get_backend",
    "get_head",
    "head_ops",
    "import_table",
    "kendall",
    "l2_cache_bytes",
    "latency_model",
    "list_backends",
    "load_example",
    "load_example_report",
    "network_latency",
    "op_from_key",
    "pearson",
    "register_backend",
    "signature_key",
    "space_endpoints",
    "space_ops",
    "spearman",
    "ssdlite_head",
    "summarize",
    "time_callable",
    "validate_table",
]
