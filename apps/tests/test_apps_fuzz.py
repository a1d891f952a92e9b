"""Fuzzed parsers of the apps: ``--config.KEY=VALUE`` overrides and checkpoint meta data.

Any input either works (a config whose every field keeps its declared kind; a restored
checkpoint) or raises the documented one-line ValueError/TypeError, never anything else.
"""

import dataclasses
import json

import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jaxnas.apps._checkpoint import CheckpointError, Checkpointer
from jaxnas.apps._config import apply_overrides, describe_config, load_config

CONFIGS = ["search_tiny", "train_tiny", "random_tiny", "search_detection_tiny", "train_detection_tiny"]
LITERALS = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=4), inner,
                                                                                          max_size=2),
    max_leaves=8)
VALUE_TEXT = st.one_of(LITERALS.map(repr), st.text(max_size=20), st.sampled_from(["", "(", "[" * 2000, "1" * 5000,
                                                                                   "nan", "1e999", "-0"]))


def _declared(config, prefix=""):
    """``{dotted key: declared type}`` of every leaf field."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out.update(_declared(value, f"{prefix}{f.name}.") if dataclasses.is_dataclass(value)
                   else {prefix + f.name: str(f.type)})
    return out


def _kind_ok(declared, default, value) -> bool:
    """A field keeps its kind: bool stays bool, int stays int (not bool), float, str, tuple."""
    if declared == "object" or value is None and ("None" in declared or "Optional" in declared):
        return True
    default = {"str": "", "int": 0, "float": 0.0, "bool": False, "tuple": ()}.get(
        declared.replace(" | None", ""), default)
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float, str, tuple)):
        return isinstance(value, type(default)) and not isinstance(value, bool)
    return True


def applied_or_clean_error(config, args):
    try:
        new = apply_overrides(config, args)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        return None
    declared = _declared(config)
    for (key, old, _), (_, value, _) in zip(describe_config(config), describe_config(new)):
        assert _kind_ok(declared[key], old, value), (key, old, value)
    return new


@pytest.mark.parametrize("name", CONFIGS)
def test_overrides(name):
    config = load_config(name)
    keys = [key for key, _, _ in describe_config(config)]
    groups = sorted({key.rsplit(".", 1)[0] for key in keys if "." in key})

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(keys + groups) | st.text(max_size=10), VALUE_TEXT), min_size=1,
                    max_size=3),
           st.sampled_from(["--config.{}={}", "{}={}", "--config.{}", "--config.{} = {}"]))
    def check(pairs, form):
        applied_or_clean_error(config, [form.format(key, value) for key, value in pairs])

    check()


@pytest.mark.parametrize("arg, message", [
    ("--config.steps=True", "expected a int like 8, got bool"),
    ("--config.data=5", "'data' is a group of keys"),
    ("--config.data.data_dir=[1]", "expected a str or None"),
    ("--config.optim.lr_per_256=1e999", "--config.optim.lr_per_256=1e999: expected a finite number"),
    ("--config.data.mean=('a', 2, 3)", "expected a tuple of numbers"),
    ("--config.steps=" + "[" * 2000, "expected a int like 8, got str"),
])
def test_overrides_found_by_fuzzing(arg, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[").replace("(", r"\(")):
        apply_overrides(load_config("search_tiny"), [arg])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint with config meta; its meta file is what the fuzz test rewrites."""
    folder = tmp_path_factory.mktemp("ckpt")
    ckpt = Checkpointer(str(folder))
    ckpt.save(1, {"w": jnp.ones(3), "b": jnp.zeros(())}, {"config": {"steps": 8, "space": "s"}, "position": 4})
    ckpt.close()
    meta_files = [p for p in (folder / "1" / "meta").iterdir() if p.name == "metadata"]
    assert len(meta_files) == 1, meta_files
    return folder, meta_files[0], json.loads(meta_files[0].read_text())


META_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_checkpoint_meta(checkpoint, data):
    folder, meta_file, good = checkpoint
    meta = dict(good)
    for key in data.draw(st.lists(st.sampled_from(sorted(good) + ["extra"]), max_size=3)):
        if data.draw(st.booleans()):
            meta.pop(key, None)
        else:
            meta[key] = data.draw(META_VALUES)
    text = json.dumps(data.draw(st.just(meta) | META_VALUES))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut]
    meta_file.write_text(text)
    ckpt = Checkpointer(str(folder))
    try:
        state, restored = ckpt.restore({"w": jnp.zeros(3), "b": jnp.zeros(())},
                                       expect={"config": {"steps": 8, "space": "s"}})
        assert float(state["w"].sum()) == 3.0 and restored["fingerprint"] == good["fingerprint"]
    except CheckpointError as err:
        assert "\n" not in str(err) and str(err).startswith("checkpoint step 1 in "), repr(str(err))
    finally:
        ckpt.close()
        meta_file.write_text(json.dumps(good))
