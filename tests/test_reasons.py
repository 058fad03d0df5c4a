"""Explanations from what ranked the film (engine.rank.reasons): the parts add up to the ordering score, each
reason's sign is its effect on real rankings, and the first row's top reason is a film or a word."""

from __future__ import annotations

import math

import numpy as np
import pytest

from db import open_db
from db.users import find_user
from engine.chat.session import ChatSession
from engine.rank.reasons import reasons_for
from engine.rank.stack import with_logits
from tests.fakes import FakeScorer

USERS = ["ml100k-1", "ml100k-13", "ml100k-42", "ml100k-92", "ml100k-196", "ml100k-276", "ml100k-405", "ml100k-655"]


def rank_logit(session, history, item_id, seeds=()) -> float:
    from engine.rank.recommend import candidate_table

    from engine.rank.retrieval import Candidate

    table = candidate_table(session.collab.current(), history, [Candidate(session.store.item(item_id), 0.0)], seeds)
    head = session.stack.rank
    z = head.logit(np.column_stack([np.asarray(with_logits(table, [0.0])[f], dtype=float) for f in head.features]))
    return float(z[0])


@pytest.fixture(scope="module")
def ranked(ml100k_store):
    """The first rows for several real users (no-LLM stack: P(Yes) held at 0, as FakeScorer's logit is ignored)."""
    out = []
    for user in USERS:
        s = ChatSession(ml100k_store, user, scorer_factory=FakeScorer)
        s.load_model()
        plan = s.plan()
        ranking = list(s.rank(plan))[-1]
        out.append((s, plan, ranking))
    yield out
    for s, _, _ in out:
        s.close()


def test_the_films_parts_add_up_exactly_to_the_collaborative_part_of_the_order(ranked):
    """Each film's reason is its exact part of the rank head's logit: with every collaborative input at zero
    the logit drops by the sum of the films' parts, so each part's sign is its effect (removing that film's
    weight moves the film by exactly that much, the other way)."""
    checked = 0
    for s, plan, ranking in ranked:
        head = s.stack.rank
        for rec in ranking.items[:3]:
            why = reasons_for(rec.item, s.collab.current(), s.stack, plan.history, llm_logit=0.0)
            films = [r for r in why.reasons if r.kind in ("liked", "disliked", "seed")]
            full = rank_logit(s, plan.history, rec.item.id)
            zero = full - sum(head.coef[k] * rank_input(s, plan.history, rec.item.id, f) / head.scale[k]
                              for k, f in enumerate(head.features) if f in ("ease_all", "ease_liked", "ease_disliked"))
            assert sum(r.effect for r in films) == pytest.approx(full - zero, abs=1e-6)
            checked += len(films)
    assert checked >= 20


def rank_input(session, history, item_id, feature) -> float:
    from engine.rank.recommend import candidate_table
    from engine.rank.retrieval import Candidate

    table = candidate_table(session.collab.current(), history, [Candidate(session.store.item(item_id), 0.0)])
    return float(table[feature][0])


def test_the_first_rows_top_reason_names_a_film_or_a_word(ranked):
    for s, plan, ranking in ranked:
        why = s.why(ranking.items[0].item)
        top = why.why.reasons[0]
        assert top.kind in ("liked", "disliked", "seed", "word"), (s.user_name, why.sentence())
        assert top.what in {h.name for h in plan.history}
        assert "ordered by the model's stack" in why.sentence()


def test_a_seeds_reason_and_a_words_reason(ml100k_copy):
    s = ChatSession(ml100k_copy, "someone-new", scorer_factory=FakeScorer)
    try:
        reply = s.handle("something like Alien")
        ranking = list(s.rank(reply.plan))[-1]
        why = s.why(ranking.items[0].item)
        assert why.why.reasons and why.why.reasons[0].kind == "seed" and "Alien" in why.why.reasons[0].what
        assert "asked for something like Alien (1979) raises it" in why.sentence()
    finally:
        s.close()
