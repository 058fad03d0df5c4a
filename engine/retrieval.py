"""Candidate retrieval before the LLM: unrated items, filtered, ordered by a cheap collaborative prior."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlite_utils

from db.catalog import fts_query
from db.feedback import item_from_row
from db.types import Item


@dataclass(frozen=True)
class Query:
    """What the user asked for; every field narrows the candidate set."""

    text: str | None = None  # full-text over title, creators, genres
    year_min: int | None = None
    year_max: int | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)  # item must have one of these
    exclude_genres: tuple[str, ...] = field(default_factory=tuple)
    domain: str = "movie"


@dataclass(frozen=True)
class Candidate:
    item: Item
    prior: float  # co-likes with the user's liked items, popularity as tie-break
    like_rate: float | None = None  # smoothed share of other users who liked it (for models trained with notes)


def candidates(db: sqlite_utils.Database, user_id: int | None, query: Query = Query(), n: int = 50,
               extra_liked: tuple[int, ...] = ()) -> list[Candidate]:
    """Top-n unrated items matching `query`. `extra_liked` adds context likes (e.g. "more like X")."""
    where = ["i.domain = :domain"]
    params: dict = {"domain": query.domain, "me": user_id if user_id is not None else -1, "n": n}
    q = fts_query(query.text) if query.text else None
    if q:
        where.append("i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH :q)")
        params["q"] = q
    if query.year_min is not None:
        where.append("i.year >= :ymin")
        params["ymin"] = query.year_min
    if query.year_max is not None:
        where.append("i.year <= :ymax")
        params["ymax"] = query.year_max
    if query.genres:
        ors = []
        for k, g in enumerate(query.genres):
            ors.append(f"i.genres LIKE :ig{k}")
            params[f"ig{k}"] = f"%{g}%"
        where.append("(" + " OR ".join(ors) + ")")
    for k, g in enumerate(query.exclude_genres):
        where.append(f"i.genres NOT LIKE :g{k}")
        params[f"g{k}"] = f"%{g}%"
    where.append("i.id NOT IN (SELECT item_id FROM current_feedback WHERE user_id = :me)")
    params["extra"] = json.dumps([int(x) for x in extra_liked])
    sql = f"""
    WITH seeds AS (
        SELECT item_id FROM current_feedback WHERE user_id = :me AND liked = 1
        UNION SELECT value FROM json_each(:extra)
    ),
    neighbours AS (
        SELECT DISTINCT user_id FROM feedback
        WHERE item_id IN (SELECT item_id FROM seeds) AND liked = 1 AND user_id != :me
    ),
    co AS (
        SELECT f2.item_id, COUNT(DISTINCT f2.user_id) AS n FROM neighbours nb
        JOIN feedback f2 ON f2.user_id = nb.user_id AND f2.liked = 1
        GROUP BY f2.item_id
    ),
    pop AS (SELECT item_id, COUNT(*) AS n FROM feedback WHERE liked = 1 GROUP BY item_id)
    SELECT i.*, COALESCE(co.n, 0) + COALESCE(pop.n, 0) / 1e6 AS prior
    FROM items i LEFT JOIN co ON co.item_id = i.id LEFT JOIN pop ON pop.item_id = i.id
    WHERE {' AND '.join(where)} AND i.id NOT IN (SELECT item_id FROM seeds)
    ORDER BY prior DESC, i.id LIMIT :n"""
    out = []
    for row in db.query(sql, params):
        row = dict(row)
        prior = row.pop("prior")
        out.append(Candidate(item_from_row(row), prior))
    return out
