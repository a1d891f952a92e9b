"""No import cycles among the jaxnas modules, lazy (in-function) imports included.

The graph is read from the source with ``ast``, not by importing: one node per
module file (a package is its ``__init__``), one edge per ``import jaxnas...`` /
``from jaxnas... import`` (relative imports resolved). ``from P import name``
points at ``P.name`` when that is a module, else at ``P``. The implicit import
of a module's parent packages is not an edge: a package's ``__init__`` imports
its own modules by design, and counting the way back would make every package a
cycle.

Imports inside functions count too. A lazy import is right for a heavy third
party (jax, TensorFlow) or an optional backend, and those are not jaxnas nodes;
a lazy import between two jaxnas modules that import each other only hides the
cycle until someone moves it to the top. Shared code belongs in a module both
import. ``if TYPE_CHECKING:`` imports never run and are left out.
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("packages/*/src")) + [ROOT / "apps" / "src"]


def _modules() -> dict[str, pathlib.Path]:
    """Every jaxnas module by dotted name."""
    modules = {}
    for src in SOURCES:
        for path in (src / "jaxnas").rglob("*.py"):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """The Import/ImportFrom nodes of a module, at any depth, outside ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """``{module: {jaxnas modules it imports}}``."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:  # `import jaxnas.x.y.attr`-like: the module part
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of ``graph``, or None (iterative depth-first search)."""
    state = {}  # absent: unvisited; 1: on the current path; 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_every_package_and_lazy_imports():
    graph = import_graph()
    for package in ("searchspace", "latency", "controller", "supernet", "detection", "apps"):
        assert f"jaxnas.{package}" in graph
    # an in-function import is an edge: get_backend imports the XLA backend (and so jax) only when asked
    assert "jaxnas.latency._xla" in graph["jaxnas.latency._backends"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles_among_jaxnas_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
