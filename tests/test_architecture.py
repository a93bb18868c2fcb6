"""The house map, kept by the test suite: the layers of `pyproject.toml`'s import-linter contracts,
and no import circle anywhere in `app` (not even a lazy import inside a function)."""

from __future__ import annotations

import grimp
import pytest
from importlinter.cli import lint_imports


def _circles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root)))]
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            if successors:
                nxt = successors.pop()
                if nxt not in modules:
                    continue
                if nxt not in index:
                    index[nxt] = lowlink[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt))))
                elif nxt in on_stack:
                    lowlink[node] = min(lowlink[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_layer_contracts_hold() -> None:
    """routers → dependencies → container → services (flows → amont → organismes → journal) →
    schemas → rules; the rules engine and the foundations import nothing above them."""
    assert lint_imports(no_cache=True) == 0


def test_no_import_circle_in_the_application() -> None:
    graph = grimp.build_graph("app", cache_dir=None)
    circles = _circles(graph, set(graph.modules))
    assert circles == [], f"cercles d'imports : {circles}"


def test_the_circle_finder_sees_a_circle() -> None:
    """The finder itself can fail: a graph with a circle a → b → c → a is reported."""
    graph = grimp.ImportGraph()
    for module in ("x", "x.a", "x.b", "x.c", "x.d"):
        graph.add_module(module)
    for importer, imported in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a"), ("x.d", "x.a")):
        graph.add_import(importer=importer, imported=imported)
    assert _circles(graph, {"x.a", "x.b", "x.c", "x.d"}) == [["x.a", "x.b", "x.c"]]


@pytest.mark.parametrize("package", ["app.services.amont", "app.services.journal", "app.services.organismes"])
def test_each_service_package_says_what_it_offers(package: str) -> None:
    module = __import__(package, fromlist=["__all__"])
    assert module.__doc__
    assert module.__all__
