"""Channel-rounding rules shared by every space (TuNAS / MobileNet conventions).

Both functions work on Python numbers and return ints; they are the only place in
jaxnas where a width is rounded, so the supernet, the latency tables and the
parameter counts cannot disagree about a channel count.
"""

from __future__ import annotations

import math


def scale_filters(filters: float, multiplier: float, base: int = 8) -> int:
    """Scales a width by ``multiplier`` and rounds to a multiple of ``base``.

    ``max(base, base * floor(filters * multiplier / base + 0.5))``: this is how
    TuNAS turns an expansion ratio (or a width multiplier) into channels.

    Args:
      filters: the width to scale (e.g. a layer's input channels).
      multiplier: the ratio (e.g. an expansion ratio of 6.0).
      base: the rounding granularity.

    Returns:
      The scaled width, a positive multiple of ``base``.

    >>> scale_filters(32, 1 / 4, 8), scale_filters(64, 1 / 3, 8), scale_filters(68, 1.2, 8)
    (8, 24, 80)
    """
    if base <= 0:
        raise ValueError(f"scale_filters: base must be positive, got {base}")
    return int(max(base, base * math.floor(filters * multiplier / base + 0.5)))


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds ``value`` to the nearest multiple of ``divisor`` (MobileNetV3 rule).

    ``max(divisor, floor((value + divisor / 2) / divisor) * divisor)``, plus one
    ``divisor`` if that went below 90% of ``value``. Used for squeeze-excite widths.

    >>> make_divisible(18, 8), make_divisible(1025, 8), make_divisible(30, 8)
    (24, 1024, 32)
    """
    if divisor <= 0:
        raise ValueError(f"make_divisible: divisor must be positive, got {divisor}")
    rounded = max(divisor, int(math.floor((value + divisor / 2) / divisor)) * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)
