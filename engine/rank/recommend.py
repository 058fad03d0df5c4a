"""Retrieve → prompt → score → stack → rank: the one path behind `engine recommend` and the chat.

Candidates come from the collaborative model (engine.rank.retrieval); the LLM scores each with P(Yes);
the stack (engine.rank.stack) turns its logit and the collaborative features into P(like), which ranks.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import sqlite_utils

from db.catalog import eligible_ids, items_by_id
from db.feedback import HISTORY_WINDOW, liked_item_ids, user_history
from db.scoring import Score, Scorer
from db.types import Interaction, Item
from engine.collab.model import CollabModel
from engine.collab.refit import refits_paused

from .retrieval import GEM_SHARE, WORD_BOOST, Candidate, Query, gem_ranked, popularity_preference, ranked
from .stack import Reranker, Table, feature_table, with_logits

FIRST_CHUNK = 6  # candidates scored before the chat shows a first, partial ranking
SUPPORT_PRIOR = 5.0  # rating count at which the ordering key halves (bench/obscure.py, docs/results.md; 0: none)


@dataclass(frozen=True)
class Recommendation:
    item: Item
    p_like: float  # the stack's P(like | you rate it) (P(Yes) itself when there is no stack)
    p_yes: float  # the LLM's own P(Yes), one input of the stack
    prior: float  # the retrieval score
    match: float  # what orders the list: the rank head's P(among your next likes), else the retrieval score
    members: tuple[tuple[str, float], ...] = ()  # a group's list: each member's P(like) (engine.rank.group)


@dataclass(frozen=True)
class Relevance:
    """What a request's describing words ask of each item (engine.vocab.describe.Vocabulary.score)."""

    score: Callable[[list[int]], np.ndarray]
    only: bool = False  # "only heist movies": items that answer nothing are left out


@dataclass(frozen=True)
class Ranking:
    """A ranking so far: `scored` of `total` retrieved candidates have a P(Yes)."""

    items: list[Recommendation]
    scored: int
    total: int

    @property
    def done(self) -> bool:
        return self.scored >= self.total


def retrieve(db: sqlite_utils.Database, collab: CollabModel, user_id: int | None, query: Query, n_candidates: int,
             context: list[Interaction] | None = None, *, seeds: tuple[int, ...] | None = None,
             disliked: tuple[int, ...] | None = None, exclude: tuple[int, ...] = (),
             relevance: Relevance | None = None) -> tuple[list[Interaction], list[Candidate]]:
    """The store half of a recommendation (fast; the chat runs it apart from the model): the history a
    prompt shows (the stored ratings, then this request's `context`, e.g. "more like Alien", in that
    order: `stored_part` splits them) and the candidates.

    Retrieval's seeds are `seeds` if given, else the context's likes, else the user's stored likes;
    `disliked` (else the context's dislikes) push their neighbours down; neither they nor `exclude`
    come back. `relevance`: how well each item answers the request's describing words; with `only`
    those that answer nothing are left out."""
    history = user_history(db, user_id, query.domain) + list(context or [])
    liked = seeds if seeds is not None else tuple(h.item_id for h in context or [] if h.liked)
    disliked = disliked if disliked is not None else tuple(h.item_id for h in context or [] if not h.liked)
    eligible = eligible_ids(db, user_id, query.item_filter(), exclude=tuple(liked) + tuple(disliked) + tuple(exclude),
                            with_genres=bool(query.prefer_genres))
    ids, genres = eligible.ids, eligible.genres
    if query.among is not None:  # the limit a person or a benchmark set: their watchlist, a list of films
        among = set(query.among)
        keep = [k for k, i in enumerate(ids) if i in among]
        ids, genres = [ids[k] for k in keep], [genres[k] for k in keep]
    if query.min_ratings:  # "at least 100 ratings": a floor, the store's own counts
        keep = [k for k, n in enumerate(collab.rating_counts(ids)) if n >= query.min_ratings]
        ids, genres = [ids[k] for k in keep], [genres[k] for k in keep]
    rel = None
    if relevance is not None:
        rel = relevance.score(ids)
        if relevance.only:
            keep = [k for k, r in enumerate(rel) if r > 0]
            ids, genres, rel = [ids[k] for k in keep], [genres[k] for k in keep], rel[keep]
    if query.popularity == "high":  # "hidden gems" is a share of the list instead (gem_ranked, with_gems)
        rel = (rel if rel is not None else np.zeros(len(ids))) + popularity_preference(collab, ids, query.popularity)
    from_ids = list(liked) if liked else liked_item_ids(db, user_id)
    gems: set[int] = set()
    if query.popularity == "low":
        top, gems = gem_ranked(collab, ids, genres, from_ids, query, n_candidates, disliked=disliked, relevance=rel)
    else:
        top = ranked(collab, ids, genres, from_ids, query, n_candidates, disliked=disliked, relevance=rel)
    items = items_by_id(db, [i for i, _ in top])
    by_id = dict(zip(ids, rel.tolist())) if rel is not None else {}
    return history, [Candidate(items[i], prior, relevance=by_id.get(i, 0.0), gem=i in gems) for i, prior in top]


