"""The thin command lines: ``jaxnas-search``, ``jaxnas-train``, ``jaxnas-random``.

    jaxnas-search TASK [--config NAME|FILE.py] --workdir W [--resume] [--config.KEY=VALUE ...]
    jaxnas-train TASK --space S --arch A [--config NAME] --workdir W [--resume] [--config.KEY=VALUE ...]
    jaxnas-random TASK [--config NAME] --workdir W [--config.KEY=VALUE ...]

``TASK`` names a module ``jaxnas.apps.TASK`` (``classification``, ``detection``) exposing ``search``/``train``/``random_search`` functions of
``(config, workdir, *, resume, progress)`` and ``DEFAULT_CONFIGS``
(``{"search": name, "train": name, "random": name}``). Multi-process: pass
``--coordinator HOST:PORT --num-processes N --process-id I`` (or set
``JAX_COORDINATOR_ADDRESS``/``JAX_NUM_PROCESSES``/``JAX_PROCESS_ID``).
Bad input prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from jaxnas.apps._config import apply_overrides, list_configs, load_config
from jaxnas.apps._malloc import reexec_with_hugepage_malloc

_FUNCTIONS = {"search": "search", "train": "train", "random": "random_search"}


def _task_module(task: str):
    try:
        return importlib.import_module(f"jaxnas.apps.{task}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown task {task!r}; available: classification, detection") from None


def _parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"jaxnas-{command}", description=__doc__.split("\n\n")[0],
                                epilog=f"built-in configs: {', '.join(list_configs())}")
    p.add_argument("task", help="classification or detection")
    p.add_argument("--config", default=None, help="config name in jaxnas.apps.configs or a .py file")
    p.add_argument("--workdir", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --workdir")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.add_argument("--coordinator", default=None, help="multi-process: HOST:PORT of process 0")
    p.add_argument("--num-processes", type=int, default=None)
    p.add_argument("--process-id", type=int, default=None)
    if command == "train":
        p.add_argument("--space", default=None, help="search space name")
        p.add_argument("--arch", default=None, help="architecture index string, or a search work dir's arch.txt")
    return p


def _split_overrides(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    overrides = [a for a in argv if a.startswith("--config.")]
    rest = [a for a in argv if not a.startswith("--config.")]
    return rest, overrides


def run(command: str, argv: Sequence[str] | None = None) -> int:
    """Runs ``jaxnas-<command>`` with ``argv``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rest, overrides = _split_overrides(argv)
    args = _parser(command).parse_args(rest)
    try:
        # Before the first jax computation: the flags rematerialization needs on XLA:CPU.
        from jaxnas.supernet import configure_xla
        configure_xla()
        from jaxnas.apps._distributed import initialize_distributed
        initialize_distributed(args.coordinator, args.num_processes, args.process_id)
        module = _task_module(args.task)
        if command not in module.DEFAULT_CONFIGS or not hasattr(module, _FUNCTIONS[command]):
            raise ValueError(f"task {args.task!r} has no jaxnas-{command} command; it has "
                             f"{', '.join('jaxnas-' + c for c in module.DEFAULT_CONFIGS)}")
        config = load_config(args.config or module.DEFAULT_CONFIGS[command])
        if command == "train":
            extra = []
            if args.space is not None:
                extra.append(f"space={args.space}")
            if args.arch is not None:
                arch = args.arch
                if arch.endswith(".txt"):
                    with open(arch) as f:
                        arch = f.read().strip()
                extra.append(f"arch={arch!r}")
            config = apply_overrides(config, extra)
        config = apply_overrides(config, overrides)
        fn = getattr(module, _FUNCTIONS[command])
        result = fn(config, args.workdir, resume=args.resume, progress=not args.no_progress)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    import jax
    if jax.process_index() == 0:
        summary = getattr(module, "summarize_result", None)
        if summary is not None:
            print(summary(command, result))
        if args.json:
            print(json.dumps(result))
    return 0


def search_main() -> None:
    """Entry point of ``jaxnas-search``."""
    reexec_with_hugepage_malloc()
    sys.exit(run("search"))


def train_main() -> None:
    """Entry point of ``jaxnas-train``."""
    reexec_with_hugepage_malloc()
    sys.exit(run("train"))


def random_main() -> None:
    """Entry point of ``jaxnas-random``."""
    reexec_with_hugepage_malloc()
    sys.exit(run("random"))
