"""The request's shape (`Query`), a candidate (`Candidate`), and the previous retrieval: unrated items,
filtered, ordered by the collaborative model with hand-set constants. The served order is the learned
ranker's now (engine.rank.served); `ranked` and its constants stay as the baseline the benches compare with
(engine.rank.handset).

"For you" orders by EASE from the user's liked items (read at request time, so a rating counts at
once); "more like X" orders by X's own row of the weights. Items the model does not know (no
ratings yet, or imported after the fit) score 0 and fall back to popularity, so full-text search
still reaches them; a user with no likes gets popular items.
"""

from __future__ import annotations

import math
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
    popularity: str = "any"  # "low": half the list hidden gems (GEM_SHARE), "high": popular picks preferred (a preference)
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
    gem: bool = False  # from the less-rated half, for a "hidden gems" list (GEM_SHARE of it must be such films)
    p_like: float = math.nan  # the learned ranker's P(like) (engine.rank.served)
    features: dict | None = field(default=None, compare=False)  # its feature row: what "why" splits


DISLIKE_WEIGHT = 0.5  # EASE from disliked titles, subtracted at this weight: their neighbours move down
GENRE_BOOST = 1.0  # a preferred genre adds this share of the best EASE score (or wins outright with no seeds)
WORD_BOOST = 2.0  # a describing word answered fully adds this share of the best score: it outranks a genre
POPULARITY_PREFERENCE = 0.2  # "popular picks": the most rated film gains this much relevance
POPULARITY = ("low", "any", "high")
GEM_SHARE = 0.5  # "hidden gems": at least this share of the list shown comes from the catalog's less-rated half
GEM_POOL = 0.2  # ... and this share of the candidates is reserved for the best of that half, so there are enough
# (a relevance toward rarity instead, as "popular picks" has: 9 % of rows at 0.90x NDCG, 41 % at 0.54x; docs/results.md)


def popularity_preference(model: CollabModel, ids: list[int], wanted: str) -> np.ndarray:
    """A relevance (the words' channel) for "popular picks" (high): the film's rank by ratings among the
    eligible ones, 0..POPULARITY_PREFERENCE. "Hidden gems" is a share of the list instead (`gem_ranked`)."""
    if wanted != "high" or not ids:
        return np.zeros(len(ids))
    pop = model.popularity(ids)
    return POPULARITY_PREFERENCE * np.argsort(np.argsort(pop, kind="stable"), kind="stable") / max(1, len(ids) - 1)


def less_rated(model: CollabModel, ids: list[int]) -> np.ndarray:
    """True for films in the catalog's less-rated half: no more ratings than the median rated film (a film
    nobody rated yet counts by its estimate, engine.collab.content): what "hidden gems" asks for."""
    median = float(np.median(np.log1p(model.seen))) if len(model.seen) else 0.0
    return model.popularity(ids) <= median if ids else np.zeros(0, dtype=bool)


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


def gem_ranked(model: CollabModel, ids: list[int], genres: list[str], seeds: list[int], query: Query = Query(),
               n: int = 50, disliked: tuple[int, ...] = (), relevance: np.ndarray | None = None
               ) -> tuple[list[tuple[int, float]], set[int]]:
    """`ranked` for "hidden gems": GEM_POOL of the n places go to the best of the less-rated half by the same
    order (a person's top 50 rarely holds five of them), and which candidates are such gems."""
    gems = less_rated(model, ids)
    top = ranked(model, ids, genres, seeds, query, n - round(GEM_POOL * n), disliked, relevance)
    got = {i for i, _ in top}
    keep = [k for k, i in enumerate(ids) if gems[k] and i not in got]
    top += ranked(model, [ids[k] for k in keep], [genres[k] for k in keep], seeds, query, n - len(top), disliked,
                  relevance[keep] if relevance is not None else None)
    return top, {i for i, g in zip(ids, gems) if g}


def candidates(model: CollabModel, eligible: list[Item], seeds: list[int], query: Query = Query(), n: int = 50,
               disliked: tuple[int, ...] = ()) -> list[Candidate]:
    """`ranked` over items already in memory (the store's items the query allows, unrated and not excluded)."""
    by_id = {i.id: i for i in eligible}
    return [Candidate(by_id[i], prior) for i, prior in ranked(model, [i.id for i in eligible],
                                                              [i.genres or "" for i in eligible], seeds, query, n,
                                                              disliked)]
