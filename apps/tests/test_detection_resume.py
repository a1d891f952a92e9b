"""An interrupted detection search resumed from its checkpoint ends exactly like an uninterrupted one.

A toy backbone (strided convs, C5 width gated by the architecture) stands in for the supernet: the
test checks the driver's mechanics with the detection task (SSDLite head, focal loss, jittable mAP
reward), not the network. Runs in-process: the interruption is an exception after a checkpoint.
"""

import haiku as hk
import jax
import jax.numpy as jnp
import pytest
from jaxnas.apps._config import apply_overrides, load_config
from jaxnas.apps._metrics import read_metrics
from jaxnas.apps.detection import BackboneFns, search

TIMING = ("train_img_per_s", "search_seconds")


def toy_backbone(num_decisions: int) -> BackboneFns:
    net = hk.without_apply_rng(hk.transform(lambda x: _toy(x)))

    def _toy(x):
        for width in (8, 8, 8, 16):
            x = jax.nn.relu(hk.Conv2D(width, 3, stride=2)(x))
        return {"C4": x, "C5": jax.nn.relu(hk.Conv2D(24, 3, stride=2)(x))}

    def apply(params, images, arch, key, op_p, filter_p):
        eps = net.apply(params, images)
        mask = (jnp.arange(24) < 12 + 12 * (arch[-2] % 2)).astype(eps["C5"].dtype)
        noise = 0.1 * op_p + 0.1 * filter_p
        if key is not None:  # None while the task traces shapes at init
            noise = noise + jax.random.uniform(jax.random.wrap_key_data(key), ()) * 0.01
        l2 = sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(params))
        return {"C4": eps["C4"] * (1.0 + noise), "C5": eps["C5"] * mask}, l2

    def init(key, images):
        # Why level 0: XLA:CPU spends far longer optimising an init's random draws than running them.
        return jax.jit(net.init).lower(key, images).compile({"xla_backend_optimization_level": 0})(key, images)

    return BackboneFns(init, apply, num_decisions)


class Interrupted(Exception):
    pass


def _stop_at(step):
    def on_step(s):
        if s == step:
            raise Interrupted(s)
    return on_step


@pytest.fixture
def compilation_cache(tmp_path):
    """Why: the three runs compile the same step; a persistent cache compiles it once (test time)."""
    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes")
    from jax.experimental.compilation_cache import compilation_cache
    old = {n: getattr(jax.config, n) for n in names}
    jax.config.update(names[0], str(tmp_path / "xla_cache"))
    jax.config.update(names[1], 0.0)
    jax.config.update(names[2], 0)
    compilation_cache.reset_cache()  # an earlier test in this process may have settled "no cache"
    yield
    for n, v in old.items():
        jax.config.update(n, v)
    compilation_cache.reset_cache()


def test_interrupted_detection_search_resumes_bit_exactly(tmp_path, data_dir, compilation_cache):
    config = apply_overrides(load_config("search_detection_tiny"), [f"data.data_dir={data_dir!r}"])
    backbone = toy_backbone(15)  # detection_nano's decisions
    full = search(config, str(tmp_path / "full"), progress=False, backbone=backbone)
    work = str(tmp_path / "cut")
    with pytest.raises(Interrupted):
        search(config, work, progress=False, backbone=backbone, on_step=_stop_at(3))  # checkpoint 2 is saved
    assert [r["step"] for r in read_metrics(work)] == [2]
    resumed = search(config, work, resume=True, progress=False, backbone=backbone)
    assert {k: v for k, v in resumed.items() if k not in TIMING} == {k: v for k, v in full.items() if k not in TIMING}
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING} for r in rows]
    assert strip(read_metrics(work)) == strip(read_metrics(str(tmp_path / "full")))
