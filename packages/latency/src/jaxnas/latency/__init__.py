"""jaxnas.latency: measure a device, predict any architecture's latency, validate the prediction.

Importing this package needs numpy and jaxnas-searchspace only: TensorFlow,
LiteRT and jax are imported by the backends that use them, when they are made.

>>> from jaxnas.searchspace import get_space
>>> from jaxnas.latency import space_ops
>>> len(space_ops(get_space("proxylessnas"), resolution=224))
73
"""

from jaxnas.latency._backends import (
    Backend,
    get_backend,
    list_backends,
    register_backend,
    time_callable,
)
from jaxnas.latency._build import build_table
from jaxnas.latency._export import export_models, import_table
from jaxnas.latency._predict import LatencyModel, latency_model, network_latency
from jaxnas.latency._signatures import op_from_key, signature_key, space_ops
from jaxnas.latency._stats import kendall, pearson, spearman
from jaxnas.latency._table import (
    SCHEMA_VERSION,
    Calibration,
    LatencyTable,
    MissingSignatureError,
    Timing,
)
from jaxnas.latency._validate import calibrate_table, summarize, validate_table
from jaxnas.latency._version import __version__

__all__ = [
    "SCHEMA_VERSION",
    "Backend",
    "Calibration",
    "LatencyModel",
    "LatencyTable",
    "MissingSignatureError",
    "Timing",
    "__version__",
    "build_table",
    "calibrate_table",
    "export_models",
    "get_backend",
    "import_table",
    "kendall",
    "latency_model",
    "list_backends",
    "network_latency",
    "op_from_key",
    "pearson",
    "register_backend",
    "signature_key",
    "space_ops",
    "spearman",
    "summarize",
    "time_callable",
    "validate_table",
]
