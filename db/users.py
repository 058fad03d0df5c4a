"""Users: who rates and chats. Names are checked here once, so every command answers a bad one the same way."""

from __future__ import annotations

import sqlite_utils

from .errors import RecchatError
from .store import transaction

MAX_NAME = 64


def clean_name(name: str) -> str:
    """The stored form of a user name; an empty or over-long name is a one-line error."""
    name = (name or "").strip()
    if not name:
        raise RecchatError("user name is empty")
    if len(name) > MAX_NAME:
        raise RecchatError(f"user name is longer than {MAX_NAME} characters")
    return name


def find_user(db: sqlite_utils.Database, name: str) -> int | None:
    row = db.execute("SELECT id FROM users WHERE name = ?", [name.strip()]).fetchone()
    return row[0] if row else None


def get_or_create_user(db: sqlite_utils.Database, name: str) -> int:
    """For the places a person means to create a user (the chat's --user, an explicit --create)."""
    name = clean_name(name)
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO users (name) VALUES (?)", [name])
    return find_user(db, name)  # type: ignore[return-value]


def ensure_user(db: sqlite_utils.Database, name: str) -> int:
    """The user's id, created if missing, inside the caller's transaction (the on-disk journal's replay)."""
    name = clean_name(name)
    found = find_user(db, name)
    if found is None:
        db.execute("INSERT OR IGNORE INTO users (name) VALUES (?)", [name])
        found = find_user(db, name)
    return found  # type: ignore[return-value]


def require_user(db: sqlite_utils.Database, name: str, hint: str = "") -> int:
    """An existing user's id; a typo is an error naming close names, never a new user."""
    name = clean_name(name)
    found = find_user(db, name)
    if found is not None:
        return found
    close = [r[0] for r in db.execute("SELECT name FROM users WHERE name LIKE ? ORDER BY name LIMIT 3",
                                      [f"%{name[:4]}%"])]
    extra = f"; did you mean {', '.join(close)}?" if close else ""
    raise RecchatError(f"no user named {name!r}{extra}{hint}")


def user_names(db: sqlite_utils.Database, limit: int = 2000) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM users ORDER BY name LIMIT ?", [limit])]
