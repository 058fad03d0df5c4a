"""The previous, hand-set order: retrieval's EASE with constants added (engine.rank.retrieval), then the
stack's two logistic heads (engine.rank.stack) times a support term, plus the describing words' boost.

Not served any more (the learned ranker orders: engine.rank.served); kept because it is the baseline the
benches compare with in the same run (bench/temporal.py's "today's pipeline", bench/groups.py,
bench/popularity.py) and what `engine eval` measures the LLM's P(Yes) with on held-out windows.
"""

from __future__ import annotations

import numpy as np

from db.feedback import HISTORY_WINDOW
from db.scoring import Score
from db.types import Interaction
from engine.collab.model import CollabModel

from .retrieval import WORD_BOOST, Candidate
from .stack import Reranker, Table, feature_table, with_logits

SUPPORT_PRIOR = 5.0  # rating count at which the ordering key halves (bench/obscure.py, docs/results.md; 0: none)


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


def answering(key: list[float], relevance: list[float]) -> list[float]:
    """The order answers the request's describing words: a full answer adds WORD_BOOST × the best key (as
    retrieval does), so the stack orders within what was asked for rather than undoing it."""
    if not any(relevance):
        return key
    top = max((abs(k) for k in key), default=0.0) or 1.0
    return [k + WORD_BOOST * top * r for k, r in zip(key, relevance)]
