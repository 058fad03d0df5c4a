"""The chat session without the UI: the newest request wins over one still scoring; the ranker note; fallbacks."""

from __future__ import annotations

import threading

from engine.chat.session import ChatSession

from tests.fakes import FakeScorer


def test_a_newer_request_stops_an_older_ranking_at_its_next_chunk(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    session = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), n_candidates=50)
    greeting = session.rank(session.plan())
    shown = next(greeting)  # the rows in the ranker's order at once, before the LLM
    assert shown.scored == 0 and len(shown.items) == 10
    first = next(greeting)  # the greeting has scored its first rows and holds the model
    assert first.scored == 6 and not first.done
    newer: list = []
    worker = threading.Thread(target=lambda: newer.extend(session.rank(session.plan())))
    worker.start()
    while session._generation < 2:  # the newer request has asked, and waits for the model
        pass
    rest = list(greeting)
    assert rest == [] or not rest[-1].done  # stopped within one chunk, never finished
    worker.join(30)
    assert newer and newer[-1].done and newer[-1].total == 10  # the LLM scores the rows shown only


def test_the_session_says_what_ranks_and_uses_collaborative_retrieval(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    session = ChatSession(ml100k_copy, "ml100k-196", scorer_factory=lambda: FakeScorer())
    session.load_model()
    # ML-100K's own shipped ranker orders, and the note says so
    assert "shipped learned ranker fitted on ml-100k" in session.order_note
    assert any("collaborative model: EASE (1,682 items) fitted on" in n for n in session.notices)
    final = list(session.rank(session.plan()))[-1]
    assert final.done and len(final.items) == 10
    assert all(0 < r.p_like < 1 and 0 < r.p_yes < 1 for r in final.items)
    assert [r.match for r in final.items] == sorted((r.match for r in final.items), reverse=True)


def test_a_new_user_gets_the_genre_and_years_asked_for(ml100k_copy, tmp_path, monkeypatch):
    """No likes, no seeds: the ranker orders what was asked for, widely rated films first."""
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    session = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer())
    plan = session.handle("sci-fi from the 80s").plan
    final = list(session.rank(plan))[-1]
    assert [r.item.id for r in final.items] == [c.item.id for c in plan.candidates[:10]]
    names = [r.item.name for r in final.items]
    assert {"Empire Strikes Back, The (1980)", "Return of the Jedi (1983)"} & set(names[:3])
    assert all("Sci-Fi" in r.item.genres and 1980 <= r.item.year <= 1989 for r in final.items)
    assert all(0 < r.p_like < 1 for r in final.items)


def test_ratings_in_the_chat_never_refit_and_a_reopened_chat_serves_the_cached_model(ml100k_copy, tmp_path,
                                                                                    monkeypatch):
    """Issue 33: a rating used to start a full refit, and a chat opened after it waited for one. Counted:
    one fit on first use, none for five ratings, none when the chat is reopened on the moved store."""
    import engine.collab.cache as cc

    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RECCHAT_REFIT_SHARE")  # the product's default share
    fits, starts = [], []
    real_fit = cc.fit_from_store
    monkeypatch.setattr(cc, "fit_from_store", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    monkeypatch.setattr(cc, "start_refit", lambda *a, **k: starts.append(1))
    session = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer())
    session.load_model()
    assert fits == [1]
    for title in ("Pulp Fiction", "Fargo", "Heat", "Alien", "Babe"):
        reply = session.handle(f"I loved {title}")
        assert "Got it" in reply.text, reply.text
    list(session.rank(session.plan()))
    assert fits == [1] and starts == []  # 5 events of 100,000: far below REFIT_SHARE
    session.close()
    again = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer())
    again.load_model()
    assert fits == [1] and starts == []
    assert len([h for h in again.history() if h.liked]) == 5  # the ratings count at once (fold-in)


def test_with_nothing_said_the_reply_says_where_the_list_comes_from(ml100k_copy, tmp_path, monkeypatch):
    """A person with likes gets a list from them, a new person popular picks: the words say which."""
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    known = ChatSession(ml100k_copy, "ml100k-196", scorer_factory=lambda: FakeScorer(), new_chat=True)
    newbie = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), new_chat=True)
    assert "what you rated before" in known.handle("recommend me something").text
    assert "popular picks" in newbie.handle("recommend me something").text
