"""The ``xla`` backend: ops compiled by jax on the default device (GPU/TPU targets).

Each op (or whole network) is a jitted jax function of its input with random
weights passed as arguments (so XLA cannot constant-fold them); a timed call
ends with ``block_until_ready``. On CPU, XLA fuses across ops and its
depthwise kernels are slow, so prefer ``litert`` for CPU and mobile tables.

Shape letters: B batch, H, W spatial size, C channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxnas.latency._host import host_provenance, versions
from jaxnas.latency._litert import input_shape
from jaxnas.latency._table import Timing
from jaxnas.latency._timing import time_callable
from jaxnas.searchspace import ConcreteOp


def _weights(ops: Sequence[ConcreteOp], seed: int = 0) -> list:
    """Per-op lists of float32 arrays (BN folded into a bias, as for inference)."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / max(1, int(np.prod(shape[:-1]))))).astype(np.float32)

    out = []
    for op in ops:
        cin, cout, k, e = op.in_channels, op.out_channels, op.kernel, op.expansion_channels
        if op.kind == "conv":
            out.append([w(k, k, cin, cout), w(cout)])
        elif op.kind == "sepconv":
            out.append([w(k, k, 1, cin), w(cin), w(1, 1, cin, cout), w(cout)])
        elif op.kind == "bottleneck":
            ws = [w(1, 1, cin, e), w(e), w(k, k, 1, e), w(e), w(1, 1, e, cout), w(cout)]
            if op.se_channels:
                ws += [w(e, op.se_channels), w(op.se_channels), w(op.se_channels, e), w(e)]
            out.append(ws)
        elif op.kind == "dense":
            out.append([w(cin, cout), w(cout)])
        else:
            out.append([])
    return out


def jax_forward(ops: Sequence[ConcreteOp]):
    """``(x, weights) -> y`` applying ``ops`` in order (NHWC, SAME padding)."""
    import jax
    import jax.numpy as jnp

    def conv(x, w, b, stride=1, groups=1):
        y = jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME", feature_group_count=groups,
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + b

    acts = {"relu": jax.nn.relu, "relu6": jax.nn.relu6, "hswish": jax.nn.hard_swish,
            "sigmoid": jax.nn.sigmoid, "none": lambda x: x}

    def layer(x, op, ws):
        act = acts[op.activation]
        if op.kind == "pool":
            return jnp.mean(x, axis=(1, 2))
        if op.kind == "dense":
            return x @ ws[0] + ws[1]
        if op.kind == "conv":
            y = act(conv(x, ws[0], ws[1], op.stride))
        elif op.kind == "sepconv":
            y = act(conv(x, ws[0], ws[1], op.stride, op.in_channels))
            y = conv(y, ws[2], ws[3])
        else:
            y = act(conv(x, ws[0], ws[1]))
            y = act(conv(y, ws[2], ws[3], op.stride, op.expansion_channels))
            if op.se_channels:
                s = jax.nn.relu(jnp.mean(y, axis=(1, 2)) @ ws[6] + ws[7])
                y = y * jax.nn.sigmoid(s @ ws[8] + ws[9])[:, None, None, :]
            y = conv(y, ws[4], ws[5])
        return y + x if op.residual else y

    def forward(x, weights):
        for op, ws in zip(ops, weights):
            x = layer(x, op, ws)
        return x

    return forward


class XLABackend:
    """Times jitted jax functions on ``jax.devices()[0]``.

    Args:
      runs: at least this many timed calls after ``warmup`` (compilation is not timed).
      warmup: untimed calls.
      min_time_s: keep timing fast ops until this much time has passed.
      batch: input batch.
    """

    name = "xla"
    dtype = "float32"

    def __init__(self, runs: int = 20, warmup: int = 3, min_time_s: float = 0.1, batch: int = 1):
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 20:
            raise ValueError(f"xla backend: runs must be an int >= 20, got {runs!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"xla backend: batch must be a positive int, got {batch!r}")
        self.runs, self.warmup, self.min_time_s, self.batch = runs, warmup, min_time_s, batch

    def provenance(self) -> dict:
        import jax

        device = jax.devices()[0]
        return {**host_provenance(), "backend": self.name, "runtime": f"jax/XLA on {device.platform}",
                "accelerator": getattr(device, "device_kind", str(device)), "threads": None,
                "batch": self.batch, "dtype": self.dtype, "runs_min": self.runs, "clock": "wall",
                "versions": {**versions("jax", "jaxlib")}}

    def measure(self, ops: Sequence[ConcreteOp]) -> Timing:
        import jax

        fn = jax.jit(jax_forward(list(ops)))
        weights = jax.device_put(_weights(ops))
        x = jax.device_put(np.random.default_rng(0).standard_normal(input_shape(ops, self.batch))
                           .astype(np.float32))
        return time_callable(lambda: fn(x, weights).block_until_ready(), self.runs, self.warmup,
                             self.min_time_s)
