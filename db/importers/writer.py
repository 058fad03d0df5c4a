"""Idempotent inserts shared by all importers: re-importing a file adds nothing.

Ratings are written in batches (executemany of FEEDBACK_BATCH rows) inside the import's one
transaction: an import stays all-or-nothing, and memory stays bounded at any file size because
SQLite spills the transaction's pages to its WAL file, not to memory.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import sqlite_utils

from ..store import transaction

FEEDBACK_BATCH = 50_000
IMPORT_CACHE_KIB = 256 * 1024  # SQLite page cache while importing: index pages stay in memory (bounded)


@dataclass
class ItemRecord:
    domain: str
    source: str
    source_id: str
    name: str
    title: str
    year: int | None = None
    creators: str = ""
    genres: str = ""
    text: str = ""


@dataclass
class Writer:
    """Inserts with INSERT OR IGNORE on natural keys and counts what was really added."""

    conn: sqlite3.Connection
    added: dict[str, int] = field(default_factory=lambda: {"items": 0, "users": 0, "feedback": 0})
    _items: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _users: dict[str, int] = field(default_factory=dict)
    _pending: list[tuple] = field(default_factory=list)

    def item(self, r: ItemRecord) -> int:
        key = (r.domain, r.source, r.source_id)
        if key not in self._items:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO items (domain, source, source_id, name, title, year, creators, genres, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.domain, r.source, r.source_id, r.name, r.title, r.year, r.creators, r.genres, r.text),
            )
            self.added["items"] += cur.rowcount
            self._items[key] = self.conn.execute(
                "SELECT id FROM items WHERE domain = ? AND source = ? AND source_id = ?", key
            ).fetchone()[0]
        return self._items[key]

    def link(self, item_id: int, imdb: int | None, tmdb: int | None) -> None:
        """An item's external ids (MovieLens links.csv); the first import's ids stay."""
        cur = self.conn.execute("INSERT OR IGNORE INTO item_links (item_id, imdb, tmdb) VALUES (?, ?, ?)",
                                (item_id, imdb, tmdb))
        self.added["links"] = self.added.get("links", 0) + cur.rowcount

    def tags(self, source: str, by_item) -> None:
        """(item id, {tag: weight}) pairs from `source` ('tags' or 'genome'): a re-import replaces an item's
        tags from that source with the file's, so a newer release updates counts and never duplicates;
        `added` counts the rows that are new or changed (the same file again adds nothing)."""
        for item_id, tags in by_item:
            new = {tag: float(w) for tag, w in tags.items()}
            old = dict(self.conn.execute("SELECT tag, weight FROM item_tags WHERE item_id = ? AND source = ?",
                                         (item_id, source)).fetchall())
            if old == new:
                continue
            self.conn.execute("DELETE FROM item_tags WHERE item_id = ? AND source = ?", (item_id, source))
            self.conn.executemany("INSERT INTO item_tags (item_id, source, tag, weight) VALUES (?, ?, ?, ?)",
                                  [(item_id, source, tag, w) for tag, w in new.items()])
            self.added[source] = self.added.get(source, 0) + sum(old.get(t) != w for t, w in new.items())

    def item_by_name(self, domain: str, name: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM items WHERE domain = ? AND name = ? ORDER BY id LIMIT 1", (domain, name)
        ).fetchone()
        return row[0] if row else None

    def user(self, name: str, dataset: str | None = None, source_id: str | None = None) -> int:
        if name not in self._users:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO users (name, dataset, source_id) VALUES (?, ?, ?)", (name, dataset, source_id)
            )
            self.added["users"] += cur.rowcount
            self._users[name] = self.conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]
        return self._users[name]

    def feedback(self, user_id: int, item_id: int, liked: bool | None, rating: float | None, source: str, ts: float) -> None:
        self._pending.append((user_id, item_id, None if liked is None else int(liked), rating, source, ts))
        if len(self._pending) >= FEEDBACK_BATCH:
            self.flush()

    def feedback_many(self, rows) -> None:
        """(user, item, liked 0/1, rating, ts) tuples of imported ratings, written as `feedback` would."""
        self.flush()
        before = self.conn.total_changes
        self.conn.executemany("INSERT OR IGNORE INTO feedback (user_id, item_id, liked, rating, source, ts) "
                              "VALUES (?, ?, ?, ?, 'import', ?)", rows)
        self.added["feedback"] += self.conn.total_changes - before

    def flush(self) -> None:
        """Write the buffered ratings; `added` counts the rows really inserted (duplicates are ignored)."""
        if not self._pending:
            return
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO feedback (user_id, item_id, liked, rating, source, ts) VALUES (?, ?, ?, ?, ?, ?)",
            self._pending,
        )
        self.added["feedback"] += self.conn.total_changes - before
        self._pending.clear()


# Secondary indexes of `feedback` that a bulk import drops and rebuilds inside its transaction: one sort
# at the end instead of a random b-tree insert per rating (feedback_item is keyed by item, the file is
# ordered by user). The unique key feedback_event stays: it is what makes a re-import add nothing.
DEFERRED_INDEXES = ("feedback_latest", "feedback_item")


@contextmanager
def writing(db: sqlite_utils.Database, bulk: bool = False) -> Iterator[Writer]:
    """One all-or-nothing import transaction with a Writer; its buffered ratings are flushed before COMMIT.

    `bulk`: many ratings are coming (a large file): the deferred indexes are rebuilt once at the end, still
    inside the transaction, so a killed import leaves them, like everything else, as they were; and
    foreign keys are not checked row by row (the Writer inserts the users and items it refers to first)."""
    (cache,) = db.execute("PRAGMA cache_size").fetchone()
    (fk,) = db.execute("PRAGMA foreign_keys").fetchone()
    db.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    if bulk:
        db.execute("PRAGMA foreign_keys = OFF")  # only takes effect outside a transaction: set before BEGIN
    try:
        with transaction(db) as conn:
            sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN "
                                    f"({', '.join('?' * len(DEFERRED_INDEXES))})", DEFERRED_INDEXES).fetchall())
            if bulk:
                for name in sql:
                    conn.execute(f"DROP INDEX {name}")
            w = Writer(conn)
            yield w
            w.flush()
            if bulk:
                for create in sql.values():
                    conn.execute(create)
    finally:
        db.execute(f"PRAGMA cache_size = {cache}")
        db.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")


def is_bulk(db: sqlite_utils.Database, ratings_bytes: int) -> bool:
    """Whether rebuilding feedback's indexes once beats updating them per row: the file brings (at about 25
    bytes a line) more ratings than 200,000 and than half the store holds already."""
    (held,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM feedback").fetchone()
    coming = ratings_bytes // 25
    return coming > max(200_000, held // 2)
