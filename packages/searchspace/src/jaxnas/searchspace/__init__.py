"""jaxnas.searchspace: the search-space DSL, the TuNAS spaces and reference networks.

Depends on numpy only (importing it never imports jax).

>>> from jaxnas.searchspace import get_space, reference_arch, count_params
>>> space = get_space("proxylessnas")
>>> int(count_params(space, reference_arch("proxylessnas_mobile")))
4080512
"""

from jaxnas.searchspace._blockstring import fixed_space
from jaxnas.searchspace._blockstring import format_token
from jaxnas.searchspace._blockstring import from_block_string
from jaxnas.searchspace._blockstring import parse_token
from jaxnas.searchspace._blockstring import to_block_string
from jaxnas.searchspace._costs import FactorizedCost
from jaxnas.searchspace._costs import count_macs
from jaxnas.searchspace._costs import count_params
from jaxnas.searchspace._decisions import Decision
from jaxnas.searchspace._filters import make_divisible
from jaxnas.searchspace._filters import scale_filters
from jaxnas.searchspace._network import ConcreteOp
from jaxnas.searchspace._references import REFERENCE_NAMES
from jaxnas.searchspace._references import reference_arch
from jaxnas.searchspace._references import reference_spaces
from jaxnas.searchspace._space import FeatureMap
from jaxnas.searchspace._space import Position
from jaxnas.searchspace._space import Space
from jaxnas.searchspace._space import WidthRef
from jaxnas.searchspace._space import space_from_json
from jaxnas.searchspace._spaces import get_space
from jaxnas.searchspace._spaces import list_spaces
from jaxnas.searchspace._spaces import register_space
from jaxnas.searchspace._spaces import width_choices
from jaxnas.searchspace._specs import ACTIVATIONS
from jaxnas.searchspace._specs import Activation
from jaxnas.searchspace._specs import Block
from jaxnas.searchspace._specs import Bottleneck
from jaxnas.searchspace._specs import Conv
from jaxnas.searchspace._specs import Endpoint
from jaxnas.searchspace._specs import GlobalPool
from jaxnas.searchspace._specs import OneOf
from jaxnas.searchspace._specs import Residual
from jaxnas.searchspace._specs import SepConv
from jaxnas.searchspace._specs import Zero
from jaxnas.searchspace._version import __version__

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Block",
    "Bottleneck",
    "ConcreteOp",
    "Conv",
    "Decision",
    "Endpoint",
    "FactorizedCost",
    "FeatureMap",
    "GlobalPool",
    "OneOf",
    "Position",
    "REFERENCE_NAMES",
    "Residual",
    "SepConv",
    "Space",
    "WidthRef",
    "Zero",
    "__version__",
    "count_macs",
    "count_params",
    "fixed_space",
    "format_token",
    "from_block_string",
    "get_space",
    "list_spaces",
    "make_divisible",
    "parse_token",
    "reference_arch",
    "reference_spaces",
    "register_space",
    "scale_filters",
    "space_from_json",
    "to_block_string",
    "width_choices",
]
