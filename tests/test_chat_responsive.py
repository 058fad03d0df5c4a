"""The chat's UI thread never waits on SQLite: every store read and write runs in a worker.

Another program holds the store's write lock for about 3 s (the session's whole retry budget);
meanwhile a person keeps typing and moving around. Every statement the session's connection runs
is traced with the thread that ran it: none may be the UI (main) thread. Worker failures reach one
handler: a one-line notice, the app keeps running.
"""

from __future__ import annotations

import sqlite3
import threading
import time

from textual.widgets import Input

from db.errors import RecchatError
from engine.chat.session import ChatSession
from tests.conftest import count
from tests.fakes import USER, FakeScorer, log_text, settle, SIZE
from tui.app import ChatApp
from tui.widgets import ResultsTable

HOLD = 3.0  # seconds the other program keeps the write lock


def chat(db) -> ChatApp:
    """The chat with the session's default lock patience (1 s per try, 3 tries): a rating waits ~3 s."""
    return ChatApp(ChatSession(db, USER, scorer_factory=FakeScorer, n_candidates=12), autostart=False)


def trace_threads(app: ChatApp) -> list[str]:
    """Statements run by the session's connection on the UI thread (the list fills as they run)."""
    on_ui: list[str] = []
    main = threading.main_thread()
    app.session.db.conn.set_trace_callback(lambda sql: on_ui.append(sql) if threading.current_thread() is main else None)
    return on_ui


async def results_shown(app: ChatApp, pilot) -> tuple[Input, ResultsTable]:
    """Ask for 80s comedies and put the focus on the ranked rows."""
    await settle(app, pilot)
    box = app.query_one("#ask", Input)
    box.value = "80s comedies"
    await pilot.press("enter")
    await settle(app, pilot)
    table = app.query_one("#results", ResultsTable)
    table.focus()
    return box, table


def chat_busy(app: ChatApp) -> bool:
    return any(w.group == "chat" and not w.is_finished for w in app.workers)


async def test_typing_and_scrolling_stay_live_while_another_program_holds_the_lock(ml100k_copy):
    app = chat(ml100k_copy)
    async with app.run_test(size=SIZE) as pilot:
        on_ui = trace_threads(app)
        box, table = await results_shown(app, pilot)
        item_id = table.selected_item_id()
        other = sqlite3.connect(ml100k_copy, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held_since = time.monotonic()
        await pilot.press("d")  # the rating's worker now waits on the lock
        row = table.cursor_row
        await pilot.press("down", "down", "up")  # move in the results
        await pilot.press("slash", *"abc")  # and type
        assert box.value == "abc"
        assert table.cursor_row == row + 1
        app.action_eval()  # the eval screen's runs are read by a worker too
        await pilot.pause()
        assert chat_busy(app), "the keys were handled while the rating still waited on the lock"
        while time.monotonic() - held_since < HOLD:
            await pilot.pause(0.1)
        other.execute("ROLLBACK")
        other.close()
        await settle(app, pilot)
        app.flush_pending()
        await settle(app, pilot)
        assert on_ui == [], f"SQL on the UI thread: {on_ui[:3]}"
    uid = count(ml100k_copy, f"SELECT id FROM users WHERE name = '{USER}'")
    assert count(ml100k_copy, f"SELECT COUNT(*) FROM current_feedback WHERE user_id={uid} AND item_id={item_id} "
                              "AND liked=0") == 1, "the rating is never lost"


async def test_a_failing_worker_is_a_one_line_notice(ml100k_copy, monkeypatch):
    app = chat(ml100k_copy)
    async with app.run_test(size=SIZE) as pilot:
        on_ui = trace_threads(app)
        await results_shown(app, pilot)

        def broken(item_id):
            raise RuntimeError("disk on fire\nsecond line")

        monkeypatch.setattr(app.session.store, "item", broken)
        await pilot.press("l")
        await settle(app, pilot)
        assert "Error: RuntimeError: disk on fire" in log_text(app)
        assert "second line" not in log_text(app) and "Traceback" not in log_text(app)

        def gone(item_id):
            raise RecchatError(f"no item {item_id}")

        monkeypatch.setattr(app.session.store, "item", gone)
        await pilot.press("w")
        await settle(app, pilot)
        assert "Error: no item" in log_text(app)
        assert app.is_running
        assert on_ui == []
