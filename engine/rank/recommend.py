"""Eligible films → the channels' candidates → the learned ranker's order → the LLM's P(Yes) on the rows
shown: the one path behind `engine recommend` and the chat.

The order and P(like) are the learned ranker's (engine.rank.served, engine.rank.ltr): P(like) is its score
calibrated, so the number shown never disagrees with the order. The LLM's P(Yes) is its own column, scored
only for the rows a person sees: added as a feature it changed nothing measurable (docs/ltr.md), so it is
not worth scoring fifty candidates for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import sqlite_utils

from db.catalog import eligible_ids, items_by_id
from db.feedback import user_history
from db.scoring import Scorer
from db.types import Interaction, Item
from engine.collab.model import CollabModel
from engine.collab.refit import refits_paused

from .retrieval import GEM_SHARE, Candidate, Query, less_rated
from .served import Order
from .signals import Ask

FIRST_CHUNK = 6  # rows scored by the LLM before the chat shows their P(Yes)


@dataclass(frozen=True)
class Recommendation:
    item: Item
    p_like: float  # the learned ranker's P(like): its score, calibrated on held-out requests
    p_yes: float  # the LLM's own P(Yes) (NaN until it is scored)
    prior: float  # the ranker's raw score
    match: float  # what orders the list, shown as a bar: P(like) (a group: the members' aggregate)
    members: tuple[tuple[str, float], ...] = ()  # a group's list: each member's P(like) (engine.rank.group)


@dataclass(frozen=True)
class Relevance:
    """What a request's describing words ask of each item (engine.vocab.describe.Vocabulary.score)."""

    score: Callable[[list[int]], np.ndarray]
    only: bool = False  # "only heist movies": items that answer nothing are left out


@dataclass(frozen=True)
class Ranking:
    """A ranking so far: `scored` of `total` rows shown have the LLM's P(Yes)."""

    items: list[Recommendation]
    scored: int
    total: int

    @property
    def done(self) -> bool:
        return self.scored >= self.total


def request_ask(history: list[Interaction], seeds: tuple[int, ...], disliked: tuple[int, ...], query: Query,
                relevance: Relevance | None, at: float, context: list[Interaction] | None = None) -> Ask:
    """The ranker's reading of a request: the history's likes and dislikes (with this request's), the seeds,
    the genres asked for, the describing words, the catalog's time. A seed the request's `context` carries as a
    like ("something like Alien": the prompt shows it liked) is a seed only, as the ranker learned "like X"."""
    only_seeds = {h.item_id for h in context or [] if h.liked} & set(seeds)
    liked = tuple(dict.fromkeys(h.item_id for h in history if h.liked and h.item_id not in only_seeds))
    hated = tuple(dict.fromkeys([h.item_id for h in history if not h.liked] + list(disliked)))
    return Ask(liked, hated, tuple(seeds), tuple(query.prefer_genres),
               relevance.score if relevance is not None else None, at)


def retrieve(db: sqlite_utils.Database, order: Order, user_id: int | None, query: Query, n_candidates: int,
             context: list[Interaction] | None = None, *, seeds: tuple[int, ...] | None = None,
             disliked: tuple[int, ...] | None = None, exclude: tuple[int, ...] = (),
             relevance: Relevance | None = None) -> tuple[list[Interaction], list[Candidate]]:
    """The store half of a recommendation, ordered: the history a prompt shows (the stored ratings, then this
    request's `context`, e.g. "more like Alien", in that order: `stored_part` splits them) and the top
    `n_candidates` in the learned ranker's order, each with its P(like) and feature row.

    Seeds are `seeds` if given, else the context's likes; `disliked` (else the context's dislikes) join the
    history's dislikes, which the ranker reads once, as their own feature. Neither they nor `exclude` come
    back. `relevance`: the request's describing words; with `only`, films that answer nothing are left out.
    "Popular picks" keeps the catalog's more-rated half; "hidden gems" gives GEM_SHARE of the list shown to
    its less-rated half (`with_gems`)."""
    history = user_history(db, user_id, query.domain) + list(context or [])
    seeds = seeds if seeds is not None else tuple(h.item_id for h in context or [] if h.liked)
    disliked = disliked if disliked is not None else tuple(h.item_id for h in context or [] if not h.liked)
    eligible = eligible_ids(db, user_id, query.item_filter(),
                            exclude=tuple(seeds) + tuple(disliked) + tuple(exclude)
                            + tuple(h.item_id for h in context or []))
    ids = np.asarray(eligible.ids, dtype=np.int64)
    collab = order.collab
    if query.among is not None:  # the limit a person or a benchmark set: their watchlist, a list of films
        ids = ids[np.isin(ids, np.asarray(query.among, dtype=np.int64))]
    if query.min_ratings:  # "at least 100 ratings": a floor, the store's own counts
        ids = ids[collab.rating_counts(ids) >= query.min_ratings]
    if relevance is not None and relevance.only:
        ids = ids[np.asarray(relevance.score(ids)) > 0]
    rarer = less_rated(collab, ids.tolist()) if len(ids) else np.zeros(0, dtype=bool)
    if query.popularity == "high" and (~rarer).any():  # "popular picks": the more-rated half, if it has any
        ids, rarer = ids[~rarer], rarer[~rarer]
    ask = request_ask(history, seeds, disliked, query, relevance, order.at, context)
    gems = query.popularity == "low" and rarer.any()
    ordered = order.rank(ask, ids, gems=rarer if gems else None)
    # "hidden gems": every candidate stays, so `with_gems` (iter_rank) finds enough of them for the rows shown
    keep = len(ordered.keys) if gems else min(n_candidates, len(ordered.keys))
    top_ids = ordered.table["ids"][:keep].tolist()
    rare = set(ids[rarer].tolist()) if gems else set()
    items = items_by_id(db, top_ids)
    words = np.nan_to_num(ordered.table["words"][:keep], nan=0.0)
    return history, [Candidate(items[i], float(ordered.keys[k]), relevance=float(words[k]), gem=i in rare,
                               p_like=float(ordered.p_like[k]), features=ordered.row(k)) for k, i in enumerate(top_ids)]


