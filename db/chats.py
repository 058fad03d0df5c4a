"""Chats and their messages: the conversation log, and the state each assistant message carries."""

from __future__ import annotations

import json

import sqlite_utils

from .errors import RecchatError
from .store import transaction


def latest_chat(db: sqlite_utils.Database, user_id: int) -> int:
    """The user's newest chat, created if they have none."""
    row = db.execute("SELECT id FROM chats WHERE user_id = ? ORDER BY id DESC LIMIT 1", [user_id]).fetchone()
    return row[0] if row else new_chat(db, user_id)


def new_chat(db: sqlite_utils.Database, user_id: int, title: str = "chat") -> int:
    with transaction(db):
        cur = db.execute("INSERT INTO chats (user_id, title) VALUES (?, ?)", [user_id, title])
    return cur.lastrowid


def check_chat(db: sqlite_utils.Database, chat_id: int, user_id: int) -> int:
    """`chat_id` if it is one of this user's chats; a one-line error otherwise."""
    row = db.execute("SELECT user_id FROM chats WHERE id = ?", [chat_id]).fetchone()
    if row is None:
        raise RecchatError(f"no chat {chat_id}")
    if row[0] != user_id:
        raise RecchatError(f"chat {chat_id} belongs to another user")
    return chat_id


def log_message(db: sqlite_utils.Database, chat_id: int, role: str, content: str, payload: dict | None = None) -> None:
    with transaction(db):
        db.execute("INSERT INTO messages (chat_id, role, content, payload) VALUES (?, ?, ?, ?)",
                   [chat_id, role, content, json.dumps(payload) if payload else None])


def recent_messages(db: sqlite_utils.Database, chat_id: int, n: int = 20) -> list[tuple[str, str]]:
    rows = db.execute("SELECT role, content FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
                      [chat_id, n]).fetchall()
    return [(r[0], r[1]) for r in reversed(rows)]


def chat_state(db: sqlite_utils.Database, chat_id: int) -> dict | None:
    """The conversation state stored with the chat's latest assistant message that has one."""
    row = db.execute("SELECT payload FROM messages WHERE chat_id = ? AND role = 'assistant' AND payload IS NOT NULL "
                     "ORDER BY id DESC LIMIT 1", [chat_id]).fetchone()
    if row is None:
        return None
    try:
        return json.loads(row[0]).get("state")
    except (ValueError, AttributeError):
        return None
