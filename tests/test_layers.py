"""The layers hold: a pure core, interfaces that reach adapters only through `app/`, adapters
that never climb back into the use cases, no import circle between packages, and SQL only in
`store/`.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy or
type-only import is still a dependency someone has to keep working.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "assetloom"
CORE_ALLOWED_THIRD_PARTY = {"numpy"}
INTERFACES = ("cli", "api", "web", "server")
ADAPTERS = ("store", "index", "blobs", "models", "provenance", "tagging", "accounts", "ingest")
USE_CASES = "app"
SQLALCHEMY_OUTSIDE_STORE: dict[str, set[str]] = {
    # The engines and session factories it hands to the use cases and services (types only).
    "assetloom.app.library": {
        "sqlalchemy.Engine",
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.sessionmaker",
    },
    # Parses and checks a user's catalog URL (no password, PostgreSQL only).
    "assetloom.app.wiring": {"sqlalchemy.engine.make_url", "sqlalchemy.exc.ArgumentError"},
    # Tells an unreachable target database, and a done mark it could not write after the
    # switch, from other failures, to say what to do about each.
    "assetloom.app.migrate": {"sqlalchemy.exc.DBAPIError", "sqlalchemy.exc.OperationalError"},
    # The VectorIndex port on pgvector (index/base.py): the catalog's embeddings rows are the
    # index, so its HNSW DDL and nearest-neighbour queries are the index's own.
    "assetloom.index.pgvector": {
        "sqlalchemy.Connection",
        "sqlalchemy.Engine",
        "sqlalchemy.text",
        "sqlalchemy.exc.DBAPIError",
    },
    # The ledger works in its caller's transaction (a leaf commits with the asset it
    # registers), so these name the Session they pass to the log store (types only).
    "assetloom.provenance.base": {"sqlalchemy.orm.Session"},
    "assetloom.provenance.log_store": {"sqlalchemy.orm.Session"},
    "assetloom.provenance.registration": {"sqlalchemy.orm.Session"},
    # Opens the transactions its log's calls share (types only).
    "assetloom.provenance.ledger_service": {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.sessionmaker",
    },
}
"""Outside `store/` (migrations included there), nothing imports SQLAlchemy but these names:
queries, tables and dialects are the store's business."""


def _imports() -> dict[str, set[str]]:
    """Module name -> every module it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    names.add(".".join([*base, node.module] if node.module else base))
                elif node.module:
                    names.add(node.module)
        found[module] = names
    return found


IMPORTS = _imports()


def _sqlalchemy_names() -> dict[str, set[str]]:
    """Module name -> every SQLAlchemy name it imports (`sqlalchemy.orm.Session`; a plain
    `import sqlalchemy.orm` counts as the whole module)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found[module].update(n for n in names if n.split(".")[0] == "sqlalchemy")
    return found


def _package(module: str) -> str:
    """The top-level package a module of ours belongs to (a lone module is its own)."""
    return module.split(".")[1] if "." in module else module


def _ours(name: str) -> bool:
    return name == "assetloom" or name.startswith("assetloom.")


def _in(module: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return _ours(module) and _package(module) in packages


def test_the_tree_is_parsed() -> None:
    assert "assetloom.core.merkle" in IMPORTS and "assetloom.app.library" in IMPORTS


def test_core_imports_only_the_standard_library_numpy_and_itself() -> None:
    stdlib = set(sys.stdlib_module_names)
    bad = {
        (module, name)
        for module, names in IMPORTS.items()
        if _in(module, "core")
        for name in names
        if not (
            name.split(".")[0] in stdlib
            or name.split(".")[0] in CORE_ALLOWED_THIRD_PARTY
            or name == "assetloom.errors"
            or name == "assetloom.core"
            or name.startswith("assetloom.core.")
        )
    }
    assert not bad, f"core/ must stay pure: {sorted(bad)}"


@pytest.mark.parametrize("interface", INTERFACES)
def test_interfaces_reach_adapters_only_through_the_use_cases(interface: str) -> None:
    bad = {
        (module, name)
        for module, names in IMPORTS.items()
        if _in(module, interface)
        for name in names
        if _in(name, ("store", "index", "blobs"))
    }
    assert not bad, f"{interface}/ imports adapters directly: {sorted(bad)}"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_never_import_the_use_cases(adapter: str) -> None:
    bad = {
        (module, name)
        for module, names in IMPORTS.items()
        if _in(module, adapter)
        for name in names
        if _in(name, (USE_CASES, *INTERFACES))
    }
    assert not bad, f"{adapter}/ climbs back into app/ or an interface: {sorted(bad)}"


def test_sql_stays_in_the_store() -> None:
    """Queries, tables and dialects live in `store/`; elsewhere only the allow-listed types,
    URL parsing and driver errors (see SQLALCHEMY_OUTSIDE_STORE, each with its reason)."""
    bad = {
        (module, name)
        for module, names in _sqlalchemy_names().items()
        if not _in(module, "store")
        for name in names
        if name not in SQLALCHEMY_OUTSIDE_STORE.get(module, set())
    }
    assert not bad, f"SQLAlchemy outside store/ (move the SQL into store/): {sorted(bad)}"


def test_no_import_circle_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, names in IMPORTS.items():
        for name in names:
            if _ours(name) and name != "assetloom" and _package(name) != _package(module):
                edges[_package(module)].add(_package(name))
    circles = _strongly_connected(edges)
    assert not circles, f"packages importing each other in a circle: {circles}"


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one package."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("interface", INTERFACES)
def test_interfaces_leave_locking_to_the_use_cases(interface: str) -> None:
    """Routers and commands call the library; which lock a use case needs is its own
    business (a router holding the index lock around a use case that takes it again would
    deadlock behind a waiting writer)."""
    bad = []
    for path in (SRC / interface).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("reading", "writing"):
                bad.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not bad, f"locks taken outside the use cases: {bad}"
