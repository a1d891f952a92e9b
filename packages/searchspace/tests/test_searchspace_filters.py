import pytest

from jaxnas.searchspace import make_divisible, scale_filters


@pytest.mark.parametrize("args, expected", [
    ((32, 1 / 4, 8), 8), ((64, 1 / 3, 8), 24), ((68, 1.2, 8), 80), ((16, 6.0, 8), 96),
    ((80, 2.3, 8), 184), ((80, 2.5, 8), 200), ((1, 0.1, 8), 8), ((16, 0.625, 8), 8), ((16, 0.75, 8), 16),
])
def test_scale_filters(args, expected):
    assert scale_filters(*args) == expected


@pytest.mark.parametrize("args, expected", [
    ((18, 8), 24), ((1025, 8), 1024), ((30, 8), 32), ((120, 8), 120), ((3, 8), 8), ((9.5, 8), 16),
])
def test_make_divisible(args, expected):
    assert make_divisible(*args) == expected


def test_make_divisible_never_rounds_below_ninety_percent():
    for v in range(1, 400):
        assert make_divisible(v, 8) >= 0.9 * v


def test_bad_bases_are_rejected():
    with pytest.raises(ValueError, match="base must be positive"):
        scale_filters(32, 1.0, 0)
    with pytest.raises(ValueError, match="divisor must be positive"):
        make_divisible(32, 0)
