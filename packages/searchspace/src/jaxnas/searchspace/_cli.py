"""``jaxnas-space``: describe spaces, count params/MACs, sample, print references.

    jaxnas-space describe proxylessnas --json
    jaxnas-space info proxylessnas "$(jaxnas-space reference proxylessnas_mobile)"
    jaxnas-space sample mobilenet_v3_like -n 1000 --seed 0 | jaxnas-space info mobilenet_v3_like -
    jaxnas-space reference mobilenet_v2 --space proxylessnas_enlarged

Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import numpy as np

from jaxnas.searchspace._blockstring import to_block_string
from jaxnas.searchspace._costs import _counter
from jaxnas.searchspace._network import ConcreteOp
from jaxnas.searchspace._references import REFERENCE_NAMES, reference_arch
from jaxnas.searchspace._spaces import get_space, list_spaces


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the whole usage otherwise)
        raise _UsageError(message)


def _layer_dict(op: ConcreteOp) -> dict:
    return {"block": op.block, "layer": op.layer, "kind": op.kind,
            "input": [op.in_h, op.in_w, op.in_channels], "output": [op.out_h, op.out_w, op.out_channels],
            "kernel": op.kernel, "stride": op.stride, "expansion": op.expansion_channels,
            "se": op.se_channels, "activation": op.activation, "residual": op.residual,
            "params": op.params, "macs": op.macs}


def _describe(args, out) -> None:
    space = get_space(args.space)
    if args.json:
        data = {"name": space.name, "num_decisions": space.num_decisions,
                "log10_size": space.log10_size, "log10_distinct": space.log10_distinct,
                "decisions": [{"index": d.index, "path": d.path, "kind": d.kind, "tag": d.tag,
                               "num_choices": d.num_choices, "choices": list(d.choices),
                               "parent": d.parent, "parent_choice": d.parent_choice} for d in space.decisions]}
        out.write(json.dumps(data) + "\n")
        return
    out.write(f"space {space.name}: {space.num_decisions} decisions, 10^{space.log10_size:.2f} architectures, "
              f"10^{space.log10_distinct:.2f} distinct networks\n")
    out.write(f"{'#':>3}  {'path':<28} {'kind':<9} {'tag':<7} {'parent':>6}  choices\n")
    for d in space.decisions:
        parent = "" if d.parent < 0 else f"{d.parent}={d.parent_choice}"
        out.write(f"{d.index:>3}  {d.path:<28} {d.kind:<9} {d.tag:<7} {parent:>6}  {list(d.choices)}\n")


def _info(args, out) -> None:
    space = get_space(args.space)
    if args.arch == "-":
        lines = [line.strip() for line in sys.stdin if line.strip()]
        archs = np.stack([space.parse(line) for line in lines]) if lines else np.zeros((0, space.num_decisions))
        _write_info(space, archs, args, out, as_json=True)
        return
    arch = space.parse(args.arch or "")
    _write_info(space, arch[None], args, out, as_json=args.json)


def _write_info(space, archs, args, out, as_json: bool) -> None:
    if len(archs) == 0:
        return
    params = _counter(space, "params", 224, args.num_classes)(archs)
    macs_model = _counter(space, "macs", args.resolution, args.num_classes)
    macs = macs_model(archs)
    networks = macs_model.networks(archs)
    for arch, p, m, ops in zip(archs, params, macs, networks):
        if as_json:
            out.write(json.dumps({"arch": space.format(arch), "params": int(p), "macs": int(m),
                                  "layers": [_layer_dict(op) for op in ops]}) + "\n")
            continue
        out.write(f"arch   {space.format(arch)}\nblocks {to_block_string(space, arch)}\n")
        out.write(f"params {int(p):,}\nMACs   {int(m):,} ({m / 1e6:.1f} M) at {args.resolution}x{args.resolution}\n\n")
        out.write(f"{'blk':>3} {'lyr':>3} {'op':<10} {'input':>14} {'output':>14} {'k':>2} {'s':>2} "
                  f"{'exp':>5} {'se':>4} {'act':<7} {'res':<3} {'params':>10} {'MACs':>12}\n")
        for op in ops:
            d = _layer_dict(op)
            io = ["x".join(map(str, d[k])) for k in ("input", "output")]
            out.write(f"{op.block:>3} {op.layer:>3} {op.kind:<10} {io[0]:>14} {io[1]:>14} {op.kernel:>2} "
                      f"{op.stride:>2} {op.expansion_channels:>5} {op.se_channels:>4} {op.activation:<7} "
                      f"{'yes' if op.residual else '':<3} {op.params:>10,} {op.macs:>12,}\n")


def _sample(args, out) -> None:
    space = get_space(args.space)
    archs = space.sample(np.random.default_rng(args.seed), args.n)
    out.write("".join(space.format(a) + "\n" for a in archs))


def _reference(args, out) -> None:
    out.write(reference_arch(args.name, args.space) + "\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="jaxnas-space", description="Inspect jaxnas search spaces.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = sub.add_parser("describe", help="decisions, choice counts and sizes of a space")
    d.add_argument("space", help=f"one of: {', '.join(list_spaces())}")
    d.add_argument("--json", action="store_true")
    d.set_defaults(run=_describe)
    i = sub.add_parser("info", help="params, MACs and layers of an architecture ('-': one per stdin line)")
    i.add_argument("space")
    i.add_argument("arch", nargs="?", default="", help="colon string, or '-' for stdin (JSON lines out)")
    i.add_argument("--json", action="store_true")
    i.add_argument("--resolution", type=int, default=224)
    i.add_argument("--num-classes", type=int, default=1000)
    i.set_defaults(run=_info)
    s = sub.add_parser("sample", help="uniformly random architecture strings")
    s.add_argument("space")
    s.add_argument("-n", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(run=_sample)
    r = sub.add_parser("reference", help="the architecture string of a reference network")
    r.add_argument("name", help=f"one of: {', '.join(REFERENCE_NAMES)}")
    r.add_argument("--space", default=None)
    r.set_defaults(run=_reference)
    return p


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    """Runs the CLI; returns the exit status (0 ok, 2 bad input)."""
    out = out or sys.stdout
    try:
        args = _parser().parse_args(argv)
        args.run(args, out)
    except (_UsageError, ValueError, TypeError) as e:
        sys.stderr.write(f"jaxnas-space: error: {e}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
