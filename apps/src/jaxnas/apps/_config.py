"""Configs: small dataclasses, python config files with ``get_config()``, safe overrides.

A config file is a module with ``get_config()`` returning a config dataclass
(``jaxnas.apps.configs.<name>`` or a path to a ``.py`` file). Command-line
overrides ``--config.steps=200`` or ``--config.target=84.0`` are parsed with
``ast.literal_eval`` (never ``eval``); a bare word that is not a Python literal
is taken as a string (``--config.space=proxylessnas``). The new value must have
the type of the field it replaces (an int may replace a float; ``None`` fields
and ``Union`` fields accept any literal); an unknown key names the closest ones.

A field's documentation is the comment at the end of its line in the config
dataclass (``steps: int = 90_000  # training steps``): the one place it is
written, read back by :func:`field_docs` for ``--help`` (:func:`describe_config`).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import importlib
import importlib.util
import inspect
import io
import json
import math
import os
import textwrap
import tokenize
from collections.abc import Sequence


def load_config(name_or_path: str):
    """Loads ``get_config()`` from a config name (``jaxnas.apps.configs``) or a ``.py`` path.

    >>> load_config("search_tiny").steps > 0
    True
    """
    if name_or_path.endswith(".py") or os.sep in name_or_path:
        if not os.path.isfile(name_or_path):
            raise ValueError(f"config file {name_or_path!r} does not exist")
        spec = importlib.util.spec_from_file_location("_jaxnas_user_config", name_or_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(f"jaxnas.apps.configs.{name_or_path}")
        except ModuleNotFoundError:
            raise ValueError(f"unknown config {name_or_path!r}; built-in configs: {', '.join(list_configs())}; "
                             f"or pass a path to a .py file with get_config()") from None
    if not hasattr(module, "get_config"):
        raise ValueError(f"config {name_or_path!r} has no get_config() function")
    return module.get_config()


def list_configs() -> list[str]:
    """Names of the built-in config files."""
    folder = os.path.join(os.path.dirname(__file__), "configs")
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_"))


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError, MemoryError):  # e.g. 5000 digits, deep nesting
        return text  # a bare word: a string


def override(config, key: str, text: str, _path: str | None = None):
    """Returns ``config`` with the dotted field ``key`` set to the literal ``text``.

    >>> from jaxnas.apps.configs.search_tiny import get_config
    >>> override(get_config(), "steps", "7").steps
    7
    >>> override(get_config(), "stpes", "7")
    Traceback (most recent call last):
    ...
    ValueError: unknown config key 'stpes'; did you mean: steps, space?
    """
    path = key if _path is None else _path  # the whole dotted key, for messages
    head, _, rest = key.partition(".")
    names = [f.name for f in dataclasses.fields(config)]
    if head not in names:
        close = difflib.get_close_matches(head, names, n=3)
        hint = f"did you mean: {', '.join(close)}?" if close else f"known keys: {', '.join(names)}"
        raise ValueError(f"unknown config key {path!r}; {hint}")
    old = getattr(config, head)
    if rest:
        if not dataclasses.is_dataclass(old):
            raise ValueError(f"config key {head!r} is not a group; cannot set {path!r}")
        return dataclasses.replace(config, **{head: override(old, rest, text, path)})
    if dataclasses.is_dataclass(old):
        inner = ", ".join(f"{path}.{f.name}" for f in dataclasses.fields(old))
        raise ValueError(f"config key {path!r} is a group of keys; set one of them: {inner}")
    value = _parse_value(text)
    declared = str(next(f.type for f in dataclasses.fields(config) if f.name == head))
    return dataclasses.replace(config, **{head: _check_type(path, declared, old, value, text)})


_KINDS = {"str": "", "float": 0.0, "int": 0, "bool": False, "tuple": ()}


def _declared_kind(declared: str) -> tuple[str, bool]:
    """``(kind, optional)`` of a field's declared type: ``"float | None"`` -> ``("float", True)``."""
    text = declared.replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        return text[len("Optional["):-1], True
    parts = text.split("|")
    if len(parts) == 2 and "None" in parts:
        return next(p for p in parts if p != "None"), True
    return text, False


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_type(key: str, declared: str, old, value, text: str):
    """``value`` if it fits the field's declared type (``object`` fields take any literal)."""
    kind, optional = _declared_kind(declared)
    if kind in ("object", "Any"):
        return value
    if optional and value is None:
        return value
    if kind in _KINDS and not isinstance(old, type(_KINDS[kind])):
        old = _KINDS[kind]  # e.g. a None default: the declared kind decides
    if old is None:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"--config.{key}={text}: expected a finite number")
    if isinstance(old, bool):
        if not isinstance(value, bool):
            raise TypeError(f"--config.{key}={text}: expected True or False")
        return value
    if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(old, tuple) and isinstance(value, list):
        value = tuple(value)
    if isinstance(old, (int, float, str, tuple)) and (not isinstance(value, type(old)) or isinstance(value, bool)):
        # Fields meant to take several kinds (e.g. target: ms or a reference name) are typed object in
        # the dataclass; everything else must keep its kind.
        expected = f"a {type(old).__name__}" + (" or None" if optional else "")
        raise TypeError(f"--config.{key}={text}: expected {expected} like {old!r}, got {type(value).__name__}")
    if isinstance(old, tuple) and old and all(map(_is_number, old)) and not all(map(_is_number, value)):
        raise TypeError(f"--config.{key}={text}: expected a tuple of numbers like {old!r}")
    return value