def stored_part(history: list[Interaction], context: list[Interaction] | None) -> list[Interaction]:
    """The user's stored ratings of a history `retrieve` returned (it appends the request's context)."""
    return history[:len(history) - len(context or [])]


def with_like_rates(collab: CollabModel, own: list[Interaction], cands: list[Candidate]) -> list[Candidate]:
    """Candidates with their like-rate among the other users (the collaborative model's, the stack's
    item_like_rate, without `own`: the asking user's stored ratings): a model rec-tuned with notes reads it."""
    rates = collab.like_rate([c.item.id for c in cands], without=own)
    return [replace(c, like_rate=float(r)) for c, r in zip(cands, rates)]


def candidate_table(collab: CollabModel, history: list[Interaction], cands: list[Candidate],
                    seeds: tuple[int, ...] = ()) -> Table:
    """The stack's collaborative inputs: the window of ratings the prompt shows, plus every like for EASE.

    With `seeds` ("more like X") `ease_all` is EASE from the seeds, as retrieval ordered them: the
    request is about X, and the user's whole taste would otherwise pull the list away from it."""
    recent = history[-HISTORY_WINDOW:]
    return feature_table(collab, [h.item_id for h in recent if h.liked], [h.item_id for h in recent if not h.liked],
                         [c.item.id for c in cands], all_liked=[h.item_id for h in history if h.liked],
                         all_disliked=[h.item_id for h in history if not h.liked], ease_from=list(seeds) or None)


def stack_scores(stack: Reranker | None, table: Table, scores: list[Score], priors: list[float],
                 cold: bool = False) -> tuple[list[float], list[float]]:
    """(P(like) to show, the key that orders) for scored candidates; without a stack: P(Yes) and retrieval.

    `cold` (no likes, no seeds): retrieval's popularity order stays. The rank head was fitted on users
    with likes, where popularity's weight is negative beside EASE; with every EASE input at zero it
    would put the most obscure items first (measured: a new user's "80s sci-fi" led with Transformers:
    The Movie)."""
    n = len(scores)
    if stack is None:
        return [s.p_yes for s in scores], list(priors[:n])
    t = with_logits({k: v[:n] for k, v in table.items()}, [s.logit for s in scores])
    like = [float(p) for p in stack.p_like(t)]
    if cold:
        return like, list(priors[:n])
    key = [float(p) for p in stack.rank.predict_table(t)] if stack.rank else like
    return like, list(np.asarray(key) * support(t["log_popularity"]))


def support(log_popularity) -> np.ndarray:
    """n / (n + SUPPORT_PRIOR) for an item with n ratings: what orders the list counts rarely rated items
    down (one rating cannot lead a list); 1 with no prior. P(like) itself is left as the head says."""
    n = np.expm1(np.asarray(log_popularity, dtype=np.float64))
    return n / (n + SUPPORT_PRIOR) if SUPPORT_PRIOR > 0 else np.ones_like(n)


