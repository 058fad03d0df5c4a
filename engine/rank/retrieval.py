"""Candidate retrieval before the reranker: unrated items, filtered, ordered by the collaborative model.

"For you" orders by EASE from the user's liked items (read at request time, so a rating counts at
once); "more like X" orders by X's own row of the weights. Items the model does not know (no
ratings yet, or imported after the fit) score 0 and fall back to popularity, so full-text search
still reaches them; a user with no likes gets popular items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from db.catalog import ItemFilter
from db.types import Item
from engine.collab.model import CollabModel


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
    among: tuple[int, ...] | None = None  # only these items (a watchlist, `--among FILE`); None: the whole catalog
    popularity: str = "any"  # "low": hidden gems preferred, "high": popular picks preferred (a preference, not a filter)
    min_ratings: int = 0  # a floor: only items with at least this many ratings in the store

    def item_filter(self) -> ItemFilter:
        """The part of the query the store narrows by (everything but the genre boost)."""
        return ItemFilter(self.domain, self.text, self.year_min, self.year_max, self.genres, self.exclude_genres,
                          self.author)


@dataclass(frozen=True)
class Candidate:
    item: Item
    prior: float  # retrieval score: EASE from the liked items (or the seeds), popularity as tie-break
    like_rate: float | None = None  # smoothed share of other users who liked it (for models trained with notes)
    relevance: float = 0.0  # how well it answers the request's describing words (-1..1; engine.vocab.describe)


DISLIKE_WEIGHT = 0.5  # EASE from disliked titles, subtracted at this weight: their neighbours move down
GENRE_BOOST = 1.0  # a preferred genre adds this share of the best EASE score (or wins outright with no seeds)
WORD_BOOST = 2.0  # a describing word answered fully adds this share of the best score: it outranks a genre
POPULARITY_PREFERENCE = 0.2  # "hidden gems": the least rated film gains this much relevance (0.3: 41 % obscure rows at 0.54x NDCG; docs/results.md)
POPULARITY = ("low", "any", "high")


def popularity_preference(model: CollabModel, ids: list[int], wanted: str) -> np.ndarray:
    """A relevance (the words' channel) for "hidden gems" (low) or "popular picks" (high): the film's rank by
    ratings among the eligible ones, 0..POPULARITY_PREFERENCE. The support term of the order stays, so a
    film with one rating still cannot lead (engine.rank.recommend.support)."""
    if wanted == "any" or not ids:
        return np.zeros(len(ids))
    pop = model.popularity(ids)
    pct = np.argsort(np.argsort(pop, kind="stable"), kind="stable") / max(1, len(ids) - 1)
    return POPULARITY_PREFERENCE * ((1.0 - pct) if wanted == "low" else pct)


def rank_ids(model: CollabModel, ids: list[int], seeds: list[int], n: int, *, disliked: list[int] = (),
             boost: np.ndarray | None = None, relevance: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The top `n` of `ids` by EASE from `seeds` (popularity breaks ties; unknown items score 0).

    `disliked`: EASE from these is subtracted (DISLIKE_WEIGHT). `boost`: 1 for items of a preferred
    genre, which gain GENRE_BOOST × the best score. (Boosting by the share of the named genres an
    item has was tried: it put many-genre rarities first, INSPIRED dev HR@10 0.20 against 0.40.)"""
    if not ids:
        return []
    s = model.ease_scores(seeds, ids)
    if len(disliked):
        s = s - DISLIKE_WEIGHT * model.ease_scores(disliked, ids)
    top = float(s.max()) if len(s) else 0.0
    if boost is not None and boost.any():
        s = s + GENRE_BOOST * (top if top > 0 else 1.0) * boost
    if relevance is not None and relevance.any():  # the request's describing words (engine.vocab.describe)
        s = s + WORD_BOOST * (top if top > 0 else 1.0) * relevance
    key = model.tie_break(s, ids)
    order = np.lexsort((np.asarray(ids), -key))[:n]
    return [(ids[k], float(key[k])) for k in order]


def genre_boost(genres: list[str], prefer: tuple[str, ...]) -> np.ndarray | None:
    """1 for each item having one of the preferred genres ("sci-fi please"), else 0; None if none asked."""
    if not prefer:
        return None
    return np.array([any(g in gs for g in prefer) for gs in genres], dtype=np.float64)


def ranked(model: CollabModel, ids: list[int], genres: list[str], seeds: list[int], query: Query = Query(),
           n: int = 50, disliked: tuple[int, ...] = (), relevance: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The top-n (id, retrieval score) of the eligible `ids` by EASE from `seeds`; `disliked` push their
    neighbours down; preferred genres are boosted. Ids and genres only: the request path reads whole
    items for the n it keeps."""
    return rank_ids(model, ids, seeds, n, disliked=list(disliked), boost=genre_boost(genres, query.prefer_genres),
                    relevance=relevance)


def candidates(model: CollabModel, eligible: list[Item], seeds: list[int], query: Query = Query(), n: int = 50,
               disliked: tuple[int, ...] = ()) -> list[Candidate]:
    """`ranked` over items already in memory (the store's items the query allows, unrated and not excluded)."""
    by_id = {i.id: i for i in eligible}
    return [Candidate(by_id[i], prior) for i, prior in ranked(model, [i.id for i in eligible],
                                                              [i.genres or "" for i in eligible], seeds, query, n,
                                                              disliked)]
