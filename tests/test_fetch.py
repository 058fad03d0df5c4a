"""Fetching ML-100K on a machine that reaches only the package index."""

from __future__ import annotations

import pytest

from db import RecchatError
from db.fetch import RECBOLE_SHA256, fetch_ml100k
from db.fileio import file_sha256
from tests.conftest import count, engine


def test_fetch_from_recbole_wheel_then_import(tmp_path):
    logs: list[str] = []
    got = fetch_ml100k(tmp_path / "cache", log=logs.append)
    assert got == tmp_path / "cache"
    for name, h in RECBOLE_SHA256.items():
        assert file_sha256(got / name) == h
    assert any("sha256 verified" in line for line in logs)
    again: list[str] = []
    assert fetch_ml100k(tmp_path / "cache", log=again.append) == got
    assert again == [f"ml-100k already in {got}"], "cached copy reused without network"
    db = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", got, "--db", db).exit_code == 0
    assert count(db, "SELECT COUNT(*) FROM feedback") == 100_000


def test_fetch_into_unwritable_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecchatError, match="cannot create cache folder"):
        fetch_ml100k(blocker / "cache", try_url=False, log=lambda s: None)
