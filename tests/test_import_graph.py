"""No import cycles in ``meldae`` or ``app``, function-level imports included.

The graph is built from the source with ``ast`` (nothing is imported): every ``import`` and
``from ... import`` statement anywhere in a module, also inside functions and under
``if TYPE_CHECKING:``, is an edge. Relative imports are resolved against the module's
package. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to
``pkg``. Importing ``pkg.mod`` counts as importing ``pkg.mod`` only, not ``pkg/__init__``:
Python does run the package's ``__init__`` first, but an ``__init__`` that re-exports its
modules would otherwise put every module of a package on a cycle with every other one
that imports a sibling through the package. (``__init__`` modules are nodes too: what they
import is counted.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("meldae", "app")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ``meldae``/``app`` it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(tree):
            names = _targets(node, module, is_package)
            if isinstance(node, ast.ImportFrom):
                # ``from pkg import mod`` -> pkg.mod; ``from pkg import func`` -> pkg
                resolved = [_resolve(n, modules) for n in names[:-1]]
                exact = [r for r, n in zip(resolved, names[:-1]) if r == n]
                edges.update(exact or [_resolve(names[-1], modules)])
            else:
                edges.update(_resolve(n, modules) for n in names)
        edges.discard(None)
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, black) == grey:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(graph):
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "meldae.atomic" in graph["meldae.annotations.files"]
    assert "meldae.annotations.model" in graph["meldae.annotations.segment_set"]
    # a function-level import (meldae.checkpoint imports meldae.atomic inside a function)
    assert "meldae.atomic" in graph["meldae.checkpoint"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_in_meldae_or_app():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
