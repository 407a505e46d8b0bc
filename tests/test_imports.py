"""The import graph of lossdb's own modules has no cycle.

Every import statement counts, the ones inside functions too: a function-level import that
closes a cycle is a cycle held apart by timing, and the next refactor that hoists it breaks
start-up. Modules are read with `ast` from the source folders pyproject maps under lossdb.*
(nothing is imported), so the test sees exactly what the files say.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pyproject's [tool.setuptools.package-dir]: the import name of each source folder.
PACKAGES = {"lossdb": "lossdb", "lossdb.ingest": "ingest", "lossdb.queries": "queries", "lossdb.cli": "cli",
            "lossdb.sql": "sql", "lossdb.demo": "demo", "lossdb.integrations": "lossdb/integrations"}


def modules() -> dict[str, Path]:
    """{module name: file} for every .py file of every package."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The lossdb modules that module `name` imports, anywhere in its body.

    `from P import x` names module P.x where that is a module, else P itself (x is an
    attribute of P's __init__). Parent packages that Python initialises on the way are not
    edges: they are already importing (or imported) when a submodule runs."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    found.add(target)
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path a -> ... -> a) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(set(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_through(edges, component) for component in components]


def _path_through(edges: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle from the component's first module back to itself, for the message."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges[node] & component):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    return sorted(component)


def test_the_graph_sees_every_package():
    edges = graph()
    assert {"lossdb", "lossdb.store", "lossdb.queries.core", "lossdb.ingest.pipeline", "lossdb.cli.app"} <= set(edges)
    assert "lossdb.queries.result" in edges["lossdb.queries.core"]  # a relative import, resolved


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_lossdb_modules():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def package_of(module: str) -> str:
    """The unit the package graph is drawn between: a subpackage (lossdb.queries, ...) whole, and
    each module of the root package (lossdb.store, lossdb.errors, ...) on its own, since
    every package imports lossdb.errors and the root package re-exports the Store."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and PACKAGES.get(".".join(parts[:2])) else module


def test_no_import_cycle_between_lossdb_packages():
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        edges.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module))
    found = cycles(edges)
    assert not found, "package import cycles:\n" + "\n".join(" -> ".join(c) for c in found)
