"""Issue 51, "nothing said is lost": while another program holds the store's write lock (a real second process,
BEGIN IMMEDIATE), what the chat writes waits in the on-disk journal beside the store (`<store>.pending.jsonl`)
and is written when the store frees: at the next open, at the end of `engine ask`, by the app's flush. The
conversation's state has its own table, written every turn. A chat opens and answers during a real import.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from db.outbox import Entry, Outbox, journal_path
from engine.chat.session import ChatSession
from tests.conftest import ROOT, SHARED, count, engine, needs_shared, write_lock_held
from tests.fakes import SIZE, FakeScorer, settle
from tui.app import ChatApp
from tui.widgets import ResultsTable

USER = "ml100k-196"  # a user of the GroupLens fixture


def session(store, user: str = USER, **kw) -> ChatSession:
    """A chat with little patience for the lock (0.1 s a try, 2 tries): the tests stay fast."""
    return ChatSession(store, user, scorer_factory=FakeScorer, n_candidates=8, lock_wait=0.1, lock_tries=2, **kw)


def rating(store, user: str, item: int) -> int | None:
    conn = sqlite3.connect(store)
    try:
        row = conn.execute("SELECT c.liked FROM current_feedback c JOIN users u ON u.id = c.user_id "
                           "WHERE u.name = ? AND c.item_id = ?", [user, item]).fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def lines(store) -> list[dict]:
    path = journal_path(store)
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def stored_state(store, chat: int) -> dict | None:
    conn = sqlite3.connect(store)
    try:
        row = conn.execute("SELECT state FROM chat_states WHERE chat_id = ?", [chat]).fetchone()
        return json.loads(row[0]) if row else None
    finally:
        conn.close()


def test_a_rating_made_while_locked_survives_the_quit_and_the_next_open_writes_it(grouplens_store):
    session(grouplens_store).close()  # the user and a chat exist: the next open needs no write lock
    with write_lock_held(grouplens_store):
        known = session(grouplens_store)
        assert lines(grouplens_store) == []  # opened on reads alone
        said = known.rate(known.store.item(1), True)
        assert said.startswith("Not saved yet: you liked Toy Story (1995).")
        assert "kept on disk in store.db.pending.jsonl and will be written when the store frees" in said
        newbie = session(grouplens_store, "newbie")  # a user to create while locked: the chat still works
        assert newbie.user_id is None and newbie.history() == []
        assert newbie.rate(newbie.store.item(2), False).startswith("Not saved yet")
        for s in (known, newbie):
            note = s.close()
            assert "still locked" in note and "pending.jsonl" in note and "\n" not in note
        assert [(x["kind"], x["user"]) for x in lines(grouplens_store)] == [
            ("rating", USER), ("user", "newbie"), ("chat", "newbie"), ("rating", "newbie")]
    assert rating(grouplens_store, USER, 1) is None  # not written by anyone yet: the lock was never free
    again = session(grouplens_store, "someone-else")  # any chat on the store replays the journal at open
    again.close()
    assert rating(grouplens_store, USER, 1) == 1 and rating(grouplens_store, "newbie", 2) == 0
    assert lines(grouplens_store) == [] and journal_path(grouplens_store).exists()
    assert count(grouplens_store, "SELECT COUNT(*) FROM chats c JOIN users u ON u.id = c.user_id "
                                  "WHERE u.name = 'newbie'") == 1


async def test_the_app_exit_leaves_a_locked_rating_on_disk_and_the_next_chat_writes_it(grouplens_store):
    app = ChatApp(session(grouplens_store), autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.query_one("#results", ResultsTable)
        table.focus()
        item = table.selected_item_id()
        with write_lock_held(grouplens_store):
            await pilot.press("l")  # its worker finds the store locked
            await pilot.press("ctrl+q")  # the exit waits for it, tries once more, and leaves the journal
            await pilot.pause()
            assert not app.is_running
        assert "still locked" in app.exit_note and "pending.jsonl" in app.exit_note
    assert [(x["kind"], x["item"], x["liked"]) for x in lines(grouplens_store) if x["kind"] == "rating"] == [
        ("rating", item, True)]
    assert rating(grouplens_store, USER, item) is None
    session(grouplens_store).close()
    assert rating(grouplens_store, USER, item) == 1 and lines(grouplens_store) == []


@pytest.fixture
def fake_model(monkeypatch):
    """`engine ask` with the fake scorer in place of the GGUF it would open."""
    monkeypatch.setattr("engine.cli.recommend.scorer_ahead", lambda path: SimpleNamespace(result=FakeScorer))


def ask(store, *args):
    return engine("ask", "--db", store, "--user", "asker", "--candidates", "8", *args)


def test_engine_ask_ending_while_locked_keeps_the_rating_and_the_next_ask_writes_it(grouplens_store, fake_model):
    with write_lock_held(grouplens_store):
        r = ask(grouplens_store, "I loved Toy Story")
        assert r.exit_code == 0, r.output
        assert "1 rating not saved yet" in r.stdout and "the chat is created once the store frees" in r.stderr
        assert "still locked by another program: " in r.stderr and "pending.jsonl" in r.stderr
    assert rating(grouplens_store, "asker", 1) is None
    assert {x["kind"] for x in lines(grouplens_store)} == {"user", "chat", "message", "rating", "state"}
    r = ask(grouplens_store, "--json", "something older")
    assert r.exit_code == 0, r.output
    assert rating(grouplens_store, "asker", 1) == 1 and lines(grouplens_store) == []
    conn = sqlite3.connect(grouplens_store)
    first = conn.execute("SELECT c.id FROM chats c JOIN users u ON u.id = c.user_id WHERE u.name = 'asker' "
                         "ORDER BY c.id LIMIT 1").fetchone()[0]
    said = [r[0] for r in conn.execute("SELECT content FROM messages WHERE chat_id = ? ORDER BY id", [first])]
    conn.close()
    assert said[0] == "I loved Toy Story" and "not saved yet" in said[1]  # the locked chat's log, in order
    assert 1 in stored_state(grouplens_store, first)["liked"]


def test_every_turn_writes_the_state_and_one_written_while_locked_is_there_once_it_frees(grouplens_store):
    s = session(grouplens_store)
    s.handle("something like Toy Story")
    chat = s.chat_id
    assert stored_state(grouplens_store, chat) == s.state.to_json()
    with write_lock_held(grouplens_store):
        s.handle("nothing before 1990")
        newest = s.state.to_json()
        assert newest != stored_state(grouplens_store, chat)  # the turn waits on disk
        resumed = session(grouplens_store, chat=chat)  # a chat resumed meanwhile reads the newest state
        assert resumed.state.to_json() == newest
        resumed.close()
    assert s.journal.flush_pending() >= 1  # the app's flush timer does this every 2 s
    assert stored_state(grouplens_store, chat) == newest
    s.close()


def test_engine_ask_resumes_the_newest_state_and_a_chat_from_before_reads_its_payload(grouplens_store, fake_model):
    first = ask(grouplens_store, "--json", "something like Toy Story")
    chat = json.loads(first.stdout)["chat"]
    ask(grouplens_store, "--chat", str(chat), "--json", "nothing before 1990")
    third = json.loads(ask(grouplens_store, "--chat", str(chat), "--json", "show me 3").stdout)
    assert third["state"]["seeds"] == [1] and third["state"]["year_min"] == 1990 and third["state"]["count"] == 3
    assert stored_state(grouplens_store, chat) == third["state"]
    # A chat written before schema v4: its state only in the assistant message's payload.
    conn = sqlite3.connect(grouplens_store, isolation_level=None)
    uid = conn.execute("SELECT id FROM users WHERE name = 'asker'").fetchone()[0]
    old = conn.execute("INSERT INTO chats (user_id) VALUES (?)", [uid]).lastrowid
    conn.execute("INSERT INTO messages (chat_id, role, content, payload) VALUES (?, 'assistant', 'hi', ?)",
                 [old, json.dumps({"state": {**third["state"], "year_min": 1980}})])
    conn.close()
    again = json.loads(ask(grouplens_store, "--chat", str(old), "--json", "show me 4").stdout)
    assert again["state"]["year_min"] == 1980 and again["state"]["count"] == 4


def test_a_replay_run_twice_writes_each_line_once_and_skips_a_torn_line(grouplens_store):
    s = session(grouplens_store)
    outbox = Outbox.of(s.db)
    entries = [Entry("user", "ghost", 1.0), Entry("chat", "ghost", 2.0, chat_key="k1"),
               Entry("rating", "ghost", 3.0, chat_key="k1", item=5, liked=True),
               Entry("state", "ghost", 4.0, chat_key="k1", state={"count": 7}),
               Entry("rating", "ghost", 5.0, item=999_999, liked=True)]  # an item the store lacks: dropped
    for e in entries:
        outbox.append(e)
    text = outbox.path.read_text()
    with open(outbox.path, "a") as f:
        f.write('{"kind": "rating", "us')  # a crash mid-line
    outbox.append(Entry("rating", "ghost", 6.0, item=6, liked=False))  # starts a fresh line
    with s.store.lock:
        done = outbox.replay(s.db)
        assert (done.written, done.dropped, done.ratings) == (5, 2, 2)
        outbox.path.write_text(text)  # as if the process died between COMMIT and emptying the file
        outbox.replay(s.db)
    assert count(grouplens_store, "SELECT COUNT(*) FROM feedback f JOIN users u ON u.id = f.user_id "
                                  "WHERE u.name = 'ghost'") == 2
    assert count(grouplens_store, "SELECT COUNT(*) FROM chats WHERE journal_key = 'k1'") == 1
    s.close()


PACED_IMPORT = """
import contextlib, os, sys, time
import db.importers.writer as writer
real, held, go = writer.transaction, sys.argv[1], sys.argv[2]

