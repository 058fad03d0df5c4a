"""Movie night: one list for the people present (engine.rank.group), in the chat and by strategy."""

from __future__ import annotations

import numpy as np
import pytest

from engine.chat.session import ChatSession
from engine.rank.group import STRATEGIES, aggregate
from tests.fakes import FakeScorer


def test_strategies():
    a, b = np.array([0.9, 0.5, 0.1]), np.array([0.1, 0.5, 0.2])
    assert aggregate([a, b], "average").tolist() == pytest.approx([0.5, 0.5, 0.15])
    assert np.argmax(aggregate([a, b], "least-misery")) == 1  # nobody left with a film they rank low
    assert aggregate([a, b], "fair")[1] > aggregate([a, b], "fair")[0]  # the same mean, less spread
    assert aggregate([a], "least-misery").tolist() == a.tolist()
    with pytest.raises(ValueError, match="unknown group strategy"):
        aggregate([a], "loudest")
    assert "average" in STRATEGIES


def test_the_chat_makes_one_list_for_the_people_present(ml100k_copy):
    session = ChatSession(ml100k_copy, "ml100k-196", scorer_factory=FakeScorer, with_users=("ml100k-186",))
    try:
        plan = session.plan()
        assert [m.name for m in plan.members] == ["ml100k-196", "ml100k-186"]
        rated = {h.item_id for m in plan.members for h in m.history}
        assert not rated & {c.item.id for c in plan.candidates}  # nothing either of them has rated
        ranking = list(session.rank(plan))[-1]
        row = ranking.items[0]
        assert [name for name, _ in row.members] == ["ml100k-196", "ml100k-186"]  # each member's P(like)
        assert [r.match for r in ranking.items] == sorted((r.match for r in ranking.items), reverse=True)
        reply = session.handle("I loved Fargo")  # said by the speaker: their rating, not the guest's
        assert "Saved 1 rating" in reply.text
        alone = session.handle("just me")
        assert alone.text.startswith("Just you again") and not alone.plan.members
        back = session.handle("/with ml100k-186 and ml100k-13")
        assert back.text.startswith("One list for ml100k-196 and ml100k-186 and ml100k-13")
        assert len(back.plan.members) == 3
    finally:
        session.close()
