"""A minimal shared-weights training step (the benchmarks' and a reference for apps).

Shape letters: B = batch, H, W = image size, D = decisions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def supernet_loss(supernet, params, state, images, labels, arch, rng=None, op_warmup=0.0, filter_warmup=0.0):
    """Softmax cross-entropy + the used-kernel L2 of one supernet pass; returns ``(loss, output)``.

    Args:
      supernet: a :class:`jaxnas.supernet.SuperNet`.
      params, state: its parameters and (empty) state.
      images: ``[B, H, W, C]``; labels: ``int[B]``.
      arch: ``int32[D]``; rng, op_warmup, filter_warmup: as for ``SuperNet.apply``.
    """
    out, _ = supernet.apply(params, state, images, arch, rng, op_warmup, filter_warmup)
    logp = jax.nn.log_softmax(out.logits)
    ce = -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))
    return ce + out.l2_loss, out


def make_sgd_step(supernet, learning_rate: float = 0.1):
    """``step(params, images, labels, arch, rng, op_warmup, filter_warmup) -> (params, loss)``.

    Plain SGD on the shared weights (jit it yourself; ``arch`` and the warmup
    probabilities are traced arguments, so one compilation serves every step).

    >>> import jax, jax.numpy as jnp
    >>> from jaxnas.supernet import SuperNet
    >>> from jaxnas.searchspace import Activation, Block, Conv, GlobalPool, OneOf, Space
    >>> space = Space("doc_step", (Block([Conv(OneOf((3, 5)), 2), Activation("relu"), GlobalPool()],
    ...                                  OneOf((8, 16), "filters")),))
    >>> net = SuperNet(space, num_classes=3)
    >>> params, _ = net.init(jax.random.PRNGKey(0))
    >>> step = jax.jit(make_sgd_step(net))
    >>> params, loss = step(params, jnp.ones((2, 8, 8, 3)), jnp.zeros(2, jnp.int32), jnp.array([1, 0]),
    ...                     jax.random.PRNGKey(1), 1.0, 1.0)
    >>> bool(jnp.isfinite(loss))
    True
    """
    def step(params, images, labels, arch, rng, op_warmup, filter_warmup):
        def loss_fn(p):
            return supernet_loss(supernet, p, {}, images, labels, arch, rng, op_warmup, filter_warmup)[0]

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss

    return step
