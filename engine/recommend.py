"""Retrieve → prompt → score → rank: the one path behind `engine recommend` and the chat."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from db.feedback import HISTORY_WINDOW, user_history
from db.prompt import INSTRUCTIONS, build_input, build_prompt
from db.types import Interaction, Item

from .retrieval import Query, candidates
from .scorer import Scorer


@dataclass(frozen=True)
class Recommendation:
    item: Item
    p_yes: float
    prior: float


def user_prompt(domain: str, history: list[Interaction], target_name: str) -> str:
    """The TALLRec prompt for one user and one target, from the user's most recent ratings."""
    recent = history[-HISTORY_WINDOW:]
    liked = [h.name for h in recent if h.liked]
    disliked = [h.name for h in recent if not h.liked]
    return build_prompt(INSTRUCTIONS[domain], build_input(domain, liked, disliked, target_name))


def recommend(db: sqlite_utils.Database, scorer: Scorer, user_id: int | None, query: Query = Query(),
              top: int = 5, n_candidates: int = 50, context: list[Interaction] | None = None) -> list[Recommendation]:
    """Score the top `n_candidates` by prior with the LLM; return the `top` by P(Yes).

    `context` adds liked/disliked items for this request only (e.g. "more like Alien").
    """
    history = user_history(db, user_id, query.domain) + list(context or [])
    extra = tuple(h.item_id for h in context or [] if h.liked)
    cands = candidates(db, user_id, query, n_candidates, extra_liked=extra)
    if not cands:
        return []
    prompts = [user_prompt(query.domain, history, c.item.name) for c in cands]
    scores = scorer.p_yes(prompts)
    ranked = sorted(zip(cands, scores), key=lambda cs: (-cs[1], -cs[0].prior))
    return [Recommendation(c.item, p, c.prior) for c, p in ranked[:top]]
