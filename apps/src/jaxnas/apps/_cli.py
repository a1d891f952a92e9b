"""The thin command lines: ``jaxnas-search``, ``jaxnas-train``, ``jaxnas-random``.

    jaxnas-search TASK [--config NAME|FILE.py] --workdir W [--resume] [--config.KEY=VALUE ...]
    jaxnas-train TASK --space S --arch A [--config NAME] --workdir W [--resume] [--config.KEY=VALUE ...]
    jaxnas-random TASK [--config NAME] --workdir W [--config.KEY=VALUE ...]

``TASK`` names a module ``jaxnas.apps.TASK`` (``classification``, ``detection``) exposing ``search``/``train``/``random_search`` functions of
``(config, workdir, *, resume, progress)`` and ``DEFAULT_CONFIGS``
(``{"search": name, "train": name, "random": name}``). Multi-process: pass
``--coordinator HOST:PORT --num-processes N --process-id I`` (or set
``JAX_COORDINATOR_ADDRESS``/``JAX_NUM_PROCESSES``/``JAX_PROCESS_ID``).
Bad input prints one ``error:`` line and exits with status 2. ``--help`` with a task
lists the config's keys, values and docs; ``--print-config`` prints the config as it
will run (overrides applied) and exits.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import textwrap
from collections.abc import Sequence

from jaxnas.apps._config import apply_overrides, format_config, list_configs, load_config, to_dict
from jaxnas.apps._startup import start_command_line

_FUNCTIONS = {"search": "search", "train": "train", "random": "random_search"}
# Plain text for --help (the module docstring is for the docs, in reStructuredText).
_DESCRIPTIONS = {
    "search": "Runs a TuNAS architecture search: shared supernet weights and a controller trained "
              "together, then the most likely architecture is written to the work dir.",
    "train": "Trains one architecture stand-alone (from scratch) and evaluates it.",
    "random": "Random-search baseline: samples architectures near the cost target and trains each.",
}
_EPILOG = """\
configuration:
  --config.KEY=VALUE    override one config key (repeatable; nested keys with dots:
                        --config.data.resolution=64). VALUE is a Python literal
                        (150, 0.5, True, None, (1, 2)); a bare word is a string.
  jaxnas-{command} TASK --config NAME --help   lists the keys, values and docs of a config
  jaxnas-{command} TASK --print-config ...     prints the config as it will run

built-in configs: {configs}
multi-process: --coordinator HOST:PORT --num-processes N --process-id I
  (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)"""


def _task_module(task: str):
    try:
        return importlib.import_module(f"jaxnas.apps.{task}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown task {task!r}; available: classification, detection") from None


def _parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"jaxnas-{command}", description=textwrap.fill(_DESCRIPTIONS[command], 79),
                                add_help=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=_EPILOG.format(command=command, configs=", ".join(list_configs())))
    # Why a plain flag: the help lists the config's keys, so it needs the task and --config first.
    p.add_argument("-h", "--help", action="store_true", help="show this help (and the config's keys) and exit")
    p.add_argument("task", nargs="?", help="classification or detection")
    p.add_argument("--config", default=None, help="config name in jaxnas.apps.configs or a .py file "
                                                  "(default: the task's own)")
    p.add_argument("--workdir", default=None, help="output folder (required to run)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --workdir")
    p.add_argument("--print-config", action="store_true",
                   help="print the config with every override applied (KEY=VALUE lines) and exit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the result (or --print-config's config) as JSON")
    p.add_argument("--coordinator", default=None, help="multi-process: HOST:PORT of process 0")
    p.add_argument("--num-processes", type=int, default=None)
    p.add_argument("--process-id", type=int, default=None)
    if command == "train":
        p.add_argument("--space", default=None, help="search space name")
        p.add_argument("--arch", default=None, help="architecture index string, or a search work dir's arch.txt")
    return p


def _config(command: str, args, overrides: Sequence[str]):
    """The task module and the config as it will run (``--space``/``--arch`` and overrides applied)."""
    module = _task_module(args.task)
    if command not in module.DEFAULT_CONFIGS or not hasattr(module, _FUNCTIONS[command]):
        raise ValueError(f"task {args.task!r} has no jaxnas-{command} command; it has "
                         f"{', '.join('jaxnas-' + c for c in module.DEFAULT_CONFIGS)}")
    name = args.config or module.DEFAULT_CONFIGS[command]
    config = load_config(name)
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
    return module, name, apply_overrides(config, overrides)


def _help(command: str, parser: argparse.ArgumentParser, args, overrides: Sequence[str]) -> int:
    """Prints the usage and, with a task, the keys of its config (``--config`` or the default)."""
    print(parser.format_help())
    if args.task is None:
        print(f"Pass a task (jaxnas-{command} classification --help) to list its config keys.")
        return 0
    try:
        _, name, config = _config(command, args, overrides)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"config {name!r} ({type(config).__name__}): --config.KEY=VALUE, current value, doc\n")
    print(format_config(config, docs=True))
    return 0

def _split_overrides(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    overrides = [a for a in argv if a.startswith("--config.")]
    rest = [a for a in argv if not a.startswith("--config.")]
    return rest, overrides


def run(command: str, argv: Sequence[str] | None = None) -> int:
    """Runs ``jaxnas-<command>`` with ``argv``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rest, overrides = _split_overrides(argv)
    parser = _parser(command)
    args = parser.parse_args(rest)
    if args.help:
        return _help(command, parser, args, overrides)
    if args.task is None:
        parser.error("the following arguments are required: task")
    try:
        if args.print_config:
            config = _config(command, args, overrides)[2]
            print(json.dumps(to_dict(config)) if args.json else format_config(config))
            return 0
        if args.workdir is None:
            raise ValueError(f"--workdir is required: the folder jaxnas-{command} writes to")
        # Before the first jax computation: the flags rematerialization needs on XLA:CPU.
        from jaxnas.supernet import configure_xla
        configure_xla()
        from jaxnas.apps._distributed import initialize_distributed
        initialize_distributed(args.coordinator, args.num_processes, args.process_id)
        module, _, config = _config(command, args, overrides)
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
    start_command_line()
    sys.exit(run("search"))


def train_main() -> None:
    """Entry point of ``jaxnas-train``."""
    start_command_line()
    sys.exit(run("train"))


def random_main() -> None:
    """Entry point of ``jaxnas-random``."""
    start_command_line()
    sys.exit(run("random"))
