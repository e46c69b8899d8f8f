"""The house has no loop: layers import downward only, read from the import graph of the source.

    engine (tracer/engine) ← topology (models, importers, services, …) ← tracer core (models, services,
    intents, jobs, tasks) ← API (*/api, admin) ← entry points for people (frontend, management commands)
    ← config.urls

Three rules, each checked by walking the AST of every module under topology/, tracer/ and frontend/
(no import is executed, so the test also sees code paths no other test runs):

1. A module never imports a module of a higher layer (module-level or inside a function).
2. Module-level imports between project modules form no cycle (tasks ↔ jobs was one).
3. No function-local import of a project module — such an import is how a cycle hides. Exceptions are
   listed in ALLOWED_LOCAL with the reason each is there (none today); a new one fails the test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("topology", "tracer", "frontend", "config")
SCANNED = ("topology", "tracer", "frontend")

# (prefix, layer): the longest matching prefix decides. Lower numbers are lower layers.
LAYERS = [
    ("config.settings", 0), ("config.env", 0), ("config.celery", 0),  # infrastructure every layer may use
    ("tracer.engine", 1),
    ("topology", 2),
    ("tracer", 3),
    ("topology.api", 4), ("tracer.api", 4), ("topology.admin", 4), ("tracer.admin", 4),
    ("frontend", 5), ("topology.management", 5), ("tracer.management", 5),  # what a person runs or opens
    ("config", 6),  # config.urls, wsgi, asgi: the top, they mount everything
]
LAYER_NAMES = {0: "infrastructure", 1: "engine", 2: "topology", 3: "tracer core", 4: "API",
               5: "frontend/commands", 6: "config"}

# Function-local imports of project modules that stay, each with its reason: (importer, imported) → why.
ALLOWED_LOCAL: dict[tuple[str, str], str] = {}

# Deferred imports *inside* the engine (tracer/engine → tracer/engine) are not checked by rule 3: no layer can
# be crossed from there (rule 1 checks that the engine imports nothing above it), and the engine's own module
# shape is being redrawn (issue 12 item 1: decisions as pure functions called by the graph walk).
ENGINE = "tracer.engine"


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" not in path.parts and "node_modules" not in path.parts:
                out[module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The project modules an import statement loads (`from pkg import mod` → pkg.mod when mod is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] not in PACKAGES:
        return []
    found = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return found or [target]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    return skip


def _imports() -> list[tuple[str, str, bool, int]]:
    """(importer, imported, function_local, line) for every import of a project module."""
    out = []
    for name, path in MODULES.items():
        if name.split(".")[0] not in SCANNED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = _type_checking_nodes(tree)
        local = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                 for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
                for target in _resolve(name, path.name == "__init__.py", node):
                    out.append((name, target, id(node) in local, node.lineno))
    return out


IMPORTS = _imports()


def test_the_scan_sees_the_project():
    """Guards the guard: the walk finds the modules and the imports this test is about."""
    assert {"tracer.jobs.queue", "tracer.tasks", "topology.services", "tracer.engine.trace"} <= set(MODULES)
    edges = {(a, b) for a, b, _local, _line in IMPORTS}
    assert ("tracer.tasks", "tracer.jobs.runner") in edges
    assert ("topology.compile", "tracer.engine.cluster") in edges
    assert all(layer_of(m) is not None for m in MODULES), [m for m in MODULES if layer_of(m) is None]


def test_no_module_imports_a_higher_layer():
    upward = [f"{a}:{line} ({LAYER_NAMES[layer_of(a)]}) imports {b} ({LAYER_NAMES[layer_of(b)]})"
              for a, b, _local, line in IMPORTS
              if layer_of(b) is not None and layer_of(b) > layer_of(a)]
    assert not upward, "lower layers must not import higher ones:\n" + "\n".join(upward)


def test_module_level_imports_form_no_cycle():
    graph = nx.DiGraph((a, b) for a, b, local, _line in IMPORTS if not local and a != b)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_function_local_imports_of_project_modules():
    hidden = [f"{a}:{line} imports {b} inside a function" for a, b, local, line in IMPORTS
              if local and (a, b) not in ALLOWED_LOCAL and not _inside_engine(a, b)]
    assert not hidden, ("move these imports to the top of the module (if that makes a cycle, the code is in the "
                        "wrong layer):\n" + "\n".join(hidden))


def _inside_engine(a: str, b: str) -> bool:
    return layer_of(a) == layer_of(b) == layer_of(ENGINE)


@pytest.mark.parametrize("importer, imported", [
    ("topology.services", "tracer.jobs"),  # the cycle this test was written against
    ("tracer.engine.trace", "topology.models"),
    ("tracer.services", "tracer.api.views"),
])
def test_the_layer_table_orders_the_known_cycle_upward(importer, imported):
    """The table itself: each of these imports would point upward, so rule 1 would report it."""
    assert layer_of(imported) > layer_of(importer)

