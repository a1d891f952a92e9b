"""The decision structure a controller needs: choice counts and the parent links.

The controller never sees a ``Space`` inside jit. It needs three numpy constants
per decision, taken from :mod:`jaxnas.searchspace` once, outside jit:

* ``num_choices[i]``: how many choices decision ``i`` has;
* ``parent[i]``: the decision ``i`` depends on, or -1 (always active);
* ``parent_choice[i]``: the parent's choice under which ``i`` matters.

Decision ``i`` is *active* in an architecture iff ``parent[i] == -1`` or its
parent is active and picked ``parent_choice[i]`` (e.g. the kernel of a layer
that was sampled as Zero is inactive). Parents have larger indices than their
children (post-order), and nesting may be deeper than one level.

Shape letters: N architectures, D decisions, C = most choices of any decision.
"""

from __future__ import annotations

import numpy as np


class DecisionStructure:
    """Choice counts and parent links of the decisions of a space (numpy constants).

    Not a pytree on purpose: close over it (or pass it as a static argument);
    its arrays become constants of the compiled program.

    Args:
      num_choices: ``int[D]``, each >= 1.
      parent: ``int[D]``, -1 or the index of a LATER decision; default all -1 (flat).
      parent_choice: ``int[D]``, a valid choice of the parent (-1 where ``parent == -1``).

    Raises:
      ValueError: lengths differ, a count is below 1, a parent is not later than
        its child, or a parent choice is out of range.

    >>> s = DecisionStructure([3, 2, 2], parent=[2, 2, -1], parent_choice=[0, 0, -1])
    >>> s.num_decisions, s.max_choices, s.depth
    (3, 3, 1)
    """

    def __init__(self, num_choices, parent=None, parent_choice=None):
        num_choices = _int_vector("num_choices", num_choices)
        D = num_choices.shape[0]
        parent = np.full(D, -1, np.int32) if parent is None else _int_vector("parent", parent)
        if parent_choice is None:
            parent_choice = np.where(parent >= 0, 0, -1).astype(np.int32)
        parent_choice = _int_vector("parent_choice", parent_choice)
        if not (parent.shape[0] == parent_choice.shape[0] == D):
            raise ValueError(f"DecisionStructure: num_choices, parent and parent_choice must have the same "
                             f"length, got {D}, {parent.shape[0]} and {parent_choice.shape[0]}")
        if D and num_choices.min() < 1:
            i = int(np.argmin(num_choices))
            raise ValueError(f"DecisionStructure: num_choices[{i}] is {num_choices[i]}; every decision "
                             "needs at least 1 choice")
        for i in range(D):
            p = int(parent[i])
            if p == -1:
                continue
            if not i < p < D:
                raise ValueError(f"DecisionStructure: parent[{i}] is {p}; a parent must be -1 or a later "
                                 f"decision (index in {i + 1}..{D - 1}), as in post-order")
            if not 0 <= parent_choice[i] < num_choices[p]:
                raise ValueError(f"DecisionStructure: parent_choice[{i}] is {parent_choice[i]}, but parent "
                                 f"{p} has choices 0..{num_choices[p] - 1}")
        self.num_choices = num_choices
        self.parent = parent
        self.parent_choice = parent_choice
        self.depth = _depth(parent)
        for a in (self.num_choices, self.parent, self.parent_choice):
            a.setflags(write=False)

    @property
    def num_decisions(self) -> int:
        return int(self.num_choices.shape[0])

    @property
    def max_choices(self) -> int:
        return int(self.num_choices.max()) if self.num_decisions else 1

    @property
    def is_flat(self) -> bool:
        """True when no decision depends on another."""
        return self.depth == 0

    @property
    def choice_mask(self) -> np.ndarray:
        """``bool[D, C]``: which padded columns are real choices."""
        return np.arange(self.max_choices)[None, :] < self.num_choices[:, None]

    def flat(self) -> DecisionStructure:
        """The same decisions with every parent link removed (all always active)."""
        return DecisionStructure(self.num_choices)

    def __repr__(self) -> str:
        return f"DecisionStructure(num_decisions={self.num_decisions}, max_choices={self.max_choices}, " \
               f"depth={self.depth})"


def _int_vector(name: str, values) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"DecisionStructure: {name} must be a 1-D list of ints, got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"DecisionStructure: {name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int32)


def _depth(parent: np.ndarray) -> int:
    """Longest chain of parent links (0 for a flat space). Parents come later, so walk backwards."""
    depth = np.zeros(parent.shape[0], np.int32)
    for i in range(parent.shape[0] - 1, -1, -1):
        if parent[i] >= 0:
            depth[i] = depth[parent[i]] + 1
    return int(depth.max()) if depth.size else 0


def as_structure(space_or_structure) -> DecisionStructure:
    """A :class:`DecisionStructure` from a ``jaxnas.searchspace.Space`` (or one passed through).

    Args:
      space_or_structure: a ``Space`` (anything with ``num_choices`` and ``parents``)
        or a ``DecisionStructure``.

    Raises:
      TypeError: anything else.

    >>> from jaxnas.searchspace import get_space
    >>> as_structure(get_space("proxylessnas"))
    DecisionStructure(num_decisions=73, max_choices=3, depth=1)
    """
    if isinstance(space_or_structure, DecisionStructure):
        return space_or_structure
    if hasattr(space_or_structure, "num_choices") and hasattr(space_or_structure, "parents"):
        parent, parent_choice = space_or_structure.parents
        return DecisionStructure(space_or_structure.num_choices, parent, parent_choice)
    raise TypeError("expected a jaxnas.searchspace.Space or a DecisionStructure, got "
                    f"{type(space_or_structure).__name__}; build one with get_space(name) or "
                    "DecisionStructure(num_choices, parent, parent_choice)")
