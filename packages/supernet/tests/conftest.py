"""A tiny space that exercises every supernet feature at a small compile cost.

XLA:CPU compiles a full 224-px network slowly on a shared 2-core machine, so
most tests run this space at 32 px; the reference spaces are only shape-checked.
"""

import pytest
from jaxnas.supernet import configure_xla

# Before any jax computation: the shared place that sets the flag remat needs on CPU.
configure_xla()

import chex
import jax
import jax.numpy as jnp
from jaxnas.searchspace import (
    Activation,
    Block,
    Bottleneck,
    Conv,
    Endpoint,
    GlobalPool,
    OneOf,
    Residual,
    SepConv,
    Space,
    Zero,
)
from jaxnas.supernet import SuperNet


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


@pytest.fixture
def on_cpu():
    """Runs a test on the CPU device: the C++ kernels are XLA:CPU handlers, also in a GPU process."""
    with jax.default_device(jax.devices("cpu")[0]):
        yield


@pytest.fixture(scope="session")
def tiny_space() -> Space:
    return make_tiny_space()


IMAGES = (4, 16, 16, 3)  # batch, height, width, channels of every supernet test


class Tiny:
    """One supernet of the tiny space with compiled functions shared by the tests."""

    def __init__(self, remat: bool, aggressive: bool = True, skip_unused: bool = True):
        self.space = make_tiny_space()
        self.net = SuperNet(self.space, num_classes=5, remat=remat, aggressive_sharing=aggressive,
                            skip_unused=skip_unused)
        self.images = jax.random.normal(jax.random.PRNGKey(0), IMAGES)
        self.params, self.state = self.net.init(jax.random.PRNGKey(1), self.images)

        def forward(params, arch):
            return self.net.apply(params, self.state, self.images, arch)[0]

        def loss(params, arch, rng, op_warmup, filter_warmup):
            out, _ = self.net.apply(params, self.state, self.images, arch, rng, op_warmup, filter_warmup)
            return jnp.mean(jnp.square(out.logits - 1.0)) + out.l2_loss

        def step(params, arch, rng, op_warmup, filter_warmup):
            return jax.value_and_grad(loss)(params, arch, rng, op_warmup, filter_warmup)

        self.forward = jax.jit(forward)
        # One trace for every architecture and warmup probability (architectures are data).
        self.step = jax.jit(chex.assert_max_traces(step, n=1))


@pytest.fixture(scope="session")
def tiny():
    chex.clear_trace_counter()
    # remat and lax.cond skipping together; compared with plain autodiff without skipping.
    return Tiny(remat=True, skip_unused=True)


@pytest.fixture(scope="session")
def tiny_no_remat():
    return Tiny(remat=False, skip_unused=False)


@pytest.fixture(scope="session")
def make_tiny():
    """The :class:`Tiny` factory (test modules cannot import conftest under importlib mode)."""
    return Tiny
