import pytest

from jaxnas.searchspace import (Activation, Block, Bottleneck, Conv, Endpoint, GlobalPool, OneOf, Residual,
                                SepConv, Space, Zero)
from jaxnas.searchspace._specs import spec_from_dict, spec_to_dict


def test_specs_are_frozen_hashable_and_comparable():
    a = Bottleneck(kernel=OneOf([3, 5], "op"), expansion=OneOf([3, 6], "filters"))
    b = Bottleneck(kernel=OneOf((3, 5), "op"), expansion=OneOf((3.0, 6.0), "filters"))
    assert a == b and hash(a) == hash(b)
    with pytest.raises(Exception):
        a.stride = 2


@pytest.mark.parametrize("make, message", [
    (lambda: OneOf([], "op"), "OneOf.choices: needs at least one choice"),
    (lambda: OneOf([3, 5], "size"), "OneOf.tag: expected one of"),
    (lambda: OneOf([3, 3], "op"), "OneOf.choices: choices must be distinct"),
    (lambda: Conv(kernel=4), "Conv.kernel: expected a positive odd int"),
    (lambda: Conv(kernel=OneOf([3, 4])), "Conv.kernel: .* got 4"),
    (lambda: Conv(stride=3), "Conv.stride: expected 1 or 2, got 3"),
    (lambda: SepConv(activation="gelu"), "SepConv.activation: expected one of"),
    (lambda: Bottleneck(expansion=-1.0), "Bottleneck.expansion: expected a positive ratio"),
    (lambda: Bottleneck(se=1), "Bottleneck.se: expected a bool"),
    (lambda: Residual(SepConv(stride=2)), "Residual.layer: a residual layer must have stride 1"),
    (lambda: Residual(Conv()), "Residual.layer: expected SepConv, Bottleneck, Zero"),
    (lambda: Block([], 8), "Block.layers: a block needs at least one layer"),
    (lambda: Block([Conv()], 0), "Block.width: expected a positive int"),
    (lambda: Block([Zero()], 8), r"Block.layers\[0\]: Zero may only appear as a choice inside Residual"),
    (lambda: Space("x", (Block([Conv()], 8),)), "expected exactly one GlobalPool"),
    (lambda: Space("x", (Block([Activation(), GlobalPool()], 8),)), "Activation must directly follow a Conv"),
    (lambda: Space("", (Block([GlobalPool()], 8),)), "Space.name: expected a non-empty string"),
    (lambda: Space("x", (Block([Conv(), GlobalPool()], 8),), filters_base=0), "Space.filters_base"),
])
def test_bad_specs_name_the_field(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_json_round_trip_of_every_layer_kind():
    block = Block([Conv(OneOf([3, 5]), 2), Activation("hswish"),
                   Residual(OneOf([SepConv(OneOf([3, 5])), Zero()])),
                   Residual(OneOf([Bottleneck(3, OneOf([1.0, 2.5], "filters"), OneOf([False, True])), Zero()])),
                   Endpoint(), GlobalPool()], OneOf([8, 16], "filters"))
    assert spec_from_dict(spec_to_dict(block)) == block


def test_json_errors():
    with pytest.raises(ValueError, match="unknown type 'Foo'"):
        spec_from_dict({"type": "Foo"})
    with pytest.raises(ValueError, match="bad fields for Conv"):
        spec_from_dict({"type": "Conv", "size": 3})
