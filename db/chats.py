"""Chats, their messages and their conversation state (one row per chat in `chat_states`, written every turn;
chats before schema v4 kept it only in the assistant message's payload, still read as a fallback).

The functions without `transaction` write inside the caller's (the on-disk journal's replay, db/outbox.py).
"""

from __future__ import annotations

import json

import sqlite_utils

from .errors import RecchatError
from .store import transaction


def latest_chat(db: sqlite_utils.Database, user_id: int) -> int:
    """The user's newest chat, created if they have none."""
    found = find_latest_chat(db, user_id)
    return found if found is not None else new_chat(db, user_id)


def find_latest_chat(db: sqlite_utils.Database, user_id: int) -> int | None:
    """The user's newest chat, or None; a read, so a chat opens while another program writes."""
    row = db.execute("SELECT id FROM chats WHERE user_id = ? ORDER BY id DESC LIMIT 1", [user_id]).fetchone()
    return row[0] if row else None


def new_chat(db: sqlite_utils.Database, user_id: int, title: str = "chat") -> int:
    with transaction(db):
        cur = db.execute("INSERT INTO chats (user_id, title) VALUES (?, ?)", [user_id, title])
    return cur.lastrowid


def chat_by_key(db: sqlite_utils.Database, key: str) -> int | None:
    """The chat the journal created under `key` (db/outbox.py), once it is written."""
    row = db.execute("SELECT id FROM chats WHERE journal_key = ?", [key]).fetchone()
    return row[0] if row else None


def ensure_chat(db: sqlite_utils.Database, user_id: int, key: str) -> int:
    """The chat created under `key`, made now if it is not there yet (a replay run twice makes it once)."""
    db.execute("INSERT OR IGNORE INTO chats (user_id, title, journal_key) VALUES (?, 'chat', ?)", [user_id, key])
    return chat_by_key(db, key)  # type: ignore[return-value]


def check_chat(db: sqlite_utils.Database, chat_id: int, user_id: int | None) -> int:
    """`chat_id` if it is one of this user's chats; a one-line error otherwise."""
    row = db.execute("SELECT user_id FROM chats WHERE id = ?", [chat_id]).fetchone()
    if row is None:
        raise RecchatError(f"no chat {chat_id}")
    if row[0] != user_id:
        raise RecchatError(f"chat {chat_id} belongs to another user")
    return chat_id


def log_message(db: sqlite_utils.Database, chat_id: int, role: str, content: str, payload: dict | None = None) -> None:
    with transaction(db):
        add_message(db, chat_id, role, content, payload)


def add_message(db: sqlite_utils.Database, chat_id: int, role: str, content: str, payload: dict | None = None) -> None:
    db.execute("INSERT INTO messages (chat_id, role, content, payload) VALUES (?, ?, ?, ?)",
               [chat_id, role, content, json.dumps(payload) if payload else None])


def put_chat_state(db: sqlite_utils.Database, chat_id: int, state: dict, updated: float) -> None:
    """The chat's state as of `updated`; an older write (a replayed journal line) never replaces a newer one."""
    db.execute("INSERT INTO chat_states (chat_id, state, updated) VALUES (?, ?, ?) ON CONFLICT (chat_id) DO UPDATE "
               "SET state = excluded.state, updated = excluded.updated WHERE excluded.updated >= chat_states.updated",
               [chat_id, json.dumps(state, ensure_ascii=False), updated])


def recent_messages(db: sqlite_utils.Database, chat_id: int, n: int = 20) -> list[tuple[str, str]]:
    rows = db.execute("SELECT role, content FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
                      [chat_id, n]).fetchall()
    return [(r[0], r[1]) for r in reversed(rows)]


def chat_state(db: sqlite_utils.Database, chat_id: int) -> dict | None:
    """The chat's newest conversation state: its `chat_states` row, else (a chat from before schema v4) the
    state stored with its latest assistant message that has one."""
    row = db.execute("SELECT state FROM chat_states WHERE chat_id = ?", [chat_id]).fetchone()
    if row is None:
        row = db.execute("SELECT json_extract(payload, '$.state') FROM messages WHERE chat_id = ? AND role = 'assistant' "
                         "AND payload IS NOT NULL AND json_valid(payload) ORDER BY id DESC LIMIT 1", [chat_id]).fetchone()
    if row is None or row[0] is None:
        return None
    try:
        state = json.loads(row[0])
    except ValueError:
        return None
    return state if isinstance(state, dict) else None
