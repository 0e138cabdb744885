"""The layout holds: few modules at the top, none too long, no import cycle, each subpackage
saying what it offers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "loadlab"
MAX_TOP_MODULES = 12
MAX_LINES = 350


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project's modules ``path`` imports at run time (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for stmt in guard.body
        for node in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("loadlab"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
    return found - {name}


def test_at_most_twelve_modules_directly_under_the_package():
    """src/loadlab/ holds the entry points and orchestration only; the rest is in subpackages."""
    top = [p for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_MODULES, sorted(p.name for p in top)


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_longer_than_350_lines(name):
    """A module stays short enough to read at once."""
    lines = modules()[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines"


def test_no_import_cycle_among_the_packages_modules():
    """Following imports from any module never leads back to it."""
    found = modules()
    graph = {n: imports_of(p, n, set(found)) for n, p in found.items()}
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError(" -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            if nxt != node.rpartition(".")[0]:  # a module's own package __init__ is no cycle
                visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_every_subpackage_says_what_it_offers():
    """Each subpackage's __init__ has a docstring naming its modules."""
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        siblings = [p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"]
        missing = [s for s in siblings if s not in doc]
        assert not missing, f"{init.parent.name}/__init__.py does not name {missing}"
