"""ssdlite_head_ops lists exactly the layers SSDLiteHead builds (shapes and parameter counts)."""

import haiku as hk
import jax
import jax.numpy as jnp
import pytest
from jaxnas.detection import SSDLiteHead, ssdlite_head_ops


def _params(op):
    """Parameters of a HeadOp as the Haiku head holds them (predictor 1x1 with a bias, no BN)."""
    c, o, e, k2 = op.in_channels, op.out_channels, op.expansion_channels, op.kernel**2
    if op.kind == "sepconv":
        return k2 * c + 2 * c + c * o + o
    return c * e + 2 * e + k2 * e + 2 * e + e * o + 2 * o


@pytest.mark.parametrize("size, c4, c5", [(320, 112, 160), (64, 24, 40)])
def test_ops_match_the_haiku_head(size, c4, c5):
    num_classes = 6
    feats = {"C4": jnp.zeros((1, size // 16, size // 16, c4)), "C5": jnp.zeros((1, size // 32, size // 32, c5))}
    f = hk.transform_with_state(lambda e: SSDLiteHead(num_classes)(e, True))
    params, _ = jax.eval_shape(f.init, jax.random.PRNGKey(0), feats)
    ops = ssdlite_head_ops(feats["C4"].shape[1:], feats["C5"].shape[1:], num_classes)
    assert [op.name for op in ops][:4] == ["extra_0", "extra_1", "extra_2", "extra_3"]
    assert sum(_params(op) for op in ops) == sum(x.size for x in jax.tree_util.tree_leaves(params))
    for op in ops:
        if op.kind == "sepconv":
            assert params[f"ssd_lite_head/{op.name}_1x1"]["w"].shape == (1, 1, op.in_channels, op.out_channels)
            (dw,) = [v["w"] for k, v in params.items() if k.endswith(f"/{op.name}_dw")]
            assert dw.shape == (3, 3, op.in_channels)
    if size == 320:  # the last extra layer maps 2 x 2 to 1 x 1
        assert (ops[3].in_h, ops[-1].in_h) == (2, 1)
    assert set(ops[0].op_kwargs()) == set(ops[0]._fields) - {"name"}


@pytest.mark.parametrize("kwargs, text", [
    ({"c4": (20, 20), "c5": (10, 10, 8), "num_classes": 3}, "c4 must be (height, width, channels)"),
    ({"c4": (20, 20, 8), "c5": (10, 10, 0), "num_classes": 3}, "c5 must be positive"),
    ({"c4": (20, 20, 8), "c5": (10, 10, 8), "num_classes": 0}, "num_classes must be a positive int"),
    ({"c4": (20, 20, 8), "c5": (10, 10, 8), "num_classes": 3, "anchors_per_location": (3, 6)}, "needs 6 entries"),
])
def test_bad_arguments_are_named(kwargs, text):
    with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
        ssdlite_head_ops(**kwargs)
