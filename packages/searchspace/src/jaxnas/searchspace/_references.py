"""Published reference networks as named points of the spaces.

``reference_arch("proxylessnas_mobile")`` is the TuNAS index string of
ProxylessNAS-Mobile in ``proxylessnas``; ``reference_arch("mobilenet_v2",
"proxylessnas_enlarged")`` is MobileNetV2 1.0 in the enlarged space. Every
reference also has a fixed space of its own name, where its string is empty.
"""

from __future__ import annotations

import functools

from jaxnas.searchspace._blockstring import from_block_string
from jaxnas.searchspace._spaces import (MNASNET_B1_BLOCKS, MOBILENET_V2_BLOCKS, PROXYLESSNAS_MOBILE_BLOCKS,
                                        get_space)

# The index string of ProxylessNAS-Mobile as written by the TuNAS reference code.
PROXYLESSNAS_MOBILE_TUNAS = (
    "0:0:0:1:0:0:0:0:0:0:0:1:0:0:1:0:2:0:0:0:0:0:1:0:0:1:0:0:0:2:1:0:1:0:0:1:0:0:1:0:0:0:1:1:0:"
    "1:0:0:1:0:0:1:0:0:0:2:1:0:2:1:0:2:0:0:2:0:0:0:2:1:0:0:0")

# name -> (block string in the ProxylessNAS skeleton, searchable spaces that contain it)
_IN_PROXYLESS_SKELETON = {
    "proxylessnas_mobile": (PROXYLESSNAS_MOBILE_BLOCKS, ("proxylessnas", "proxylessnas_enlarged")),
    "mobilenet_v2": (MOBILENET_V2_BLOCKS, ("proxylessnas_enlarged",)),
    "mnasnet_b1": (MNASNET_B1_BLOCKS, ("proxylessnas_enlarged",)),
}
REFERENCE_NAMES = ("mobilenet_v2", "mnasnet_b1", "proxylessnas_mobile", "mobilenet_v3_large")


def _pad_skips(space, text: str) -> str:
    """Fills each block of ``text`` with ``skip`` tokens up to the space's layer count."""
    counts = [0] * len(space.blocks)
    for pos in space.positions:
        if pos.kind != "dense":
            counts[pos.block] += 1
    blocks = [b.split() for b in text.split("|")]
    return " | ".join(" ".join(b[:-1] + ["skip"] * (n - len(b)) + b[-1:]) if b and b[-1] == "pool"
                      else " ".join(b + ["skip"] * (n - len(b))) for b, n in zip(blocks, counts))


def reference_spaces(name: str) -> tuple[str, ...]:
    """The spaces that contain reference network ``name`` (its fixed space first)."""
    if name not in REFERENCE_NAMES:
        raise ValueError(f"unknown reference network {name!r}; known: {', '.join(REFERENCE_NAMES)}")
    return (name,) + _IN_PROXYLESS_SKELETON.get(name, (None, ()))[1]


@functools.lru_cache(maxsize=None)
def reference_arch(name: str, space: str | None = None) -> str:
    """The architecture string of reference network ``name`` in ``space``.

    Args:
      name: one of ``mobilenet_v2``, ``mnasnet_b1``, ``proxylessnas_mobile``,
        ``mobilenet_v3_large``.
      space: a space containing it; default: the first searchable one, else its
        own fixed space (where the string is empty: no decisions).

    >>> reference_arch("proxylessnas_mobile") == PROXYLESSNAS_MOBILE_TUNAS
    True
    """
    spaces = reference_spaces(name)
    if space is None:
        space = spaces[1] if len(spaces) > 1 else spaces[0]
    if space not in spaces:
        raise ValueError(f"reference {name!r} is not a point of space {space!r}; it is in: {', '.join(spaces)}")
    target = get_space(space)
    if space == name:
        return ""
    blocks = _IN_PROXYLESS_SKELETON[name][0]
    return target.format(from_block_string(target, _pad_skips(target, blocks)))
