"""Compact human-readable block strings (MnasNet / timm style).

One token per layer slot, slots of a block separated by spaces, blocks by ``|``::

    conv_k3_s2_c32_relu | ds_k3_c16_relu | ir_k5_e3_s2_c32_relu ir_k3_e3_c32_relu skip skip | ...

Tokens: ``conv_k{k}[_s2]_c{C}[_nobn][_{act}]``, ``ds_k{k}[_s2]_c{C}_{act}``,
``ir_k{k}_e{ratio}[_s2]_c{C}[_se]_{act}``, ``skip`` (a skipped layer) and ``pool``.
"""

from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from jaxnas.searchspace._decisions import resolve
from jaxnas.searchspace._specs import (ACTIVATIONS, Activation, Block, Bottleneck, Conv, Endpoint,
                                       GlobalPool, Residual, SepConv, Zero)
from jaxnas.searchspace._space import Space


def format_token(layer, width: int, activation: Optional[str] = None) -> str:
    """The token of a resolved layer spec with output ``width`` channels.

    >>> format_token(Bottleneck(kernel=5, expansion=3.0, stride=2), 40)
    'ir_k5_e3_s2_c40_relu'
    """
    if isinstance(layer, Zero):
        return "skip"
    if isinstance(layer, GlobalPool):
        return "pool"
    stride = "_s2" if layer.stride == 2 else ""
    if isinstance(layer, Conv):
        return (f"conv_k{layer.kernel}{stride}_c{width}" + ("" if layer.use_bn else "_nobn")
                + (f"_{activation}" if activation else ""))
    if isinstance(layer, SepConv):
        return f"ds_k{layer.kernel}{stride}_c{width}_{layer.activation}"
    if isinstance(layer, Bottleneck):
        return (f"ir_k{layer.kernel}_e{layer.expansion:g}{stride}_c{width}" + ("_se" if layer.se else "")
                + f"_{layer.activation}")
    raise TypeError(f"no token for {layer!r}")


def parse_token(token: str):
    """Parses a token into ``(layer spec, width or None, Conv activation or None)``.

    >>> parse_token("ir_k5_e3_s2_c40_se_hswish")
    (Bottleneck(kernel=5, expansion=3.0, se=True, stride=2, activation='hswish'), 40, None)
    """
    if token == "skip":
        return Zero(), None, None
    if token == "pool":
        return GlobalPool(), None, None
    kind, *parts = token.split("_")
    if kind not in ("conv", "ds", "ir"):
        raise ValueError(f"block string: unknown token {token!r}; expected conv_..., ds_..., ir_..., skip or pool")
    fields = {"k": None, "e": None, "s": 1, "c": None}
    act, se, bn = None, False, True
    for part in parts:
        try:
            if part in ACTIVATIONS:
                act = part
            elif part == "se":
                se = True
            elif part == "nobn":
                bn = False
            elif part[:1] in fields and part[1:]:
                fields[part[0]] = float(part[1:]) if part[0] == "e" else int(part[1:])
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"block string: cannot read {part!r} in token {token!r}") from None
    if fields["k"] is None or fields["c"] is None:
        raise ValueError(f"block string: token {token!r} needs a kernel (_k3) and a width (_c32)")
    k, s = fields["k"], fields["s"]
    if kind == "conv":
        return Conv(kernel=k, stride=s, use_bn=bn), fields["c"], act
    if kind == "ds":
        return SepConv(kernel=k, stride=s, activation=act or "relu"), fields["c"], None
    if fields["e"] is None:
        raise ValueError(f"block string: bottleneck token {token!r} needs an expansion ratio (_e6)")
    return Bottleneck(kernel=k, expansion=fields["e"], se=se, stride=s, activation=act or "relu"), fields["c"], None


def _blocks_of(space: Space) -> list[list]:
    blocks: list[list] = [[] for _ in space.blocks]
    for pos in space.positions:
        if pos.kind != "dense":
            blocks[pos.block].append(pos)
    return blocks


