"""The SSDLite detection head as a :class:`Head`, and the head names the command line knows.

The head's layers come from ``jaxnas.detection.ssdlite_head_ops`` (plain records, no search
types); this module turns them into ``ConcreteOp``s. jaxnas-detection is imported only when an
SSDLite head is built (it imports jax), so ``jaxnas.latency`` itself stays jax-free.
"""

from __future__ import annotations

import numbers

from jaxnas.latency._heads import Head
from jaxnas.searchspace import ConcreteOp


def ssdlite_head(num_classes: int, extra_depths=None) -> Head:
    """The SSDLite head on C4/C5 for ``num_classes`` object classes.

    Args:
      num_classes: ``K`` object classes (the class predictors' widths depend on them).
      extra_depths: the extra layers' widths (default SSDLite's ``(512, 256, 256, 128)``).

    Returns:
      A :class:`Head` named ``ssdlite_k{K}`` (``_x{d1}-{d2}...`` appended for other extra layers).

    Raises:
      ValueError: a bad class count, or jaxnas-detection is not installed (bad ``extra_depths``:
        when the head's ops are listed).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"ssdlite head: num_classes must be a positive int, got {num_classes!r}")
    num_classes = int(num_classes)
    try:
        from jaxnas.detection import DEFAULT_EXTRA_DEPTHS, ssdlite_head_ops
    except ImportError as e:
        raise ValueError(f"the ssdlite head needs jaxnas-detection ({e}); pip install jaxnas-detection "
                         "(or jaxnas-latency[detection])") from e
    extra_depths = tuple(DEFAULT_EXTRA_DEPTHS if extra_depths is None else extra_depths)

    def ops(shapes):
        return [ConcreteOp(**op.op_kwargs())
                for op in ssdlite_head_ops(shapes["C4"], shapes["C5"], num_classes, extra_depths)]

    name = f"ssdlite_k{num_classes}" + ("" if extra_depths == DEFAULT_EXTRA_DEPTHS else
                                        "_x" + "-".join(map(str, extra_depths)))
    return Head(name, ("C4", "C5"), ops)


HEADS = {"ssdlite": ssdlite_head}


def get_head(name: str, num_classes: int, extra_depths=None) -> Head:
    """The head ``name`` (one of :data:`HEADS`) for ``num_classes`` classes.

    Raises:
      ValueError: an unknown name (the message lists the known ones), or the head's own errors.
    """
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose one of {sorted(HEADS)}")
    return HEADS[name](num_classes, extra_depths)
