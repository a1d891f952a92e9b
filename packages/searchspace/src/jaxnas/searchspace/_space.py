"""``Space``: decisions, architectures, sizes and concrete networks of a spec.

Shape letters: N = number of architectures, D = number of decisions,
P = number of positions (op slots) of the network.

An architecture is ``int32[D]``: one choice index per decision, in post-order.
Many architectures are ``int32[N, D]``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from typing import NamedTuple, Optional, Sequence

import numpy as np

from jaxnas.searchspace._decisions import Decision, choice_label, iter_oneofs, resolve
from jaxnas.searchspace._network import ConcreteOp, concrete_op
from jaxnas.searchspace._specs import (Activation, Conv, Endpoint, GlobalPool, OneOf, Residual,
                                       SpaceSpec, spec_from_dict, spec_to_dict)


@dataclasses.dataclass(frozen=True)
class WidthRef:
    """A channel count: fixed (``decision == -1``) or chosen by a width decision."""

    decision: int
    choices: tuple

    def value(self, choose) -> int:
        return self.choices[0] if self.decision < 0 else self.choices[choose(self.decision)]


@dataclasses.dataclass(frozen=True)
class Position:
    """One op slot of the network, independent of any architecture.

    Attributes:
      index: slot number (0..P-1), in execution order.
      block, layer: where the slot is in the spec (``layer == -1`` for the classifier).
      path: ``block{b}/layer{l}`` (``classifier`` for the final dense layer).
      kind: ``layer`` (Conv/SepConv/Bottleneck, maybe a OneOf), ``pool`` or ``dense``.
      spec: the layer spec, OneOfs included (``Residual`` unwrapped).
      residual: the slot adds its input to its output.
      activation: activation following a ``Conv`` (None otherwise).
      endpoint: a feature endpoint is taken after this slot.
      stride: spatial stride of the slot.
      input_stride: product of all strides before the slot (input size = ceil(R / input_stride)).
      in_width, out_width: channel counts in and out.
      local: ``{relative path: decision index}`` of the decisions inside the slot.
      decisions: every decision the slot's concrete op depends on (sorted).
    """

    index: int
    block: int
    layer: int
    path: str
    kind: str
    spec: object
    residual: bool
    activation: Optional[str]
    endpoint: bool
    stride: int
    input_stride: int
    in_width: WidthRef
    out_width: WidthRef
    local: tuple
    decisions: tuple


class FeatureMap(NamedTuple):
    """A feature endpoint of a space (``C{n}`` = output stride ``2**n``) at one resolution.

    Attributes:
      name: ``C1`` .. ``C5``.
      position: index of the slot whose output it is.
      height, width: spatial size of the map.
      channels: its channel count (fixed or chosen by a width decision).
    """

    name: str
    position: int
    height: int
    width: int
    channels: WidthRef


class Space(SpaceSpec):
    """A search space: a validated spec plus everything derived from it.

    >>> from jaxnas.searchspace import get_space
    >>> space = get_space("proxylessnas")
    >>> space.num_decisions, round(space.log10_size, 2)
    (73, 21.33)
    """

    # ------------------------------------------------------------ structure
    @functools.cached_property
    def decisions(self) -> tuple[Decision, ...]:
        """All decisions in post-order (the TuNAS reference order)."""
        found = []  # (path, oneof, kind, parent_path, parent_choice)
        for b, block in enumerate(self.blocks):
            for i, layer in enumerate(block.layers):
                found.extend(iter_oneofs(layer, f"block{b}/layer{i}"))
            if isinstance(block.width, OneOf):
                found.append((f"block{b}/width", block.width, "width", None, -1))
        index = {path: i for i, (path, *_rest) in enumerate(found)}
        if len(index) != len(found):
            raise ValueError(f"Space {self.name!r}: two decisions share a path; rename or restructure the layers")
        out = []
        for i, (path, oneof, kind, parent, parent_choice) in enumerate(found):
            choices = tuple(choice_label(c) for c in oneof.choices) if kind == "op" else oneof.choices
            out.append(Decision(i, path, kind, oneof.tag, choices,
                                index[parent] if parent else -1, parent_choice))
        return tuple(out)

    @functools.cached_property
    def decision_index(self) -> dict:
        """``{path: index}`` of every decision."""
        return {d.path: d.index for d in self.decisions}

    @property
    def num_decisions(self) -> int:
        return len(self.decisions)

    @functools.cached_property
    def num_choices(self) -> np.ndarray:
        """``int32[D]``: number of choices of each decision."""
        return np.array([d.num_choices for d in self.decisions], dtype=np.int32).reshape(-1)

    @functools.cached_property
    def parents(self) -> tuple[np.ndarray, np.ndarray]:
        """``(parent int32[D], parent_choice int32[D])``, -1 where a decision is unconditional."""
        return (np.array([d.parent for d in self.decisions], dtype=np.int32).reshape(-1),
                np.array([d.parent_choice for d in self.decisions], dtype=np.int32).reshape(-1))

    @functools.cached_property
    def positions(self) -> tuple[Position, ...]:
        """The op slots of the network, in execution order, classifier last."""
        out: list[Position] = []
        width = WidthRef(-1, (self.input_channels,))
        stride_before = 1
        for b, block in enumerate(self.blocks):
            block_width = (WidthRef(self.decision_index[f"block{b}/width"], block.width.choices)
                           if isinstance(block.width, OneOf) else WidthRef(-1, (block.width,)))
            for i, layer in enumerate(block.layers):
                path = f"block{b}/layer{i}"
                if isinstance(layer, Activation):
                    out[-1] = dataclasses.replace(out[-1], activation=layer.name)
                    continue
                if isinstance(layer, Endpoint):
                    out[-1] = dataclasses.replace(out[-1], endpoint=True)
                    continue
                if isinstance(layer, GlobalPool):
                    out.append(self._position(len(out), b, i, path, "pool", layer, False, 1,
                                              stride_before, width, width))
                    stride_before = 0  # spatial size is 1 from here on
                    continue
                residual = isinstance(layer, Residual)
                inner = layer.layer if residual else layer
                choices = inner.choices if isinstance(inner, OneOf) else (inner,)
                stride = next((c.stride for c in choices if hasattr(c, "stride")), 1)
                out.append(self._position(len(out), b, i, path, "layer", inner, residual, stride,
                                          stride_before, width, block_width))
                width = block_width
                stride_before = stride_before * stride
        out.append(self._position(len(out), len(self.blocks), -1, "classifier", "dense", None, False, 1,
                                  0, width, WidthRef(-1, (0,))))
        return tuple(out)

    def feature_maps(self, resolution: int) -> dict[str, FeatureMap]:
        """``{"C1": FeatureMap, ...}``: the feature endpoints at ``resolution``, one per stride level.

        The one rule every consumer (supernet, child network, latency heads) follows: ``C{n}`` is
        the map at output stride ``2**n``; a slot marked with ``Endpoint()`` wins over later
        unmarked slots of the same stride, otherwise the last slot of that stride; nothing after
        the global pool (no spatial maps there).

        >>> from jaxnas.searchspace import get_space
        >>> c4 = get_space("mobilenet_v3_large").feature_maps(320)["C4"]
        >>> c4.position, (c4.height, c4.width), c4.channels.choices
        (12, (20, 20), (112,))
        """
        check_positive_int("resolution", resolution)
        marked, last = {}, {}
        for pos in self.positions:
            if pos.kind != "layer":
                break
            level = round(math.log2(pos.input_stride * pos.stride))
            if level < 1:
                continue
            last[level] = pos
            if pos.endpoint:
                marked[level] = pos
        out = {}
        for level in sorted(last):
            pos = marked.get(level, last[level])
            size = math.ceil(resolution / 2**level)
            out[f"C{level}"] = FeatureMap(f"C{level}", pos.index, size, size, pos.out_width)
        return out

    def _position(self, index, block, layer, path, kind, spec, residual, stride, stride_before,
                  in_width, out_width) -> Position:
        local = tuple((p[len(path) + 1:], self.decision_index[p])
                      for p, *_ in (iter_oneofs(spec, path) if spec is not None else ()))
        deps = {i for _, i in local} | {w.decision for w in (in_width, out_width) if w.decision >= 0}
        return Position(index, block, layer, path, kind, spec, residual, None, False, stride,
                        stride_before, in_width, out_width, local, tuple(sorted(deps)))

    # ------------------------------------------------------------ concrete networks
    def position_op(self, position: Position, choose, resolution: int = 224,
                    num_classes: int = 1000) -> Optional[ConcreteOp]:
        """The concrete op of one slot, ``choose(decision_index) -> choice index``.

        Returns None when the slot's layer is skipped (Zero).
        """
        in_ch = position.in_width.value(choose)
        if position.kind == "dense":
            return ConcreteOp("dense", 1, 1, in_ch, num_classes, block=position.block, layer=-1)
        size = 1 if position.input_stride == 0 else math.ceil(resolution / position.input_stride)
        if position.kind == "pool":
            return ConcreteOp("pool", size, size, in_ch, in_ch, endpoint=position.endpoint,
                              block=position.block, layer=position.layer)
        local = dict(position.local)
        layer = resolve(position.spec, "", lambda rel: choose(local[rel]))
        return concrete_op(layer, in_hw=(size, size), in_channels=in_ch,
                           out_channels=position.out_width.value(choose), filters_base=self.filters_base,
                           activation=position.activation if isinstance(layer, Conv) else None,
                           residual=position.residual, endpoint=position.endpoint,
                           block=position.block, layer_index=position.layer)

    def network(self, arch, resolution: int = 224, num_classes: int = 1000) -> list[ConcreteOp]:
        """The ordered list of concrete ops of ``arch`` (skipped layers omitted).

        Args:
          arch: ``int[D]`` architecture (or its colon string).
          resolution: input height = width.
          num_classes: classifier outputs.
        """
        arch = self.validate(arch)
        check_positive_int("resolution", resolution)
        check_positive_int("num_classes", num_classes)
        return self.assemble([self.position_op(p, lambda i: int(arch[i]), resolution, num_classes)
                              for p in self.positions])

    def assemble(self, slot_ops: Sequence[Optional[ConcreteOp]]) -> list[ConcreteOp]:
        """Drops skipped slots; an endpoint after a skipped slot moves to the last op that ran."""
        out: list[ConcreteOp] = []
        for pos, op in zip(self.positions, slot_ops):
            if op is not None:
                out.append(op)
            elif pos.endpoint and out and not out[-1].endpoint:
                out[-1] = dataclasses.replace(out[-1], endpoint=True)
        return out

    # ------------------------------------------------------------ sizes
    @property
    def log10_size(self) -> float:
        """log10 of the number of architectures (product of all choice counts)."""
        return float(np.sum(np.log10(self.num_choices))) if self.num_decisions else 0.0

    @functools.cached_property
    def log10_distinct(self) -> float:
        """log10 of the number of distinct networks (inner decisions of a skipped layer do not count)."""
        children: dict[int, list[int]] = {}
        for d in self.decisions:
            children.setdefault(d.parent, []).append(d.index)

        def count(index: int) -> int:  # distinct settings of a decision and what depends on it
            total = 0
            for c in range(self.decisions[index].num_choices):
                n = 1
                for child in children.get(index, []):
                    if self.decisions[child].parent_choice == c:
                        n *= count(child)
                total += n
            return total

        return float(sum(math.log10(count(i)) for i in children.get(-1, [])))

    # ------------------------------------------------------------ architectures
    def validate(self, arch) -> np.ndarray:
        """Checks an architecture and returns it as ``int32[D]`` (or ``int32[N, D]``).

        Raises:
          ValueError: wrong length (expected vs got) or an index out of range
            (names the decision path, the value and the allowed range).
        """
        if isinstance(arch, str):
            return self.parse(arch)
        try:
            a = np.asarray(arch)
        except Exception:  # noqa: BLE001 - anything numpy cannot read is bad input
            raise TypeError(f"architecture: expected a sequence of ints, got {type(arch).__name__}") from None
        if a.size == 0 and self.num_decisions == 0:
            return np.zeros((0,), dtype=np.int32)
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.all(np.mod(a, 1) == 0):
                a = a.astype(np.int64)
            else:
                raise TypeError(f"architecture: expected integers, got dtype {a.dtype}")
        if a.ndim not in (1, 2) or a.shape[-1] != self.num_decisions:
            raise ValueError(f"architecture for space {self.name!r}: expected {self.num_decisions} "
                             f"decisions, got {a.shape[-1] if a.ndim else 0}")
        bad = (a < 0) | (a >= self.num_choices)
        if bad.any():
            where = np.argwhere(bad)[0]
            col = int(where[-1])
            value = int(a[tuple(where)])
            d = self.decisions[col]
            raise ValueError(f"architecture: decision {col} ({d.path}) has value {value}, "
                             f"allowed range is 0..{d.num_choices - 1}")
        return a.astype(np.int32)

    def parse(self, text: str) -> np.ndarray:
        """Parses a colon string ``0:2:1:...`` into ``int32[D]``."""
        if not isinstance(text, str):
            raise TypeError(f"architecture string: expected str, got {type(text).__name__}")
        text = text.strip()
        if not text:
            return self.validate(np.zeros((0,), dtype=np.int32))
        parts = text.split(":")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"architecture string: expected integers separated by ':', got {text!r}") from None
        # Why here: numpy raises OverflowError (not ValueError) on a value past int64. The length
        # error comes first (as in validate); clipped values then only reach validate's length check.
        far = next((i for i, v in enumerate(values) if abs(v) > 2**31), None)
        if far is not None and len(values) == self.num_decisions:
            d = self.decisions[far]
            raise ValueError(f"architecture: decision {far} ({d.path}) has value {values[far]}, "
                             f"allowed range is 0..{d.num_choices - 1}")
        values = [max(min(v, 2**31), -2**31) for v in values]
        return self.validate(np.array(values, dtype=np.int64))

    def format(self, arch) -> str:
        """Formats ``int[D]`` as the colon string."""
        return ":".join(str(int(v)) for v in self.validate(arch).reshape(-1))

    def to_json(self, arch) -> str:
        """``{"space": name, "arch": [...]}`` as a JSON string."""
        return json.dumps({"space": self.name, "arch": [int(v) for v in self.validate(arch)]})

    def from_json(self, text: str) -> np.ndarray:
        """Inverse of :meth:`to_json`; checks the space name."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"architecture JSON: not valid JSON ({e})") from None
        if not isinstance(data, dict) or "arch" not in data:
            raise ValueError('architecture JSON: expected an object {"space": ..., "arch": [...]}')
        if data.get("space", self.name) != self.name:
            raise ValueError(f"architecture JSON: written for space {data['space']!r}, not {self.name!r}")
        return self.validate(data["arch"])

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` architectures, each decision uniform and independent: ``int32[n, D]``.

        >>> from jaxnas.searchspace import get_space
        >>> get_space("proxylessnas").sample(np.random.default_rng(0), 4).shape
        (4, 73)
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError("sample: rng must be a numpy.random.Generator, e.g. np.random.default_rng(seed)")
        check_positive_int("n", n)
        u = rng.random((n, self.num_decisions))
        return np.minimum((u * self.num_choices).astype(np.int32), self.num_choices - 1)

    def active(self, archs) -> np.ndarray:
        """``bool[N, D]`` (or ``[D]``): whether each decision affects the network."""
        a = self.validate(archs)
        flat = np.atleast_2d(a)
        out = np.ones(flat.shape, dtype=bool)
        parent, parent_choice = self.parents
        # Post-order: a parent comes after its children, so walk backwards.
        for i in range(self.num_decisions - 1, -1, -1):
            p = parent[i]
            if p >= 0:
                out[:, i] = out[:, p] & (flat[:, p] == parent_choice[i])
        return out.reshape(a.shape)

    def canonicalize(self, archs) -> np.ndarray:
        """Sets decisions that do not affect the network to 0 (one form per network)."""
        a = self.validate(archs)
        return np.where(self.active(a), a, 0).astype(np.int32)

    # ------------------------------------------------------------ serialisation
    def spec_json(self) -> str:
        """The space definition as JSON (round-trips through :func:`space_from_json`)."""
        return json.dumps(spec_to_dict(self))


def space_from_json(text: str) -> Space:
    """Rebuilds a :class:`Space` from :meth:`Space.spec_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"space JSON: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("type") != "Space":
        raise ValueError('space JSON: expected an object with "type": "Space"')
    return spec_from_dict(data, space_type=Space)


def check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def stack_archs(space: Space, archs: Sequence) -> np.ndarray:
    """Validates a list of architectures (strings or arrays) into ``int32[N, D]``."""
    return np.stack([space.validate(a) for a in archs]) if len(archs) else np.zeros(
        (0, space.num_decisions), np.int32)