def to_block_string(space: Space, arch) -> str:
    """The block string of an architecture (inner choices of skipped layers are dropped)."""
    a = space.validate(arch)
    out = []
    for slots in _blocks_of(space):
        tokens = []
        for pos in slots:
            if pos.kind == "pool":
                tokens.append("pool")
                continue
            local = dict(pos.local)
            layer = resolve(pos.spec, "", lambda rel: int(a[local[rel]]))
            tokens.append(format_token(layer, pos.out_width.value(lambda i: int(a[i])),
                                       pos.activation if isinstance(layer, Conv) else None))
        out.append(" ".join(tokens))
    return " | ".join(out)


def from_block_string(space: Space, text: str) -> np.ndarray:
    """Decodes a block string into the canonical architecture ``int32[D]``.

    Raises:
      ValueError: a token no choice of its slot produces, a width the block
        cannot take, or a wrong number of blocks or tokens.
      TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"block string: expected str, got {type(text).__name__}")
    blocks = [b.split() for b in text.split("|")]
    slots = _blocks_of(space)
    if len(blocks) != len(slots):
        raise ValueError(f"block string: space {space.name!r} has {len(slots)} blocks, got {len(blocks)}")
    arch = np.zeros(space.num_decisions, dtype=np.int32)
    for b, (tokens, positions) in enumerate(zip(blocks, slots)):
        if len(tokens) != len(positions):
            raise ValueError(f"block string: block {b} has {len(positions)} layers, got {len(tokens)} tokens")
        for token, pos in zip(tokens, positions):
            layer, width, act = parse_token(token)
            if pos.kind == "pool":
                if not isinstance(layer, GlobalPool):
                    raise ValueError(f"block string: {pos.path} is the global pool, got {token!r}")
                continue
            wanted = format_token(layer, width, act)
            if width is not None and pos.out_width.decision >= 0:
                if width not in pos.out_width.choices:
                    raise ValueError(f"block string: width {width} in {token!r} is not a choice of "
                                     f"block {b} (choices {list(pos.out_width.choices)})")
                arch[pos.out_width.decision] = pos.out_width.choices.index(width)
            elif width is not None and width != pos.out_width.choices[0]:
                raise ValueError(f"block string: block {b} has width {pos.out_width.choices[0]}, got {token!r}")
            found = None
            rels = [rel for rel, _ in pos.local]
            counts = [space.decisions[i].num_choices for _, i in pos.local]
            for combo in itertools.product(*[range(c) for c in counts]):
                chosen = dict(zip(rels, combo))
                cand = resolve(pos.spec, "", chosen.__getitem__)
                w = width if width is not None else 0
                if format_token(cand, w, pos.activation if isinstance(cand, Conv) else None) == (
                        wanted if width is not None else "skip"):
                    found = combo
                    break
            if found is None:
                raise ValueError(f"block string: {token!r} is not a choice of {pos.path}")
            for (rel, index), value in zip(pos.local, found):
                arch[index] = value
    return space.canonicalize(arch)


def fixed_space(name: str, text: str, *, endpoints: tuple = (), filters_base: int = 8) -> Space:
    """A space with no decisions, written as a block string.

    In each block the first layer is plain and the later ones are residual
    (MobileNet convention). ``endpoints`` lists the blocks after which a feature
    endpoint is recorded.
    """
    blocks = []
    for b, part in enumerate(text.split("|")):
        layers, width, seen_op = [], None, False
        for token in part.split():
            layer, w, act = parse_token(token)
            if isinstance(layer, Zero):
                raise ValueError(f"fixed space {name!r}: 'skip' has no meaning in a fixed space")
            if w is not None:
                if width not in (None, w):
                    raise ValueError(f"fixed space {name!r}: block {b} mixes widths {width} and {w}")
                width = w
            if isinstance(layer, GlobalPool):
                layers.append(layer)
                continue
            layers.append(Residual(layer) if seen_op and not isinstance(layer, Conv) else layer)
            if act:
                layers.append(Activation(act))
            seen_op = True
        if b in endpoints:
            layers.append(Endpoint())
        blocks.append(Block(layers, width))
    return Space(name, tuple(blocks), filters_base)
