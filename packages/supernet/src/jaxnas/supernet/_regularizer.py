"""The L2 penalty on conv kernels, in the TensorFlow convention the TuNAS reference trained with.

The reference builds ``tf.keras.regularizers.l2(weight_decay / 2)`` (to match the deprecated
``tf.contrib.layers.l2_regularizer(weight_decay)`` of its published runs), so with
``weight_decay = 4e-5`` the penalty is ``2e-5 * sum(w**2)`` and its gradient ``4e-5 * w``.
Every L2 term in jaxnas (search, stand-alone, detection) goes through :func:`l2_penalty`.
"""

from __future__ import annotations

WEIGHT_DECAY = 4e-5  # the reference's default in float32 (3e-5 when it searched in bfloat16)


def l2_penalty(sum_of_squares, weight_decay: float = WEIGHT_DECAY):
    """``weight_decay / 2 * sum_of_squares``: the gradient of the penalty is ``weight_decay * w``.

    Args:
      sum_of_squares: scalar ``sum(w**2)`` over the regularised kernels.
      weight_decay: the decay rate (the factor of ``w`` in the gradient).

    >>> float(l2_penalty(2.0, 4e-5))
    4e-05
    """
    return 0.5 * weight_decay * sum_of_squares
