"""Issue 51, "one owner for the session's state": the app's workers (a message, a ranking, a rating, a user
switch) never interleave on ChatSession's fields, and a like lands on the user on screen when it was pressed.
"""

from __future__ import annotations

import sqlite3
import threading

from textual.widgets import Input

from engine.chat.session import ChatSession
from tests.fakes import SIZE, FakeScorer, settle
from tui.app import ChatApp
from tui.widgets import ResultsTable


def ratings_of(store, user: str) -> dict[int, int]:
    conn = sqlite3.connect(store)
    try:
        return dict(conn.execute("SELECT c.item_id, c.liked FROM current_feedback c JOIN users u ON u.id = c.user_id "
                                 "WHERE u.name = ?", [user]).fetchall())
    finally:
        conn.close()


async def test_a_like_pressed_during_a_user_switch_lands_on_the_user_on_screen(grouplens_store):
    ChatSession(grouplens_store, "bob", scorer_factory=FakeScorer).close()
    session = ChatSession(grouplens_store, "alice", scorer_factory=FakeScorer, n_candidates=8)
    entered, release = threading.Event(), threading.Event()
    real_open = session.writer.open

    def slow_open(*args):  # the switch, held halfway: the writer is bob's, the screen still alice's
        state = real_open(*args)
        entered.set()
        assert release.wait(30)
        return state

    session.writer.open = slow_open
    app = ChatApp(session, autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.query_one("#results", ResultsTable)
        box = app.query_one("#ask", Input)
        box.focus()
        box.value = "/user bob"
        await pilot.press("enter")
        while not entered.is_set():
            await pilot.pause(0.02)
        table.focus()
        pressed = table.selected_item_id()
        await pilot.press("l")  # mid-switch: alice is on screen
        await pilot.pause(0.2)
        assert app.sub_title == "alice" and ratings_of(grouplens_store, "alice") == {}
        release.set()
        await settle(app, pilot)
        assert app.sub_title == "bob" and session.user_name == "bob"
        assert ratings_of(grouplens_store, "alice") == {pressed: 1}
        assert pressed not in ratings_of(grouplens_store, "bob")
        table.focus()
        after = table.selected_item_id()
        await pilot.press("d")  # bob is on screen now
        await settle(app, pilot)
        assert ratings_of(grouplens_store, "bob").get(after) == 0
        assert ratings_of(grouplens_store, "alice") == {pressed: 1}
