"""Open the SQLite store: WAL, foreign keys, schema migrations, explicit transactions."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from .errors import RecchatError
from .migrations import MIGRATIONS
from .paths import default_db_path


def open_db(path: str | Path | None = None, *, create: bool = True, timeout: float = 10.0,
            shared: bool = False) -> sqlite_utils.Database:
    """Open (and migrate) the store. Errors are one line naming the path.

    `timeout`: seconds to wait on another writer's lock. `shared`: the connection may be used
    from worker threads (the caller serialises access, as the chat does with a lock).
    """
    path = Path(path) if path else default_db_path()
    if not create and not path.exists():
        raise RecchatError(f"database not found: {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so one import is one transaction.
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=not shared)
        conn.execute("PRAGMA foreign_keys = ON")
        _ensure_wal(conn, timeout)
        db = sqlite_utils.Database(conn)
        migrate(db)
    except (sqlite3.Error, OSError) as e:
        raise RecchatError(f"cannot open database {path}: {e}") from None
    return db


def _ensure_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode, waiting as long as `timeout` for processes converting it at once.

    Converting needs the file to itself and SQLite does not run the busy handler for it, so several
    processes opening a new store together would fail with "database is locked" at once. WAL is a
    property of the file: a store already in WAL (every open after the first) takes no lock here.
    """
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # reads the header (busy handler applies)
    deadline, pause = time.monotonic() + timeout, 0.005
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as e:
            if (e.sqlite_errorcode & 0xFF) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked (could not switch it to WAL)")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """All-or-nothing write: on any exception the store is exactly as before."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def store_file(db: sqlite_utils.Database) -> Path:
    """The file behind the connection (the collaborative model's cache is keyed by it)."""
    (name,) = [r[2] for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main"]
    return Path(name).resolve()


def schema_version(db: sqlite_utils.Database) -> int:
    if "schema_version" not in db.table_names():
        return 0
    return db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]


def _check_not_newer(current: int, latest: int) -> None:
    if current > latest:
        raise RecchatError(f"database schema v{current} is newer than this program (v{latest}); upgrade recchat")


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date; safe when several processes open the same store at once.

    An up-to-date store takes no write lock. Otherwise each step re-reads the version under the
    write lock (BEGIN IMMEDIATE), so a step another process applied while this one waited is skipped
    rather than run twice ("table items already exists").
    """
    latest = len(MIGRATIONS)
    current = schema_version(db)
    _check_not_newer(current, latest)
    while current < latest:
        with transaction(db):
            current = schema_version(db)  # as of now, holding the write lock
            _check_not_newer(current, latest)
            if current < latest:
                MIGRATIONS[current](db)
                current += 1
                db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))", [current]
                )
    return latest
