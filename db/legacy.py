"""Queries of code the product replaced, kept so benchmarks can print the old behaviour beside the new
one in the same run (bench/more_like.py, bench/inspired.py). Nothing in the product calls these."""

from __future__ import annotations

import sqlite_utils

from .catalog import item_from_row
from .types import Item

# The retrieval EASE replaced: distinct neighbours who co-liked X, popularity as tie-break.
CO_LIKE_SQL = """
WITH neighbours AS (SELECT DISTINCT user_id FROM feedback WHERE item_id = :x AND liked = 1),
co AS (SELECT f2.item_id, COUNT(DISTINCT f2.user_id) AS n FROM neighbours nb
       JOIN feedback f2 ON f2.user_id = nb.user_id AND f2.liked = 1 GROUP BY f2.item_id),
pop AS (SELECT item_id, COUNT(*) AS n FROM feedback WHERE liked = 1 GROUP BY item_id)
SELECT i.id FROM items i LEFT JOIN co ON co.item_id = i.id LEFT JOIN pop ON pop.item_id = i.id
WHERE i.domain = :domain AND i.id != :x
ORDER BY COALESCE(co.n, 0) + COALESCE(pop.n, 0) / 1e6 DESC, i.id LIMIT :n"""


def co_liked(db: sqlite_utils.Database, item_id: int, domain: str = "movie", n: int = 10) -> list[int]:
    return [r[0] for r in db.execute(CO_LIKE_SQL, {"x": item_id, "domain": domain, "n": n})]


def well_liked(db: sqlite_utils.Database, domain: str = "movie", min_rate: float = 0.75, n: int = 20) -> list[Item]:
    """The most-liked items whose like-rate is at least `min_rate` (the more-like bench's movies X)."""
    rows = db.query("""SELECT i.* FROM current_feedback c JOIN items i ON i.id = c.item_id
                       WHERE i.domain = :domain GROUP BY i.id HAVING AVG(c.liked) >= :rate
                       ORDER BY SUM(c.liked) DESC, i.id LIMIT :n""", {"domain": domain, "rate": min_rate, "n": n})
    return [item_from_row(r) for r in rows]


def fts_by_rating_count(db: sqlite_utils.Database, fts: str, domain: str, limit: int = 200) -> list[Item]:
    """Full-text hits ordered by how often they were rated: the previous chat's title lookup."""
    rows = db.query("""SELECT items.*, (SELECT COUNT(*) FROM feedback f WHERE f.item_id = items.id) AS n
                       FROM items JOIN items_fts ON items_fts.rowid = items.id
                       WHERE items_fts MATCH ? AND items.domain = ? ORDER BY n DESC LIMIT ?""", [fts, domain, limit])
    return [item_from_row(r) for r in rows]
