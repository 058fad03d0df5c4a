"""Find catalog items the way a person names them: an id, an exact title, or something close."""

from __future__ import annotations

import difflib
import json
import re

import sqlite_utils

from .errors import RecchatError
from .feedback import item_from_row
from .types import Item

_WORD = re.compile(r"\w+", re.U)


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: each word as a quoted prefix term, all required."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words) or None


def search_items(db: sqlite_utils.Database, text: str, domain: str | None = None, limit: int = 20) -> list[Item]:
    q = fts_query(text)
    if not q:
        return []
    sql = """SELECT items.* FROM items JOIN items_fts ON items_fts.rowid = items.id
             WHERE items_fts MATCH ?""" + (" AND items.domain = ?" if domain else "") + " ORDER BY rank LIMIT ?"
    params = [q, domain, limit] if domain else [q, limit]
    return [item_from_row(dict(r)) for r in db.query(sql, params)]


def resolve_item(db: sqlite_utils.Database, ref: str, domain: str | None = None) -> Item:
    """An item by id, exact name or exact title (case-insensitive). Unknown or ambiguous: RecchatError listing close matches."""
    ref = ref.strip()
    if not ref:
        raise RecchatError("item is empty")
    dom = " AND domain = ?" if domain else ""
    extra = [domain] if domain else []
    if ref.isdigit():
        rows = list(db.query(f"SELECT * FROM items WHERE id = ?{dom}", [int(ref), *extra]))
        if rows:
            return item_from_row(rows[0])
    for column in ("name", "title"):
        rows = list(db.query(f"SELECT * FROM items WHERE {column} = ? COLLATE NOCASE{dom} ORDER BY id", [ref, *extra]))
        if len(rows) == 1:
            return item_from_row(rows[0])
        if len(rows) > 1:
            listing = "; ".join(f"{r['name']} [id {r['id']}]" for r in rows[:8])
            raise RecchatError(f"ambiguous item {ref!r}: {listing}; use the id")
    close = close_matches(db, ref, domain)
    hint = "; close matches: " + "; ".join(f"{i.name} [id {i.id}]" for i in close) if close else "; no close matches"
    raise RecchatError(f"unknown item {ref!r}{hint}")


def close_matches(db: sqlite_utils.Database, ref: str, domain: str | None = None, n: int = 5) -> list[Item]:
    """Full-text hits first, then fuzzy title similarity over the catalog, for misspellings."""
    hits = search_items(db, ref, domain, limit=n)
    if len(hits) >= n:
        return hits
    dom = " WHERE domain = ?" if domain else ""
    rows = {r["title"].lower(): r for r in db.query(f"SELECT * FROM items{dom}", [domain] if domain else [])}
    seen = {i.id for i in hits}
    for title in difflib.get_close_matches(ref.lower(), list(rows), n=n, cutoff=0.6):
        if rows[title]["id"] not in seen:
            hits.append(item_from_row(rows[title]))
    return hits[:n]


def items_by_id(db: sqlite_utils.Database, ids: list[int]) -> dict[int, Item]:
    rows = db.query("SELECT * FROM items WHERE id IN (SELECT value FROM json_each(?))", [json.dumps([int(i) for i in ids])])
    return {r["id"]: item_from_row(dict(r)) for r in rows}
