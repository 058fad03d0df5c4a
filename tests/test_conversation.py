"""A conversation across messages: what is understood, written, recommended and carried over.

The session and the Textual app run on a real SQLite store with a fake scorer; `engine ask` runs the
real default model once, end to end, continuing a chat by its id.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input

from engine.chat.session import ChatSession
from tui.app import ChatApp

from tests.conftest import count, engine
from tests.fakes import SIZE, FakeScorer, log_text, settle

RATINGS = "SELECT COUNT(*) FROM current_feedback f JOIN users u ON u.id = f.user_id WHERE u.name = '{}'"


@pytest.fixture
def session(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    s = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), n_candidates=20)
    yield s
    s.close()


def ranked(session, reply) -> list[str]:
    return [r.item.name for r in list(session.rank(reply.plan))[-1].items]


def test_a_sentence_with_likes_and_a_dislike(session, ml100k_copy):
    reply = session.handle("I loved Fargo and Pulp Fiction but hated Titanic")
    assert "Got it: you like Fargo (1996) and Pulp Fiction (1994); not Titanic (1997)." in reply.text
    assert "Saved 3 ratings" in reply.text and reply.history_changed
    assert count(ml100k_copy, RATINGS.format("newbie")) == 3
    names = ranked(session, reply)
    assert len(names) == 10 and not {"Fargo (1996)", "Pulp Fiction (1994)", "Titanic (1997)"} & set(names)
    assert [s.name for s in reply.plan.seeds] == ["Fargo (1996)", "Pulp Fiction (1994)"]
    undo = session.handle("undo")
    assert "Fargo (1996) is unrated again" in undo.text and count(ml100k_copy, RATINGS.format("newbie")) == 0
    assert session.state.liked == [] and session.state.disliked == []


def test_a_seed_is_not_a_rating_and_state_carries_over(session, ml100k_copy):
    first = session.handle("something like Alien but funnier")
    assert "something like Alien (1979)" in first.text and "comedy" in first.text
    assert count(ml100k_copy, RATINGS.format("newbie")) == 0
    second = session.handle("no horror, and nothing before 1980")
    assert "something like Alien (1979)" in second.text and "no horror" in second.text and "from 1980" in second.text
    names = ranked(session, second)
    assert "Alien (1979)" not in names
    items = [session.find_title(n) for n in names]
    assert all(i is not None and "Horror" not in i.genres and i.year >= 1980 for i in items)
    third = session.handle("more like the second one")
    assert session.shown[1].id in session.state.seeds or items[1].id in session.state.seeds
    assert "start" not in third.text.lower()
    reset = session.handle("start over")
    assert session.state.empty and "Starting over" in reset.text


def test_state_survives_a_new_session_on_the_same_chat(session, ml100k_copy):
    session.handle("something like Alien")
    again = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), chat=session.chat_id)
    assert again.state.seeds == session.state.seeds
    fresh = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), new_chat=True)
    assert fresh.state.empty and fresh.chat_id != session.chat_id


@pytest.mark.parametrize("text", ["x" * 2000, "I loved Iron Man and Black Panther", "😀🍿🎬", "<b>Alien</b> <script>",
                                  "Je voudrais un film comme Fargo", "\"\"\"''", "me gustó Titanic"])
def test_odd_messages_get_a_reply_and_write_nothing(session, ml100k_copy, text):
    reply = session.handle(text)
    assert reply.text and "Traceback" not in reply.text
    assert count(ml100k_copy, RATINGS.format("newbie")) == 0


def test_a_title_the_catalog_lacks_is_named(session):
    reply = session.handle("I loved Iron Man")
    assert "Not in the catalog: Iron Man" in reply.text
    # once per chat: which catalog it holds, its years, and the command that brings a newer one
    assert "This chat's catalog is ml-100k (1,682 items, 1922-1998)" in reply.text
    assert "engine data import movielens ml-latest-small" in reply.text
    again = session.handle("and I loved The Dark Knight")
    assert "Not in the catalog" in again.text and "This chat's catalog" not in again.text
    assert session.notices[0] == "Catalog: ml-100k, 1,682 movies (the only one in the store)."


async def test_three_messages_in_the_app(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    session = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), n_candidates=12)
    app = ChatApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for text in ("I loved Fargo and Pulp Fiction but hated Titanic", "sci-fi please", "no horror"):
            box = app.query_one("#ask", Input)
            box.value = text
            await pilot.press("enter")
            await settle(app, pilot)
        log = log_text(app)
        assert "Got it: you like Fargo (1996) and Pulp Fiction (1994); not Titanic (1997); sci-fi; no horror." in log
        shown = {i.name for i in app.session.shown}
        assert app.query_one("#results").row_count == 10
        assert len(shown) == 10 and not {"Fargo (1996)", "Pulp Fiction (1994)", "Titanic (1997)"} & shown
        assert count(ml100k_copy, RATINGS.format("newbie")) == 3


def test_engine_ask_end_to_end_and_continue_by_chat_id(ml100k_copy, scorer, tmp_path, monkeypatch):
    """The real default model: the reply, the ranked list, and the chat continued with --chat."""
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    r = engine("ask", "--db", ml100k_copy, "--user", "asker", "--candidates", "12", "--json",
               "--model", scorer.path, "I loved Fargo but hated Titanic", "something older")
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 2 and lines[0]["reply"].startswith("Got it: you like Fargo (1996); not Titanic (1997).")
    assert len(lines[0]["items"]) == 10 and all(0 < i["p_like"] < 1 for i in lines[0]["items"])
    assert lines[1]["state"]["year_max"] is not None
    chat = lines[1]["chat"]
    r = engine("ask", "--db", ml100k_copy, "--user", "asker", "--chat", str(chat), "--model", scorer.path,
               "--candidates", "12", "no drama")
    assert r.exit_code == 0, r.output
    assert "you like Fargo (1996); not Titanic (1997)" in r.stdout and "no drama" in r.stdout
    r = engine("ask", "--db", ml100k_copy, "--user", "asker", "--chat", "9999", "--model", scorer.path, "hi")
    assert r.exit_code == 1 and "no chat 9999" in r.stderr
    r = engine("ask", "--db", ml100k_copy, "--user", " ", "--model", scorer.path, "hi")
    assert r.exit_code == 1 and "--user is empty" in r.stderr