def apply_overrides(config, args: Sequence[str]):
    """Applies ``["--config.a=1", "--config.b.c=x", ...]`` (or ``"a=1"``) in order."""
    for arg in args:
        item = arg.removeprefix("--config.")
        if "=" not in item:
            raise ValueError(f"bad override {arg!r}: expected --config.KEY=VALUE")
        key, text = item.split("=", 1)
        config = override(config, key.strip(), text.strip())
    check = getattr(config, "validate", None)
    if check is not None:
        check()
    return config


def to_dict(config) -> dict:
    """A JSON-ready dict of a config (for the work dir and checkpoints)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


@functools.cache
def field_docs(cls) -> dict[str, str]:
    """``{field: doc}`` of a config dataclass: the comment ending each field's line ("" if none).

    >>> from jaxnas.apps.classification import SearchConfig
    >>> field_docs(SearchConfig)["per_device_batch"]
    'training images per architecture per step'
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (e.g. defined in a REPL): no docs, still usable
        return {}
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    body = ast.parse(source).body[0].body
    return {node.target.id: comments.get(node.end_lineno, "") for node in body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}


def describe_config(config, prefix: str = "") -> list[tuple[str, object, str]]:
    """``(dotted key, value, doc)`` of every leaf field of ``config``, groups flattened in order.

    >>> from jaxnas.apps.configs.search_tiny import get_config
    >>> describe_config(get_config())[0]
    ('data.dataset', 'jaxnas_shapes/tiny', 'TFDS name: imagenet2012, or the built-in jaxnas_shapes (/small, /tiny)')
    """
    docs = field_docs(type(config))
    rows = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe_config(value, f"{prefix}{f.name}."))
        else:
            rows.append((prefix + f.name, value, docs.get(f.name, "")))
    return rows


def format_config(config, docs: bool = False) -> str:
    """One ``KEY=VALUE`` line per field (usable as ``--config.KEY=VALUE``), with docs if asked.

    >>> from jaxnas.apps.configs.search_tiny import get_config
    >>> format_config(get_config()).splitlines()[4]
    'data.resolution=32'
    """
    rows = [(f"{key}={value!r}", doc) for key, value, doc in describe_config(config)]
    if not docs:
        return "\n".join(text for text, _ in rows)
    width = min(max(len(text) for text, _ in rows), 44)
    return "\n".join(f"  {text:<{width}}  {doc}".rstrip() for text, doc in rows)
