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
LAZY_ALLOWED = {"engine/cli.py", "trainer/cli.py", "tui/cli.py", "engine/backends.py"}


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