@contextlib.contextmanager
def paced(db):  # the real import, its COMMIT held until the test has chatted
    with real(db) as conn:
        yield conn
        open(held, "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.01)

writer.transaction = paced
from engine.cli import main
sys.argv = ["engine", *sys.argv[3:]]
main()
"""


@needs_shared
def test_a_chat_opens_and_answers_while_a_real_import_holds_the_lock(grouplens_store, tmp_path):
    session(grouplens_store).close()  # the user and a chat exist
    held, go = tmp_path / "held", tmp_path / "go"
    importer = subprocess.Popen([sys.executable, "-c", PACED_IMPORT, str(held), str(go), "data", "import", "movielens",
                                 str(SHARED / "ml-latest-small"), "--db", str(grouplens_store)], cwd=ROOT,
                                env={**os.environ, "RECCHAT_FIT_AFTER_IMPORT": "0"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert importer.poll() is None and time.monotonic() < deadline, importer.stderr.read()
            time.sleep(0.02)
        chats = [session(grouplens_store), session(grouplens_store, "newbie")]
        for s in chats:
            reply = s.handle("something like Toy Story")
            ranking = list(s.rank(reply.plan))[-1]
            assert "something like Toy Story (1995)" in reply.text and len(ranking.items) == 8
        assert "I loved" not in chats[0].handle("I loved GoldenEye").text
        assert importer.poll() is None  # all of it while the import held the lock
    finally:
        go.touch()
        out, err = importer.communicate(timeout=120)
    assert importer.returncode == 0, err
    for s in chats:
        s.journal.flush_pending()
        s.close()
    assert rating(grouplens_store, USER, 2) == 1 and lines(grouplens_store) == []
    assert count(grouplens_store, "SELECT COUNT(*) FROM chat_states s JOIN chats c ON c.id = s.chat_id "
                                  "JOIN users u ON u.id = c.user_id WHERE u.name = 'newbie'") == 1
