"""Decisions of a space, in post-order, and resolution of a spec for an architecture.

Post-order is the TuNAS reference order: a OneOf's nested decisions come before
the OneOf itself, fields in declaration order (kernel, expansion, se), and a
block's width decision after its layers. Index strings written by the TuNAS
reference code therefore decode to the same networks here.

Paths name a decision: ``block2/layer1/kernel``, ``block2/layer1/op``,
``block2/width``. Inside a layer OneOf with several choices that hold
decisions of their own, the choice is named too: ``block1/layer0/choice2/kernel``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

from jaxnas.searchspace._specs import Bottleneck, Conv, OneOf, Residual, SepConv, Zero

# Fields of a layer spec that may hold a OneOf, in declaration order.
_VALUE_FIELDS = {Conv: ("kernel",), SepConv: ("kernel",), Bottleneck: ("kernel", "expansion", "se")}


@dataclasses.dataclass(frozen=True)
class Decision:
    """One categorical decision of a space.

    Attributes:
      index: position in the architecture vector.
      path: readable unique name, e.g. ``block3/layer2/kernel``.
      kind: ``kernel``, ``expansion``, ``se``, ``op`` (a layer choice, Zero
        included) or ``width``.
      tag: ``op`` or ``filters``.
      choices: the values (for ``op`` decisions, short labels of the layers).
      parent: index of the decision this one depends on, or -1. A kernel or
        expansion decision inside a skippable layer depends on the layer's
        keep/skip (``op``) decision.
      parent_choice: the parent's choice under which this decision matters.
    """

    index: int
    path: str
    kind: str
    tag: str
    choices: tuple
    parent: int = -1
    parent_choice: int = -1

    @property
    def num_choices(self) -> int:
        return len(self.choices)


def choice_label(choice) -> str:
    """A short label for a choice of a layer OneOf (``zero``, ``bottleneck``...)."""
    if not dataclasses.is_dataclass(choice):
        return repr(choice)
    label = type(choice).__name__.lower()
    # Fixed fields make choices of non-collapsed spaces tell apart (bottleneck_k5_e6).
    if isinstance(getattr(choice, "kernel", None), int):
        label += f"_k{choice.kernel}"
    if isinstance(getattr(choice, "expansion", None), float):
        label += f"_e{choice.expansion:g}"
    if getattr(choice, "se", False) is True:
        label += "_se"
    return label


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _choice_rel(rel: str, oneof: OneOf, c: int) -> str:
    # Name the choice only when several choices carry decisions (non-collapsed spaces).
    holders = sum(1 for ch in oneof.choices if any(True for _ in iter_oneofs(ch, "")))
    return _join(rel, f"choice{c}") if holders > 1 else rel


def iter_oneofs(node, rel: str, parent: str | None = None, parent_choice: int = -1
                ) -> Iterator[tuple[str, OneOf, str, str | None, int]]:
    """Yields ``(path, oneof, kind, parent_path, parent_choice)`` in post-order."""
    if isinstance(node, Residual):
        yield from iter_oneofs(node.layer, rel, parent, parent_choice)
    elif isinstance(node, OneOf) and any(dataclasses.is_dataclass(c) for c in node.choices):
        me = _join(rel, "op")
        for c, choice in enumerate(node.choices):
            yield from iter_oneofs(choice, _choice_rel(rel, node, c), me, c)
        yield me, node, "op", parent, parent_choice
    elif type(node) in _VALUE_FIELDS:
        for field in _VALUE_FIELDS[type(node)]:
            value = getattr(node, field)
            if isinstance(value, OneOf):
                yield _join(rel, field), value, field, parent, parent_choice


def resolve(node, rel: str, choose: Callable[[str], int]):
    """Replaces every OneOf in ``node`` by the choice ``choose(path)`` picks.

    Returns the resolved layer spec (``Zero()`` for a skipped layer), without
    the ``Residual`` wrapper (callers know whether a position is residual).
    """
    if isinstance(node, Residual):
        return resolve(node.layer, rel, choose)
    if isinstance(node, OneOf) and any(dataclasses.is_dataclass(c) for c in node.choices):
        c = choose(_join(rel, "op"))
        return resolve(node.choices[c], _choice_rel(rel, node, c), choose)
    if type(node) in _VALUE_FIELDS:
        updates = {}
        for field in _VALUE_FIELDS[type(node)]:
            value = getattr(node, field)
            if isinstance(value, OneOf):
                updates[field] = value.choices[choose(_join(rel, field))]
        return dataclasses.replace(node, **updates) if updates else node
    if isinstance(node, Zero):
        return node
    return node
