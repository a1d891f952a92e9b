"""jax function -> float32 TFLite flatbuffer, shared by the classification and detection exports.

``jax2tf`` serialises the function as StableHLO inside one ``XlaCallModule`` op (its only mode in
jax 0.10: the deprecated ``native_serialization=False`` is accepted but ignored there) and
``tf.lite.TFLiteConverter`` legalises that StableHLO into builtin TFLite ops, the path the LiteRT
"convert JAX" guide takes. Networks meant for export use ``lax`` depthwise convolutions, which
become TFLite ``DEPTHWISE_CONV_2D`` (the C++ CPU kernels are custom calls the converter cannot read).
"""

from __future__ import annotations

from collections.abc import Callable


def jax_to_tflite(forward: Callable, input_shape: tuple) -> bytes:
    """The TFLite model of ``forward(x float32[input_shape]) -> array or tuple of arrays``.

    Outputs keep ``forward``'s order (a tuple's items are the model's outputs 0, 1, ...).
    """
    import tensorflow as tf
    from jax.experimental import jax2tf

    converted = jax2tf.convert(forward, with_gradient=False)
    fn = tf.function(converted, input_signature=[tf.TensorSpec(tuple(input_shape), tf.float32)], autograph=False)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    return converter.convert()
