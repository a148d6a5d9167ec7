"""Layering you can see: which package may import which, and no import cycles.

Every ``import`` in ``src/sceneforge`` counts, those inside functions too (a lazy import is still
a dependency); only ``if TYPE_CHECKING:`` blocks are left out. The rules (docs/architecture.md):

* the compiler packages are pure: they import neither configuration nor any I/O layer;
* ``storage`` and ``events`` never import ``jobs`` or ``api``; ``jobs`` never imports ``api``;
* ``settings`` is a leaf (it imports only ``config``); nothing imports the CLI;
* no module imports itself through others, and no package through others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Packages of the compiler: pure, no I/O, no settings.
PURE = {"model", "ingest", "validate", "geometry", "passes", "visibility", "encode", "tolerances", "incremental"}
#: Packages that do I/O or hold the service together, lowest first.
EDGE = ["settings", "storage", "events", "jobs", "api", "cli"]
#: (importer, imported) pairs that must not occur.
FORBIDDEN = (
    {(p, q) for p in PURE for q in EDGE}
    | {(p, q) for p in ("storage", "events") for q in ("jobs", "api", "cli")}
    | {("jobs", "api"), ("jobs", "cli"), ("api", "cli")}
)
#: ``settings`` imports nothing of the project but ``config``.
LEAVES = {
    "settings": {"config"},
    "config": set(),
    "errors": set(),
    "arrays": set(),
    "version": set(),
    "aio": set(),
    "lazy": set(),
    "glb_magic": set(),
    "scene_ids": set(),
    "wire": set(),
    "textrows": set(),
    "jsontext": {"wire"},
}


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package ``__init__``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def imports(root: Path) -> dict[str, set[str]]:
    """Module → the project modules it imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    mods = modules(root)
    top = root.name
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, (path, package) in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]
            graph[name].update(t for t in targets if t == top or t.startswith(top + "."))
    return graph


def layer(module: str) -> str:
    """The package a module belongs to (``sceneforge.jobs.pool`` → ``jobs``; the migrations are storage's)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return "storage" if name == "migrations" else name


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for succ in edges:
                if succ not in graph:
                    continue
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every forbidden edge, as ``importer -> imported``."""
    bad = []
    for importer, targets in graph.items():
        for target in targets:
            a, b = layer(importer), layer(target)
            if a == b:
                continue
            if (a, b) in FORBIDDEN or (a in LEAVES and b not in LEAVES[a]):
                bad.append(f"{importer} -> {target}")
    return sorted(bad)


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for importer, targets in graph.items():
        edges = packages.setdefault(layer(importer), set())
        edges.update(layer(t) for t in targets if layer(t) != layer(importer))
    return packages


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return imports(SRC / "sceneforge")


def test_layering_allowed_edges_only(graph: dict[str, set[str]]) -> None:
    assert "sceneforge.storage.scenes" in graph and "sceneforge.api.app" in graph
    assert violations(graph) == []


def test_layering_no_module_cycles(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_layering_no_package_cycles(graph: dict[str, set[str]]) -> None:
    assert cycles(package_graph(graph)) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "sceneforge"


def _pairs(graph: dict[str, set[str]]) -> Iterable[tuple[str, str]]:
    return {(a, b) for a, targets in graph.items() for b in targets}


def test_layering_checker_sees_lazy_imports_cycles_and_forbidden_edges(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "sceneforge/__init__.py": "",
            "sceneforge/storage/__init__.py": "from .scenes import Scene\n",
            "sceneforge/storage/scenes.py": "def f():\n    from ..jobs import service\n",
            "sceneforge/jobs/__init__.py": "",
            "sceneforge/jobs/service.py": "from ..storage.scenes import f\nfrom . import celery_app\n",
            "sceneforge/jobs/celery_app.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..api import app\ndef g():\n    from .service import x\n",
            "sceneforge/api/__init__.py": "",
            "sceneforge/api/app.py": "import sceneforge.jobs.service\n",
            "sceneforge/geometry/__init__.py": "from sceneforge.settings import Settings\n",
            "sceneforge/settings.py": "",
        },
    )
    graph = imports(pkg)
    assert ("sceneforge.storage", "sceneforge.storage.scenes") in _pairs(graph)
    assert ("sceneforge.jobs.celery_app", "sceneforge.api.app") not in _pairs(graph)  # TYPE_CHECKING only
    assert ("sceneforge.api.app", "sceneforge.jobs.service") in _pairs(graph)
    assert violations(graph) == [
        "sceneforge.geometry -> sceneforge.settings",
        "sceneforge.storage.scenes -> sceneforge.jobs.service",
    ]
    assert cycles(graph) == [["sceneforge.jobs.celery_app", "sceneforge.jobs.service", "sceneforge.storage.scenes"]]
    assert ["jobs", "storage"] in cycles(package_graph(graph))