def stored_part(history: list[Interaction], context: list[Interaction] | None) -> list[Interaction]:
    """The user's stored ratings of a history `retrieve` returned (it appends the request's context)."""
    return history[:len(history) - len(context or [])]


def with_like_rates(collab: CollabModel, own: list[Interaction], cands: list[Candidate]) -> list[Candidate]:
    """Candidates with their like-rate among the other users (the collaborative model's, without `own`: the
    asking user's stored ratings): a model rec-tuned with notes reads it in its prompt."""
    rates = collab.like_rate([c.item.id for c in cands], without=own)
    return [replace(c, like_rate=float(r)) for c, r in zip(cands, rates)]


def with_gems(rows: list, top: int, is_gem: Callable[[object], bool]) -> list:
    """A "hidden gems" list: the order's own rows, except that once the places left in the first `top` are as
    few as the gems still owed (GEM_SHARE of them), each goes to the best-ordered gem. The head stays what
    ranks best and the gems take the places that cost the fewest hits (calibrated re-ranking, Steck 2018)."""
    owed, out, rest = math.ceil(GEM_SHARE * top), [], list(rows)
    while rest and len(out) < top:
        must = owed - sum(map(is_gem, out)) >= top - len(out)
        out.append(rest.pop(next((k for k, r in enumerate(rest) if is_gem(r)), 0) if must else 0))
    return out + rest


def iter_rank(scorer: Scorer, domain: str, history: list[Interaction], cands: list[Candidate], *, top: int,
              first_chunk: int = FIRST_CHUNK, chunk: int | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> Iterator[Ranking]:
    """The rows shown, in the ranker's order at once (P(Yes) NaN), then with the LLM's P(Yes) after the first
    chunk, every `chunk` more, and at the end. Only the `top` rows shown are scored: the order does not wait
    on the LLM. `cancelled` is asked between chunks: a newer request stops an older scoring within one chunk."""
    rows = with_gems(cands, top, lambda c: c.gem)[:top] if any(c.gem for c in cands) else cands[:top]
    p_yes = [math.nan] * len(rows)

    def ranking(scored: int) -> Ranking:
        return Ranking([Recommendation(c.item, c.p_like, p, c.prior, c.p_like) for c, p in zip(rows, p_yes)],
                       scored, len(rows))

    yield ranking(0)
    prompts = [scorer.prompts.for_user(domain, history, c.item, c.like_rate) for c in rows]
    steps = range(first_chunk, len(prompts), chunk) if chunk else [first_chunk]
    start = 0
    for end in sorted({b for b in (*steps, len(prompts)) if 0 < b <= len(prompts)}):
        if cancelled():
            return
        with refits_paused():  # a background collaborative refit never takes the cores from the LLM
            p_yes[start:end] = [s.p_yes for s in scorer.score(prompts[start:end])]
        start = end
        yield ranking(end)


def recommend(db: sqlite_utils.Database, scorer: Scorer, order: Order, user_id: int | None, *,
              query: Query = Query(), top: int = 5, n_candidates: int = 50,
              context: list[Interaction] | None = None) -> list[Recommendation]:
    """The `top` films by the learned ranker for a user, with the LLM's P(Yes) beside each.

    `context` adds liked/disliked items for this request only (e.g. "more like Alien")."""
    history, cands = retrieve(db, order, user_id, query, n_candidates, context)
    cands = with_like_rates(order.collab, stored_part(history, context), cands)
    final: list[Recommendation] = []
    for ranking in iter_rank(scorer, query.domain, history, cands, top=top, first_chunk=top):
        final = ranking.items
    return final
