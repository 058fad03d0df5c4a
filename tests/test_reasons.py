"""Explanations from what ranked the film (engine.rank.reasons): the ranker's parts add up to its score, the
films named are the ones the person rated or said, and a film loved in the same message is named as liked."""

from __future__ import annotations

import pytest

from engine.chat.session import ChatSession
from tests.fakes import FakeScorer

USERS = ["ml100k-1", "ml100k-13", "ml100k-42", "ml100k-196"]


@pytest.fixture(scope="module")
def ranked(ml100k_store):
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


def test_the_reasons_add_up_exactly_to_the_score_that_ordered_the_list(ranked):
    """Every feature's part (TreeSHAP) goes to one reason: base + reasons = the ranker's score, the key the
    list was sorted by, so each reason's sign is its real effect."""
    checked = 0
    for s, plan, ranking in ranked:
        for rec in ranking.items[:3]:
            why = s.why(rec.item).why
            assert why.score == pytest.approx(rec.prior, abs=1e-6)
            assert why.p_like == pytest.approx(rec.p_like)
            checked += 1
    assert checked == 3 * len(USERS)


def test_the_films_named_are_the_persons_own_and_the_sentence_names_the_ranker(ranked):
    for s, plan, ranking in ranked:
        why = s.why(ranking.items[0].item)
        films = [r for r in why.why.reasons if r.kind in ("liked", "disliked")]
        assert films and {r.what for r in films} <= {h.name for h in plan.history}
        assert "learned ranker" in why.sentence()


def test_a_film_not_on_screen_is_explained_for_the_persons_history(ranked):
    s, plan, ranking = ranked[0]
    shown = {r.item.id for r in ranking.items}
    other = next(i for i in s.store.catalog() if i.id not in shown and i.id not in {h.item_id for h in plan.history})
    why = s.why(other).why
    assert why.reasons and 0 < why.p_like < 1


def test_a_seeds_reason_and_a_loved_film_named_as_liked(ml100k_copy):
    s = ChatSession(ml100k_copy, "someone-new", scorer_factory=FakeScorer)
    try:
        ranking = list(s.rank(s.handle("something like Alien").plan))[-1]
        why = s.why(ranking.items[0].item)
        seeds = [r for r in why.why.reasons if r.kind == "seed"]
        assert seeds and "Alien" in seeds[0].what
        ranking = list(s.rank(s.handle("I loved Fargo, something like it").plan))[-1]
        text = s.why(ranking.items[0].item).sentence()
        assert "asked for something like Fargo" not in text
        assert "liked Fargo (1996)" in text
    finally:
        s.close()


def test_a_film_liked_and_named_as_the_seed_is_one_reason(ml100k_copy):
    s = ChatSession(ml100k_copy, "someone-else", scorer_factory=FakeScorer)
    try:
        ranking = list(s.rank(s.handle("I loved Fargo, something like it").plan))[-1]
        why = s.why(ranking.items[0].item)
        named = [(r.kind, r.what) for r in why.why.reasons]
        assert len(named) == len(set(named)), why.sentence()
        assert why.why.score == pytest.approx(ranking.items[0].prior, abs=1e-6)
    finally:
        s.close()


def test_a_genre_or_words_never_asked_for_are_not_named_as_asked(ranked):
    for s, plan, ranking in ranked:
        text = s.why(ranking.items[0].item).sentence()
        assert "the genre you asked for" not in text and "you asked for '" not in text, text
