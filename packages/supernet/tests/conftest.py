"""A tiny space that exercises every supernet feature at a small compile cost.

XLA:CPU compiles a full 224-px network slowly on a shared 2-core machine, so
most tests run this space at 32 px; the reference spaces are only shape-checked.
"""

import pytest

from jaxnas.searchspace import (Activation, Block, Bottleneck, Conv, Endpoint, GlobalPool, OneOf, Residual,
                                SepConv, Space, Zero)


def make_tiny_space() -> Space:
    def bneck(stride, act):
        return Bottleneck(kernel=OneOf((3, 5), "op"), expansion=OneOf((1.0, 3.0), "filters"),
                          se=OneOf((False, True), "op"), stride=stride, activation=act)

    blocks = [
        Block([Conv(OneOf((3, 5), "op"), 2), Activation("hswish"),
               Residual(OneOf((SepConv(OneOf((3, 5), "op"), 1, "relu"), Zero()), "op")), Endpoint()],
              OneOf((8, 16), "filters")),
        Block([OneOf((bneck(2, "relu"),), "op"), Residual(OneOf((bneck(1, "hswish"), Zero()), "op"))],
              OneOf((16, 24), "filters")),
        Block([OneOf((SepConv(3, 2, "relu"), SepConv(5, 2, "relu")), "op"), Endpoint()], 24),
        Block([Conv(1, 1), Activation("relu"), GlobalPool()], OneOf((32, 48), "filters")),
        Block([Conv(1, 1, use_bn=False), Activation("hswish")], 40),
    ]
    return Space("tiny_supernet_test", tuple(blocks), 8)


@pytest.fixture(scope="session")
def tiny_space() -> Space:
    return make_tiny_space()
