"""Candidate retrieval before the reranker: unrated items, filtered, ordered by the collaborative model.

"For you" orders by EASE from the user's liked items (read at request time, so a rating counts at
once); "more like X" orders by X's own row of the weights. Items the model does not know (no
ratings yet, or imported after the fit) score 0 and fall back to popularity, so full-text search
still reaches them; a user with no likes gets popular items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from db.catalog import fts_query
from db.feedback import item_from_row
from db.types import Item

from .collab import CollabModel


@dataclass(frozen=True)
class Query:
    """What the user asked for; every field narrows the candidate set."""

    text: str | None = None  # full-text over title, creators, genres
    year_min: int | None = None
    year_max: int | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)  # item must have one of these
    exclude_genres: tuple[str, ...] = field(default_factory=tuple)
    domain: str = "movie"
    prefer_genres: tuple[str, ...] = field(default_factory=tuple)  # a boost, not a filter ("sci-fi please")
    author: str | None = None  # books: only this author's


@dataclass(frozen=True)
class Candidate:
    item: Item
    prior: float  # retrieval score: EASE from the liked items (or the seeds), popularity as tie-break
    like_rate: float | None = None  # smoothed share of other users who liked it (for models trained with notes)


DISLIKE_WEIGHT = 0.5  # EASE from disliked titles, subtracted at this weight: their neighbours move down
GENRE_BOOST = 1.0  # a preferred genre adds this share of the best EASE score (or wins outright with no seeds)


def eligible_rows(db: sqlite_utils.Database, user_id: int | None, query: Query,
                  exclude: tuple[int, ...] = ()) -> list[tuple[int, str]]:
    """(id, genres) of the items the query allows that the user has not rated (SQL: FTS, years, genres)."""
    where = ["i.domain = :domain", "i.id NOT IN (SELECT item_id FROM current_feedback WHERE user_id = :me)",
             "i.id NOT IN (SELECT value FROM json_each(:exclude))"]
    params: dict = {"domain": query.domain, "me": user_id if user_id is not None else -1,
                    "exclude": json.dumps([int(x) for x in exclude])}
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
    if query.author:
        where.append("i.creators LIKE :author")
        params["author"] = f"%{query.author}%"
    return [(r[0], r[1] or "") for r in db.execute(f"SELECT i.id, i.genres FROM items i WHERE {' AND '.join(where)}", params)]


def liked_ids(db: sqlite_utils.Database, user_id: int | None) -> list[int]:
    if user_id is None:
        return []
    return [r[0] for r in db.execute("SELECT item_id FROM current_feedback WHERE user_id = ? AND liked = 1", [user_id])]


def rank_ids(model: CollabModel, ids: list[int], seeds: list[int], n: int, *, disliked: list[int] = (),
             boost: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The top `n` of `ids` by EASE from `seeds` (popularity breaks ties; unknown items score 0).

    `disliked`: EASE from these is subtracted (DISLIKE_WEIGHT). `boost`: 1 for items of a preferred
    genre, which gain GENRE_BOOST × the best score. (Boosting by the share of the named genres an
    item has was tried: it put many-genre rarities first, INSPIRED dev HR@10 0.20 against 0.40.)"""
    if not ids:
        return []
    cols = model.columns(ids)

    def ease(from_ids) -> np.ndarray:
        scores = model.user_scores(from_ids)
        return np.where(cols >= 0, scores[np.maximum(cols, 0)], 0.0).astype(np.float64)

    s = ease(seeds)
    if len(disliked):
        s = s - DISLIKE_WEIGHT * ease(disliked)
    if boost is not None and boost.any():
        top = float(s.max()) if len(s) else 0.0
        s = s + GENRE_BOOST * (top if top > 0 else 1.0) * boost
    key = s + 1e-6 * model.popularity(ids)  # EASE scores are >= 1e-4 apart where they differ at all
    order = np.lexsort((np.asarray(ids), -key))[:n]
    return [(ids[k], float(key[k])) for k in order]


def candidates(db: sqlite_utils.Database, model: CollabModel, user_id: int | None, query: Query = Query(),
               n: int = 50, extra_liked: tuple[int, ...] = (), extra_disliked: tuple[int, ...] = (),
               exclude: tuple[int, ...] = ()) -> list[Candidate]:
    """Top-n unrated items matching `query`. `extra_liked` ("more like X") replaces the user's likes as seeds;
    `extra_disliked` pushes their neighbours down; `exclude` (titles a chat mentioned) never comes back."""
    seeds = list(extra_liked) if extra_liked else liked_ids(db, user_id)
    rows = eligible_rows(db, user_id, query, exclude=tuple(extra_liked) + tuple(extra_disliked) + tuple(exclude))
    ids = [i for i, _ in rows]
    boost = None
    if query.prefer_genres:
        boost = np.array([any(g in genres for g in query.prefer_genres) for _, genres in rows], dtype=np.float64)
    top = rank_ids(model, ids, seeds, n, disliked=list(extra_disliked), boost=boost)
    if not top:
        return []
    rows = {r["id"]: r for r in db.query(
        "SELECT * FROM items WHERE id IN (SELECT value FROM json_each(?))", [json.dumps([i for i, _ in top])])}
    return [Candidate(item_from_row(dict(rows[i])), prior) for i, prior in top]
