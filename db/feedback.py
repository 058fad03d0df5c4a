"""Users and their like/dislike history: what the engine reads to build a prompt and writes on a rating."""

from __future__ import annotations

import time

import sqlite_utils

from .errors import RecchatError
from .store import transaction
from .types import Interaction, Item

HISTORY_WINDOW = 10  # TALLRec prompts show the 10 most recent ratings


def find_user(db: sqlite_utils.Database, name: str) -> int | None:
    row = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def get_or_create_user(db: sqlite_utils.Database, name: str) -> int:
    name = name.strip()
    if not name:
        raise RecchatError("user name is empty")
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO users (name) VALUES (?)", [name])
    return find_user(db, name)  # type: ignore[return-value]


def record_feedback(db: sqlite_utils.Database, user_id: int, item_id: int, liked: bool | None,
                    source: str = "cli", ts: float | None = None) -> int:
    """Append a rating (liked None retracts it). Returns the feedback row id."""
    with transaction(db):
        cur = db.execute(
            "INSERT INTO feedback (user_id, item_id, liked, source, ts) VALUES (?, ?, ?, ?, ?)",
            [user_id, item_id, None if liked is None else int(liked), source, time.time() if ts is None else ts],
        )
    return cur.lastrowid


def user_history(db: sqlite_utils.Database, user_id: int | None, domain: str | None = None,
                 limit: int | None = None) -> list[Interaction]:
    """The user's current ratings, oldest first; `limit` keeps the most recent ones."""
    if user_id is None:
        return []
    sql = """SELECT c.item_id, i.name, c.liked, c.rating, c.ts, i.genres FROM current_feedback c
             JOIN items i ON i.id = c.item_id WHERE c.user_id = ?"""
    params: list = [user_id]
    if domain:
        sql += " AND i.domain = ?"
        params.append(domain)
    rows = db.execute(sql + " ORDER BY c.ts, c.id", params).fetchall()
    history = [Interaction(r[0], r[1], bool(r[2]), r[3], r[4], r[5] or "") for r in rows]
    return history[-limit:] if limit else history


def rated_item_ids(db: sqlite_utils.Database, user_id: int | None) -> set[int]:
    if user_id is None:
        return set()
    return {r[0] for r in db.execute("SELECT item_id FROM current_feedback WHERE user_id = ?", [user_id])}


def item_from_row(row: dict) -> Item:
    return Item(row["id"], row["domain"], row["name"], row["title"], row["year"], row["creators"], row["genres"], row["text"])


def like_rates(db: sqlite_utils.Database, item_ids: list[int], exclude_user: int | None = None) -> dict[int, float]:
    """Smoothed like-rate of each item over everyone's ratings but `exclude_user`'s, as in training notes.

    The same smoothing as the training statistics pulls rarely rated items toward the global rate.
    """
    from .item_stats import smoothed_rate

    if not item_ids:
        return {}
    me = exclude_user if exclude_user is not None else -1
    (global_rate,) = db.execute("SELECT AVG(liked) FROM feedback WHERE liked IS NOT NULL").fetchone()
    g = global_rate if global_rate is not None else 0.5
    marks = ",".join("?" * len(item_ids))
    rows = db.execute(
        f"""SELECT item_id, SUM(liked), COUNT(*) FROM feedback
            WHERE item_id IN ({marks}) AND liked IS NOT NULL AND user_id != ? GROUP BY item_id""",
        [*item_ids, me],
    ).fetchall()
    counts = {r[0]: (r[1], r[2]) for r in rows}
    return {i: smoothed_rate(*counts.get(i, (0, 0)), g) for i in item_ids}
