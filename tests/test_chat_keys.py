"""Keys in the chat: typed text is never a rating, whatever has focus; a deliberate key on a selected row rates.

A fake scorer (P(Yes) from a hash of the prompt) keeps these Pilot tests free of the model.
"""

from __future__ import annotations

import unicodedata

import pytest
from textual import events
from textual.widgets import Input

from tui.widgets import EvalScreen, HistoryList, ResultsTable

from tests.conftest import count
from tests.fakes import SIZE, log_text, make_app, settle

SENTENCE = "recommend sci-fi movies from the 80s"  # its "d" once disliked the selected row
CHAT_RATINGS = "SELECT COUNT(*) FROM feedback WHERE source = 'chat'"


def key_name(ch: str) -> str:
    """The key a terminal reports for a typed character ("-" is "hyphen_minus", " " is "space")."""
    return ch if ch.isalnum() else unicodedata.name(ch).lower().replace("-", "_").replace(" ", "_")


@pytest.mark.parametrize("focus, user", [("input", "newbie"), ("results", "newbie"), ("history", "ml100k-196")])
async def test_typing_a_sentence_never_rates(ml100k_copy, focus, user):
    app = make_app(ml100k_copy, user)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        box = app.query_one("#ask", Input)
        table = app.query_one("#results", ResultsTable)
        history = app.query_one("#history", HistoryList)
        assert table.row_count == 10 and app.focused is box  # the picks are shown; focus stays in the input
        if focus == "results":
            await pilot.press("escape")
            assert app.focused is table and table.selected_item_id() is not None
        elif focus == "history":
            await pilot.press("escape", "h")
            assert app.focused is history and history.option_count > 0
        await pilot.press(*SENTENCE)
        await settle(app, pilot)
        assert count(ml100k_copy, CHAT_RATINGS) == 0
        assert not isinstance(app.screen, EvalScreen)  # the "e"s typed text, not opened the eval runs
        assert app.focused is box and box.value == SENTENCE
        await pilot.press("enter")
        await settle(app, pilot)
        assert f"you {SENTENCE}" in log_text(app)
    assert count(ml100k_copy, CHAT_RATINGS) == 0


async def test_a_burst_of_keys_on_the_results_is_typing(ml100k_copy):
    """Keys that come in together all reach the table before focus moves; none of them may rate."""
    app = make_app(ml100k_copy, "newbie")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("escape")
        assert app.focused is app.query_one("#results", ResultsTable)
        for ch in SENTENCE:
            app.post_message(events.Key(key_name(ch), ch))
        await settle(app, pilot)
        box = app.query_one("#ask", Input)
        assert app.focused is box and box.value == SENTENCE
    assert count(ml100k_copy, CHAT_RATINGS) == 0


async def test_l_on_the_selected_row_likes_it_once(ml100k_copy):
    app = make_app(ml100k_copy, "newbie")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.query_one("#results", ResultsTable)
        table.move_cursor(row=0)  # the cursor follows its item while the picks refine; start it at the top
        await pilot.press("escape", "down")
        assert app.focused is table and table.cursor_row == 1
        item_id = table.selected_item_id()
        await pilot.press("l")
        await settle(app, pilot)
        assert count(ml100k_copy, CHAT_RATINGS) == 1
        assert count(ml100k_copy, f"SELECT COUNT(*) FROM feedback WHERE item_id = {item_id} AND liked = 1 "
                                  "AND source = 'chat'") == 1
        await pilot.press("slash", "u")  # in the input "u" is a letter, not undo
        await settle(app, pilot)
        assert app.query_one("#ask", Input).value == "u"
    assert count(ml100k_copy, CHAT_RATINGS) == 1
