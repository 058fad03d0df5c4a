"""The SQLite store: pragmas, migrations, append-only feedback, latest-wins view."""

from __future__ import annotations

import sqlite3

import pytest

from db import RecchatError, open_db, transaction
from db.migrations import MIGRATIONS
from db.store import schema_version


def test_pragmas_and_schema(tmp_path):
    db = open_db(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == len(MIGRATIONS)
    assert {"items", "items_fts", "users", "feedback", "chats", "messages", "eval_runs", "schema_version"} <= set(db.table_names())
    again = open_db(tmp_path / "s.db")
    assert again.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_newer_schema_is_refused(tmp_path):
    db = open_db(tmp_path / "s.db")
    db.execute("INSERT INTO schema_version VALUES (99, 'future')")
    with pytest.raises(RecchatError, match="schema v99 is newer than this program"):
        open_db(tmp_path / "s.db")


def _seed(db):
    with transaction(db):
        db.execute("INSERT INTO users (name) VALUES ('ann')")
        db.execute("INSERT INTO items (domain, source, source_id, name, title, genres) VALUES ('movie', 't', '1', 'Heat (1995)', 'Heat', 'Crime')")
        db.execute("INSERT INTO items (domain, source, source_id, name, title, genres) VALUES ('movie', 't', '2', 'Alien (1979)', 'Alien', 'Horror, Sci-Fi')")


def test_feedback_append_only_latest_wins(tmp_path):
    db = open_db(tmp_path / "s.db")
    _seed(db)
    rows = [(1, 1, 1, "import", 10.0), (1, 1, 0, "chat", 20.0), (1, 2, 1, "chat", 5.0), (1, 2, None, "chat", 6.0)]
    with transaction(db):
        for r in rows:
            db.execute("INSERT INTO feedback (user_id, item_id, liked, source, ts) VALUES (?, ?, ?, ?, ?)", r)
    current = db.execute("SELECT item_id, liked FROM current_feedback ORDER BY item_id").fetchall()
    assert current == [(1, 0)], "item 1: the later dislike wins; item 2: retracted"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE feedback SET liked = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM feedback")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO feedback (user_id, item_id, liked, source, ts) VALUES (1, 999, 1, 'chat', 1)")


def test_fts_finds_title_creator_genre(tmp_path):
    db = open_db(tmp_path / "s.db")
    _seed(db)
    hits = [r["title"] for r in db["items"].search("horror")]
    assert hits == ["Alien"]
    assert [r["title"] for r in db["items"].search("heat")] == ["Heat"]


def test_transaction_rolls_back(tmp_path):
    db = open_db(tmp_path / "s.db")
    with pytest.raises(ValueError):
        with transaction(db):
            db.execute("INSERT INTO users (name) VALUES ('bob')")
            raise ValueError
    assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0


def test_current_ratings_arrays_equal_the_current_feedback_view(tmp_path):
    """The fit's sequential read applies the view's rule: latest by time then id, retractions gone, one domain."""
    import numpy as np

    from db.feedback import current_ratings

    db = open_db(tmp_path / "s.db")
    rng = np.random.default_rng(0)
    with transaction(db):
        for u in range(30):
            db.execute("INSERT INTO users (name) VALUES (?)", [f"u{u}"])
        for k in range(40):
            db.execute("INSERT INTO items (domain, source, source_id, name, title) VALUES (?, 't', ?, ?, ?)",
                       ["movie" if k % 4 else "book", str(k), f"Item {k}", f"Item {k}"])
        for n in range(1500):  # re-ratings, retractions (NULL) and equal timestamps (ties go to the later id)
            liked = [0, 1, None][rng.integers(3)]
            db.execute("INSERT OR IGNORE INTO feedback (user_id, item_id, liked, source, ts) VALUES (?, ?, ?, ?, ?)",
                       [int(rng.integers(1, 31)), int(rng.integers(1, 41)), liked, ["chat", "cli"][n % 2],
                        float(rng.integers(0, 30))])
    view = db.execute("""SELECT c.user_id, c.item_id, c.liked FROM current_feedback c JOIN items i ON i.id = c.item_id
                         WHERE i.domain = 'movie' ORDER BY c.user_id, c.item_id""").fetchall()
    got = current_ratings(db, "movie", chunk=100)
    assert len(view) > 200
    assert list(zip(got.users.tolist(), got.items.tolist(), got.liked.tolist())) == view
    assert current_ratings(db, "game").n_ratings == 0
