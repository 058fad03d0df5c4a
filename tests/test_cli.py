"""The installed console scripts and the README/CI contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, count

BIN = Path(sys.executable).parent


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    test_cmd = ".venv/bin/python -m pytest -q"
    assert f"\n{test_cmd}\n" in ci and f"\n{test_cmd}\n" in readme


@pytest.mark.skipif(not (BIN / "engine").exists(), reason="console scripts not installed")
def test_console_script_import_and_help(tmp_path):
    out = subprocess.run([BIN / "engine", "data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", tmp_path / "s.db"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert count(tmp_path / "s.db", "SELECT COUNT(*) FROM feedback") == 74
    for script in ("engine", "trainer"):
        h = subprocess.run([BIN / script, "--help"], capture_output=True, text=True)
        assert h.returncode == 0 and "Usage:" in h.stdout
    bad = subprocess.run([BIN / "engine", "data", "split", "movie", "--out", tmp_path / "o", "--db", tmp_path / "none.db"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
