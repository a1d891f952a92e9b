"""Configs: built-in files load, overrides parse safely and refuse bad keys and types."""

import pytest
from jaxnas.apps._config import apply_overrides, list_configs, load_config


def test_every_builtin_config_loads_and_validates():
    names = list_configs()
    assert {"search_tiny", "search_shapes", "search_imagenet", "train_tiny", "random_tiny"} <= set(names)
    for name in names:
        load_config(name).validate()


def test_overrides_literals_strings_and_nested():
    c = apply_overrides(load_config("search_tiny"), ["--config.steps=12", "--config.space=proxylessnas",
                                                     "--config.data.resolution=40", "--config.target=1.5",
                                                     "--config.target=proxylessnas_mobile",
                                                     "--config.optim.rmsprop_eps=1"])
    assert (c.steps, c.space, c.data.resolution, c.target, c.optim.rmsprop_eps) == (
        12, "proxylessnas", 40, "proxylessnas_mobile", 1.0)


def test_override_never_evaluates_code():
    c = apply_overrides(load_config("search_tiny"), ["--config.space=__import__('os').getcwd()"])
    assert c.space == "__import__('os').getcwd()"  # kept as a plain string, never run


@pytest.mark.parametrize("arg, error, text", [
    ("--config.stepz=3", ValueError, "did you mean: steps"),
    ("--config.steps=three", TypeError, "expected a int"),
    ("--config.steps", ValueError, "expected --config.KEY=VALUE"),
    ("--config.steps=-1", ValueError, "--config.steps=-1 must be >= 0"),
    ("--config.per_device_batch=0", ValueError, "must be a positive integer"),
    ("--config.reward=mnas", ValueError, "choose one of absolute"),
    ("--config.op_warmup=1", TypeError, "expected True or False"),
    ("--config.steps.x=1", ValueError, "is not a group"),
    ("--config.checkpoint_every=3", ValueError, "multiple of --config.log_every"),
    ("--config.compute_dtype='float16'", ValueError, "choose float32 or bfloat16"),
])
def test_bad_overrides_name_the_culprit(arg, error, text):
    with pytest.raises(error, match=text.replace(".", r"\.")):
        apply_overrides(load_config("search_tiny"), [arg])


def test_unknown_config_lists_builtins():
    with pytest.raises(ValueError, match="built-in configs: .*search_tiny"):
        load_config("nope")
