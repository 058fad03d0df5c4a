"""The package layering: db is the base; engine and trainer depend only on db; tui on engine and db.

Every import counts, including those inside functions (a lazy import is still a dependency). The
default model is built through the `recchat.model_builders` entry point, so the engine never imports
the trainer (db/default_model.py).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from db.errors import RecchatError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("db", "engine", "trainer", "tui")
FORBIDDEN = {
    "db": {"engine", "trainer", "tui"},
    "engine": {"trainer", "tui"},
    "trainer": {"engine", "tui"},
    "tui": {"trainer"},
}


def imported_packages(path: Path, package: str):
    """(line, top-level package) for every import in a file; relative imports resolved against `package`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module_parts = list(path.relative_to(ROOT).with_suffix("").parts)  # e.g. ["engine", "scorer"]
    if module_parts[-1] == "__init__":
        module_parts = module_parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from .x import y` from inside package p stays in p (or above it)
                own_package = module_parts if path.name == "__init__.py" else module_parts[:-1]
                base = own_package[:len(own_package) - node.level + 1]
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    yield node.lineno, parts[0]
                else:  # `from .. import x` at the top: x is a package
                    for alias in node.names:
                        yield node.lineno, alias.name.split(".")[0]
            elif node.module:
                yield node.lineno, node.module.split(".")[0]


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, imported in imported_packages(path, package):
            if imported in FORBIDDEN[package]:
                found.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {imported}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_respect_the_layering(package):
    found = violations(package)
    assert not found, "layering violations:\n" + "\n".join(found)


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    """A lazy import (inside a function) is a dependency too, and relative imports resolve to their package."""
    pkg = tmp_path / "engine"
    pkg.mkdir()
    (pkg / "x.py").write_text("def f():\n    from trainer.export import export\n    from .y import z\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [imp for _, imp in imported_packages(pkg / "x.py", "engine")] == ["trainer", "engine"]
    assert violations("engine") == ["engine/x.py:2: engine imports trainer"]


def test_the_default_builder_is_registered():
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="recchat.model_builders") if ep.name == "default"]
    assert len(eps) == 1, "pip install -e . registers the entry point (pyproject.toml)"
    assert (eps[0].module, eps[0].attr) == ("trainer.default_model", "build")
    import trainer.default_model  # cheap: torch and transformers load inside the export only

    assert callable(trainer.default_model.build)


def test_no_builder_is_one_line_error(tmp_path, monkeypatch):
    """Without the trainer, first use says what to install (or --model) instead of a traceback."""
    import db.default_model as dm

    if not dm.adapter_available():
        pytest.skip("no shipped adapter: the base model is served as is")
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(dm, "entry_points", lambda **kw: [])
    with pytest.raises(RecchatError) as e:
        dm.default_engine_model(log=lambda msg: None)
    msg = str(e.value)
    assert "\n" not in msg
    assert "not built yet" in msg and "torch, transformers, peft" in msg and "--model PATH" in msg
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_a_builder_that_cannot_import_is_the_same_error(tmp_path, monkeypatch):
    import db.default_model as dm

    if not dm.adapter_available():
        pytest.skip("no shipped adapter: the base model is served as is")

    class Missing:
        name = "default"

        def load(self):
            raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(dm, "entry_points", lambda **kw: [Missing()])
    with pytest.raises(RecchatError, match=r"not built yet.*torch, transformers, peft.*--model PATH.*torch"):
        dm.default_engine_model(log=lambda msg: None)


# ------------------------------------------------------- engine's capability packages
# Each package of engine/ says in its __init__ docstring what it may import ("May import: db, engine.collab.");
# docs/architecture.md shows the same table. engine.cli, the entry point, may import every package.


def engine_packages() -> dict[str, set[str]]:
    """engine.X -> the packages its docstring allows (besides itself)."""
    rules = {}
    for init in sorted((ROOT / "engine").glob("*/__init__.py")):
        name = "engine." + init.parent.name
        if name == "engine.cli":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        found = re.search(r"May import: ([\w., ]+?)\.?\s*$", doc, re.M)
        assert found, f"{init.relative_to(ROOT)}: the docstring says what the package may import ('May import: ...')"
        rules[name] = {p.strip() for p in found.group(1).split(",")}
    return rules


def engine_imports(path: Path) -> list[tuple[int, str]]:
    """(line, engine.X or db/...) for every import of a file inside engine/, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    own = parts[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own[:len(own) - node.level + 1]
                mod = ".".join(base + (node.module.split(".") if node.module else []))
                out += [(node.lineno, mod + "." + a.name if not node.module else mod) for a in node.names]
            elif node.module:
                out.append((node.lineno, node.module))
    return out


def engine_violations() -> list[str]:
    rules = engine_packages()
    found = []
    for package, allowed in rules.items():
        for path in sorted((ROOT / Path(*package.split("."))).rglob("*.py")):
            for line, mod in engine_imports(path):
                parts = mod.split(".")
                if parts[0] == "engine":
                    target = ".".join(parts[:2])
                    if len(parts) == 1 or target == package:
                        continue
                    if target not in allowed:
                        found.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {target}")
    return found


def test_engine_packages_import_only_what_their_docstring_allows():
    found = engine_violations()
    assert not found, "engine layering violations:\n" + "\n".join(found)


def test_engine_package_rules_have_no_circle():
    rules = engine_packages()
    graph = {p: {a for a in allowed if a.startswith("engine.")} for p, allowed in rules.items()}
    done = set()

    def visit(node, path):
        assert node not in path, "circle of allowed imports: " + " -> ".join([*path, node])
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, [*path, node])
        done.add(node)

    for p in graph:
        visit(p, [])
    assert set().union(*graph.values()) <= set(graph), "a rule names a package engine/ does not have"


def test_the_engine_checker_catches_a_wrong_direction(tmp_path, monkeypatch):
    for pkg, doc in {"collab": "May import: db.", "rank": "May import: db, engine.collab."}.items():
        (tmp_path / "engine" / pkg).mkdir(parents=True)
        (tmp_path / "engine" / pkg / "__init__.py").write_text(f'"""What it owns.\n\n{doc}\n"""\n')
    (tmp_path / "engine" / "collab" / "model.py").write_text("from engine.rank.stack import Reranker\n")
    (tmp_path / "engine" / "rank" / "x.py").write_text("from ..collab.model import CollabModel\nfrom .y import z\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert engine_violations() == ["engine/collab/model.py:1: engine.collab imports engine.rank"]


def test_architecture_doc_shows_the_docstrings_table():
    """docs/architecture.md's package table is the one the packages' docstrings give (docs/architecture.py)."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import architecture
    finally:
        sys.path.remove(str(ROOT / "docs"))
    doc = (ROOT / "docs" / "architecture.md").read_text()
    shown = doc.split("<!-- table: docs/architecture.py --table -->\n")[1].split("\n<!-- end table -->")[0]
    assert shown == architecture.table(), "regenerate: .venv/bin/python docs/architecture.py --table"
    edges = architecture.package_edges()
    rules = engine_packages()
    for package, targets in edges.items():  # the picture's arrows obey the same rules
        if package in rules:
            assert {t for t in targets if t.startswith("engine.")} <= rules[package], package


def test_no_engine_module_sits_outside_a_package():
    loose = sorted(p.name for p in (ROOT / "engine").glob("*.py") if p.name != "__init__.py")
    assert not loose, f"engine/ holds packages only: {loose}"


# ------------------------------------------------------------- one data layer
SQL_CALLS = {"execute", "executemany", "executescript", "query", "rows_where"}
SQL_TEXT = re.compile(r"\b(SELECT\b.+\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA)\b",
                      re.I | re.S)


def sql_sites(path: Path) -> list[str]:
    """Store access in a file: a call of a connection/sqlite-utils query method, or SQL text."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL text")
    return found


@pytest.mark.parametrize("package", ["engine", "tui", "trainer", "bench"])
def test_every_store_query_lives_in_db(package):
    found = [site for path in sorted((ROOT / package).rglob("*.py")) for site in sql_sites(path)]
    assert not found, "store access outside db/:\n" + "\n".join(found)


def test_the_sql_checker_sees_calls_and_text(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    f = tmp_path / "x.py"
    f.write_text('def f(db):\n    db.execute("x")\n    s = "SELECT id FROM items"\n    t = "select the best one"\n')
    assert sql_sites(f) == ["x.py:2: .execute(", "x.py:3: SQL text"]


# Where a project import may sit inside a function: the command-line entry points (each command
# imports what it runs, so `--help` and quick commands skip numpy/sklearn/textual) and the backend
# chooser (each backend brings its own heavy client: llama-cpp or httpx).
LAZY_ALLOWED = {"trainer/cli.py", "tui/cli.py", "engine/llm/backends.py"} | {
    str(p.relative_to(ROOT)) for p in (ROOT / "engine" / "cli").glob("*.py")}


def lazy_project_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {'.' * node.level}{node.module}")
                elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in PACKAGES for a in node.names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: import")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_sit_at_module_top(package):
    found = [site for path in sorted((ROOT / package).rglob("*.py"))
             if str(path.relative_to(ROOT)) not in LAZY_ALLOWED for site in lazy_project_imports(path)]
    assert not found, "project imports inside functions (move them to the top):\n" + "\n".join(found)


def test_the_rooms_stay_small():
    """Issue 44's sizes: each CLI group file under 250 lines, the chat session under 300."""
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in [*(ROOT / "engine" / "cli").glob("*.py"), ROOT / "engine" / "chat" / "session.py"]}
    too_big = {f: n for f, n in sizes.items() if n >= (300 if f.endswith("session.py") else 250)}
    assert not too_big, f"split these by what they hold: {too_big}"
