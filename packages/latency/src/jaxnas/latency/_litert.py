"""The ``litert`` backend: ops and networks as float32 TFLite models, timed by LiteRT.

Each op is written with ``tf.nn`` ops on constant weights inside a
``tf.function`` with BN already folded into the convolutions (as any deployed
TFLite model has it), converted with ``tf.lite.TFLiteConverter`` (which fuses
ReLU/ReLU6 into the convolutions and recognises hard-swish), and run by
``ai_edge_litert.interpreter.Interpreter`` with XNNPACK (its default CPU
delegate), one thread, batch 1. Whole networks are the same ops chained in one
model, so a table entry and a network differ only in what is measured.

Shape letters: B batch, H, W spatial size, C channels, E expansion width.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
from jaxnas.latency._host import host_provenance, l2_cache_bytes, versions
from jaxnas.latency._signatures import signature_key
from jaxnas.latency._table import Timing, check_statistic
from jaxnas.latency._timing import time_callable
from jaxnas.searchspace import ConcreteOp


def _tf():
    # Keep TensorFlow's C++ start-up chatter out of progress bars.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def input_shape(ops: Sequence[ConcreteOp], batch: int = 1) -> tuple:
    """``[B, H, W, C]`` input of a chain of ops (``[B, C]`` if it starts with the classifier)."""
    first = ops[0]
    if first.kind == "dense":
        return (batch, first.in_channels)
    return (batch, first.in_h, first.in_w, first.in_channels)


def tf_forward(ops: Sequence[ConcreteOp], seed: int = 0):
    """``x -> y`` applying ``ops`` in order with TF ops and fixed random weights."""
    tf = _tf()
    rng = np.random.default_rng(seed)

    def weight(*shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / max(1, fan_in))).astype(np.float32)

    def bias(n):
        return (0.01 * rng.standard_normal(n)).astype(np.float32)

    def act(x, name):
        if name == "relu":
            return tf.nn.relu(x)
        if name == "relu6":
            return tf.nn.relu6(x)
        if name == "hswish":
            return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        if name == "sigmoid":
            return tf.sigmoid(x)
        return x

    def conv(x, k, cin, cout, stride=1):  # BN folded: conv + bias
        y = tf.nn.conv2d(x, weight(k, k, cin, cout, fan_in=k * k * cin), stride, "SAME")
        return y + bias(cout)

    def depthwise(x, k, c, stride):
        w = weight(k, k, c, 1, fan_in=k * k)
        return tf.nn.depthwise_conv2d(x, w, [1, stride, stride, 1], "SAME") + bias(c)

    def squeeze_excite(x, e, se):
        s = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
        s = tf.nn.relu(conv(s, 1, e, se))
        return x * tf.sigmoid(conv(s, 1, se, e))

    def layer(x, op: ConcreteOp):
        if op.kind == "pool":
            return tf.reduce_mean(x, axis=[1, 2])
        if op.kind == "dense":
            return tf.matmul(x, weight(op.in_channels, op.out_channels, fan_in=op.in_channels)) + bias(
                op.out_channels)
        if op.kind == "conv":
            y = act(conv(x, op.kernel, op.in_channels, op.out_channels, op.stride), op.activation)
        elif op.kind == "sepconv":
            y = act(depthwise(x, op.kernel, op.in_channels, op.stride), op.activation)
            y = conv(y, 1, op.in_channels, op.out_channels)
        elif op.kind == "bottleneck":
            e = op.expansion_channels
            y = act(conv(x, 1, op.in_channels, e), op.activation)
            y = act(depthwise(y, op.kernel, e, op.stride), op.activation)
            if op.se_channels:
                y = squeeze_excite(y, e, op.se_channels)
            y = conv(y, 1, e, op.out_channels)
        else:
            raise ValueError(f"op kind {op.kind!r}: the litert backend builds conv, sepconv, "
                             "bottleneck, pool and dense")
        return y + x if op.residual else y

    layers = list(ops)

    def forward(x):
        for op in layers:
            x = layer(x, op)
        return x

    return forward


def tflite_model(ops: Sequence[ConcreteOp], batch: int = 1, seed: int = 0) -> bytes:
    """A float32 TFLite flatbuffer running ``ops`` in order on a ``[B, H, W, C]`` input."""
    if not ops:
        raise ValueError("tflite_model: needs at least one op")
    tf = _tf()
    fn = tf.function(tf_forward(ops, seed),
                     input_signature=[tf.TensorSpec(input_shape(ops, batch), tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    return converter.convert()


class LiteRTBackend:
    """Times TFLite models with the LiteRT interpreter (XNNPACK).

    Args:
      threads: interpreter threads (1 = the TuNAS / mobile single-core setting).
      runs: at least this many timed ``invoke()`` calls (after ``warmup``) per round.
      rounds: rounds of ``runs`` calls; the round with the lowest median is kept
        (other processes only add time; see :func:`time_callable`).
      warmup: untimed calls first (XNNPACK packs weights on the first run).
      min_time_s: keep timing fast ops until this much time has passed.
      batch: input batch.
      cache_dir: where converted models are kept (by op signature or network
        hash) so a re-run or an export does not convert again; None = no cache.
      flush_bytes: before every timed run of a single op, rewrite a buffer of
        this many bytes and then the op's input, so that the op finds its
        weights evicted from the core's own caches but its input freshly
        written, as inside a network (where the previous op just wrote it and
        the other ops' weights went through the caches since its last run).
        Default (None): 4 x the level-2 cache (2 MiB on this project's CPU),
        which evicts the private L2 but little of a shared L3; 0 = off. Without
        it, an op timed alone keeps its working set in L2 whenever no other
        process evicts it, so how fast it looks depends on the machine's
        load; on 40 networks at load 3-4 the flush raised the mean sum of
        ops / whole network from 0.963 to 0.977. Flushing 8 MiB (half the
        shared L3) overshoots (1.06): ops then read from memory weights that a
        network finds in L3. Whole networks are never flushed.
      statistic: which number of the timed runs is the latency, and which the
        rounds are compared by: ``p10`` (default) or ``median``. Other
        processes only add time, and a whole network (tens of ms, many
        scheduler time slices) is hit more often than a sub-millisecond op, so
        a low percentile is the more load-robust estimate: two measurements of
        the same 24 networks at load ~4 differed by 3.1 % (p10 of all runs)
        vs 3.9 % (lowest round median) on average. The round with the lowest
        p10 is kept. Recorded as the table's
        ``provenance["statistic"]``; validation measures networks by it.
      clock: ``cpu`` (thread CPU time, the default with 1 thread: the
        interpreter then computes in the calling thread, and CPU time leaves
        out the time spent waiting for a core while other processes run) or
        ``wall``.
    """

    name = "litert"
    dtype = "float32"

    def __init__(self, threads: int = 1, runs: int = 20, rounds: int = 3, warmup: int = 5,
                 min_time_s: float = 0.1, batch: int = 1, cache_dir: str | None = None,
                 flush_bytes: int | None = None, clock: str | None = None, statistic: str = "p10"):
        for field, value in (("threads", threads), ("runs", runs), ("rounds", rounds), ("batch", batch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"litert backend: {field} must be a positive int, got {value!r}")
        if runs < 20:
            raise ValueError(f"litert backend: runs must be >= 20 for a stable median, got {runs}")
        self.threads, self.runs, self.rounds, self.warmup = threads, runs, rounds, warmup
        self.min_time_s, self.batch, self.cache_dir = min_time_s, batch, cache_dir
        if flush_bytes is None:
            flush_bytes = 4 * l2_cache_bytes()
        if isinstance(flush_bytes, bool) or not isinstance(flush_bytes, int) or flush_bytes < 0:
            raise ValueError(f"litert backend: flush_bytes must be an int >= 0 (0 = off, default 4 x L2), "
                             f"got {flush_bytes!r}")
        self.flush_bytes = flush_bytes
        try:
            self.statistic = check_statistic(statistic)
        except ValueError as e:
            raise ValueError(f"litert backend: {e}") from None
        self._flush = np.zeros(self.flush_bytes // 4, dtype=np.float32) if self.flush_bytes > 0 else None
        self.clock = clock or ("cpu" if threads == 1 else "wall")
        if self.clock not in ("cpu", "wall"):
            raise ValueError(f"litert backend: clock must be 'cpu' or 'wall', got {clock!r}")
        if self.clock == "cpu" and threads != 1:
            raise ValueError("litert backend: clock='cpu' times the calling thread only; use it with "
                             "threads=1, or clock='wall'")

    def provenance(self) -> dict:
        tf = _tf()
        return {**host_provenance(), "backend": self.name,
                "runtime": "ai-edge-litert Interpreter, XNNPACK delegate (default), float32",
                "threads": self.threads, "batch": self.batch, "dtype": self.dtype,
                "runs_min": self.runs, "rounds": self.rounds, "warmup": self.warmup, "clock": self.clock,
                "flush_bytes_before_op_runs": self.flush_bytes, "statistic": self.statistic,
                "versions": {**versions("ai-edge-litert", "tensorflow-cpu"), "tensorflow": tf.__version__}}

    def model(self, ops: Sequence[ConcreteOp]) -> bytes:
        """The TFLite bytes of ``ops`` (read from / written to ``cache_dir`` when set)."""
        if self.cache_dir is None:
            return tflite_model(ops, self.batch)
        keys = [signature_key(op, self.dtype, self.batch) for op in ops]
        name = keys[0] if len(keys) == 1 else "net_" + hashlib.sha1("|".join(keys).encode()).hexdigest()[:16]
        path = os.path.join(self.cache_dir, name + ".tflite")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return f.read()
        data = tflite_model(ops, self.batch)
        os.makedirs(self.cache_dir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return data

    def measure(self, ops: Sequence[ConcreteOp]) -> Timing:
        return self.measure_model(self.model(ops), flush=len(ops) == 1)

    def measure_model(self, model: bytes, flush: bool = False) -> Timing:
        """Times one TFLite flatbuffer (``flush``: evict caches, then rewrite the input, before every timed run)."""
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=model, num_threads=self.threads)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        x = np.random.default_rng(0).standard_normal(detail["shape"]).astype(np.float32)
        interpreter.set_tensor(detail["index"], x)
        between = None
        if flush and self._flush is not None:
            def between():
                self._flush += 1.0  # reads and writes every cache line of the buffer
                interpreter.set_tensor(detail["index"], x)  # the input is hot, as a previous op left it

        return time_callable(interpreter.invoke, self.runs, self.warmup, self.min_time_s, clock=self.clock,
                             between=between, rounds=self.rounds, statistic=self.statistic)
