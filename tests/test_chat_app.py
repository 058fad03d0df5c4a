"""The Textual chat, driven by Pilot with a real SQLite store (ML-100K): the real model where the
screen shows its numbers, a fake scorer where only the flow matters (the suite stays fast)."""

from __future__ import annotations

import sqlite3

from textual.widgets import Input

from db.eval_runs import store_eval_run
from engine.evaluation.split_eval import evaluate
from db import open_db
from db.sample_files import read_samples
from tui.widgets import EvalScreen, HistoryList, ResultsTable

from tests.conftest import count
from tests.fakes import SIZE, USER, FakeScorer, log_text, make_app, settle


async def ask(app, pilot, text: str) -> None:
    box = app.query_one("#ask", Input)
    box.focus()
    box.value = text
    await pilot.press("enter")
    await settle(app, pilot)


def titles(app) -> list[str]:
    table = app.query_one("#results", ResultsTable)
    return [table.get_row_at(i)[1].plain for i in range(table.row_count)]


def user_id(db, name=USER) -> int:
    return count(db, f"SELECT id FROM users WHERE name = '{name}'")


async def test_query_like_undo(ml100k_copy, scorer):
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "something like Alien but funnier")
        before = titles(app)
        assert len(before) == 10
        assert "Comedy" in app.query_one("#results", ResultsTable).get_row_at(0)[3].plain
        table = app.query_one("#results", ResultsTable)
        await pilot.press("escape")  # focus stays in the input until the user moves it
        assert app.focused is table
        # the cursor stays on the item it was on while the ranking refines, so "l" rates that row,
        # which need not be the final top row
        top_id = table.selected_item_id()
        liked = table.get_row_at(table.cursor_row)[1].plain
        uid = user_id(ml100k_copy)
        await pilot.press("l")
        await settle(app, pilot)
        assert count(ml100k_copy, f"SELECT COUNT(*) FROM feedback WHERE user_id={uid} AND item_id={top_id} "
                                  "AND liked=1 AND source='chat'") == 1
        after = titles(app)
        assert after != before and liked not in after  # rated items leave the list; the rest re-rank
        history = app.query_one("#history", HistoryList)
        assert history.item_ids[0] == top_id  # newest first
        await pilot.press("u")
        await settle(app, pilot)
        assert count(ml100k_copy, f"SELECT COUNT(*) FROM current_feedback WHERE user_id={uid} AND item_id={top_id}") == 0
        assert "Undone" in log_text(app)
        assert liked in titles(app)


async def test_why_answers_with_history_items(ml100k_copy, scorer):
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "why Fargo?")
        text = log_text(app)
        assert "Fargo (1996) (P(like)" in text and "ordered by" in text  # what ordered it, from the learned ranker
        assert "raises it" in text or "lowers it" in text
        assert "The LLM alone (P(Yes)" in text  # its own leave-one-out, as one line


async def test_eval_screen_lists_a_stored_run(ml100k_copy, scorer, movie_split_dir):
    samples, _ = read_samples(movie_split_dir / "test.json")
    train, _ = read_samples(movie_split_dir / "train.json")
    result = evaluate(scorer, samples[:16], train, str(movie_split_dir / "test.json"))
    db = open_db(ml100k_copy)
    run_id = store_eval_run(db, model=result.model, model_id=result.model_id, dataset=result.data, k=256,
                            metrics=result.to_json())
    db.conn.close()
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert f"run {run_id}" in str(app.query_one("#auc").render())
        await pilot.press("escape", "e")  # leave the input box, open the eval screen
        await pilot.pause()
        assert isinstance(app.screen, EvalScreen)
        runs = app.screen.query_one("#runs")
        assert runs.row_count == 1
        await pilot.pause()
        assert "•" in str(app.screen.query_one("#roc").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, EvalScreen)


async def test_bad_messages_do_not_crash_or_write(ml100k_copy):
    scorer = FakeScorer()  # the flow does not depend on the model's numbers
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)
    before = count(ml100k_copy, "SELECT COUNT(*) FROM feedback")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "")
        await ask(app, pilot, "   ")
        await ask(app, pilot, "x" * 10_000)
        assert "first 500 characters" in log_text(app)
        await ask(app, pilot, "\x1b[2J\x1b]0;pwned\x07[bold]I liked\x00 Qwertyuiopzz[/")
        await ask(app, pilot, "I liked Qwertyuiopzz")
        text = log_text(app)
        assert "\x1b" not in text and "\x00" not in text
        assert "Not in the catalog: Qwertyuiopzz" in text
        assert "[bold]" in text  # markup is shown as typed, never interpreted
        assert "Sorry, I didn't get that" in text
    assert count(ml100k_copy, "SELECT COUNT(*) FROM feedback") == before


async def test_locked_database_keeps_the_rating(ml100k_copy):
    scorer = FakeScorer()  # the flow does not depend on the model's numbers
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "80s comedies")
        table = app.query_one("#results", ResultsTable)
        table.focus()
        item_id = table.selected_item_id()
        other = sqlite3.connect(ml100k_copy, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        await pilot.press("d")
        await settle(app, pilot)
        assert "locked by another program" in log_text(app)
        assert len(app.session.journal.pending) == 1
        other.execute("ROLLBACK")
        other.close()
        app._flush_tick()  # the timer and an explicit flush racing: neither is cancelled, the change is written once
        app.flush_pending()
        await settle(app, pilot)
        assert log_text(app).count("saved 1 kept change") == 1
        assert not app.session.journal.pending
    uid = user_id(ml100k_copy)
    assert count(ml100k_copy, f"SELECT COUNT(*) FROM current_feedback WHERE user_id={uid} AND item_id={item_id} AND liked=0") == 1
    assert count(ml100k_copy, f"SELECT COUNT(*) FROM feedback WHERE user_id={uid} AND item_id={item_id} AND source='chat'") == 1


async def test_new_user_onboarding_rating_in_words_and_persistence(ml100k_copy):
    scorer = FakeScorer()  # the flow does not depend on the model's numbers
    app = make_app(ml100k_copy, "newbie", scorer=scorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "Welcome, newbie" in log_text(app)
        assert len(titles(app)) == 10  # popular picks to rate
        await ask(app, pilot, "I liked Heat")
        assert "Got it: you like Heat (1995). Saved 1 rating" in log_text(app)
        history = app.query_one("#history", HistoryList)
        assert history.option_count == 1
        history.focus()
        history.highlighted = 0
        await pilot.press("x")
        await settle(app, pilot)
        assert app.query_one("#history", HistoryList).option_count == 0
        await ask(app, pilot, "/user someone-else")
        assert app.sub_title == "someone-else"
    # The chat persists: the same user sees the earlier conversation next time.
    again = make_app(ml100k_copy, "newbie", scorer=scorer, autostart=False)
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        assert "I liked Heat" in log_text(again)


def test_main_screen_snapshot(ml100k_copy, scorer, snap_compare):
    app = make_app(ml100k_copy, scorer=scorer, autostart=False)

    async def run_before(pilot):
        # Nothing scored on screen: P(Yes) digits may differ in the last place across CPUs (SIMD
        # kernels), and the snapshot must not. The Pilot tests above check the ranked rows.
        await settle(app, pilot)
        await ask(app, pilot, "help")
        box = app.query_one("#ask", Input)
        box.cursor_blink = False  # a blinking cursor is caught on or off by chance: always drawn, it is stable
        box.focus()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