def is_cold(history: list[Interaction], seeds: tuple[int, ...] = ()) -> bool:
    """Nothing to be collaborative about: no like in the history and no "more like" seed."""
    return not seeds and not any(h.liked for h in history)


def iter_rank(scorer: Scorer, stack: Reranker | None, collab: CollabModel, domain: str, history: list[Interaction],
              cands: list[Candidate], *, top: int, first_chunk: int = FIRST_CHUNK, chunk: int | None = None,
              cancelled: Callable[[], bool] = lambda: False, seeds: tuple[int, ...] = ()) -> Iterator[Ranking]:
    """Score candidates in retrieval order; yield the ranking after the first chunk, every `chunk` more, and at the end.

    The chat shows the first ranking at once and refines it; the scores are the same as one call.
    `cancelled` is asked between chunks: a newer request stops an older ranking within one chunk
    instead of queueing behind all of it (the first request on a new store waited on the greeting's).
    """
    prompts = [scorer.prompts.for_user(domain, history, c.item, c.like_rate) for c in cands]
    table = candidate_table(collab, history, cands, seeds)
    cold = is_cold(history, seeds)
    priors = [c.prior for c in cands]
    scores: list[Score] = []
    steps = range(first_chunk, len(prompts), chunk) if chunk else [first_chunk]
    bounds = [b for b in (*steps, len(prompts)) if 0 < b <= len(prompts)]
    start = 0
    for end in sorted(set(bounds)):
        if cancelled():
            return
        with refits_paused():  # a background collaborative refit never takes the cores from the LLM
            scores += scorer.score(prompts[start:end])
        start = end
        like, key = stack_scores(stack, table, scores, priors, cold)
        key = answering(key, [c.relevance for c in cands[:end]])
        ranked = sorted(zip(cands, like, key, scores), key=lambda c: (-c[2], -c[0].prior))
        if any(c.gem for c in cands):
            ranked = with_gems(ranked, top, lambda row: row[0].gem)
        yield Ranking([Recommendation(c.item, p, s.p_yes, c.prior, k) for c, p, k, s in ranked[:top]], end, len(cands))


def with_gems(rows: list, top: int, is_gem: Callable[[object], bool]) -> list:
    """A "hidden gems" list: the order's own rows, except that once the places left in the first `top` are as
    few as the gems still owed (GEM_SHARE of them), each goes to the best-ordered gem. The head stays what
    ranks best and the gems take the places that cost the fewest hits (calibrated re-ranking, Steck 2018)."""
    owed, out, rest = math.ceil(GEM_SHARE * top), [], list(rows)
    while rest and len(out) < top:
        must = owed - sum(map(is_gem, out)) >= top - len(out)
        out.append(rest.pop(next((k for k, r in enumerate(rest) if is_gem(r)), 0) if must else 0))
    return out + rest


def answering(key: list[float], relevance: list[float]) -> list[float]:
    """The order answers the request's describing words: a full answer adds WORD_BOOST × the best key (as
    retrieval does), so the stack orders within what was asked for rather than undoing it."""
    if not any(relevance):
        return key
    top = max((abs(k) for k in key), default=0.0) or 1.0
    return [k + WORD_BOOST * top * r for k, r in zip(key, relevance)]


def recommend(db: sqlite_utils.Database, scorer: Scorer, collab: CollabModel, stack: Reranker | None,
              user_id: int | None, *, query: Query = Query(), top: int = 5, n_candidates: int = 50,
              context: list[Interaction] | None = None) -> list[Recommendation]:
    """Retrieve the top `n_candidates` with the collaborative model, score them, return the `top` by the stack.

    `context` adds liked/disliked items for this request only (e.g. "more like Alien").
    """
    history, cands = retrieve(db, collab, user_id, query, n_candidates, context)
    cands = with_like_rates(collab, stored_part(history, context), cands)
    final: list[Recommendation] = []
    seeds = tuple(h.item_id for h in context or [] if h.liked)
    for ranking in iter_rank(scorer, stack, collab, query.domain, history, cands, top=top, first_chunk=len(cands),
                             seeds=seeds):
        final = ranking.items
    return final
