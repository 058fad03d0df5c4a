"""Test doubles and Textual Pilot helpers shared by the chat tests.

Plain helpers that are not about the chat (engine, dump, count, p_yes, SHARED, needs_shared...) live
next to the fixtures in tests/conftest.py. Import both the same way: `from tests.fakes import ...`,
`from tests.conftest import ...`.
"""

from __future__ import annotations

import hashlib

from textual.widgets import RichLog

from db.scoring import PromptSettings, Score
from engine.chat.session import ChatSession
from tui.app import ChatApp

USER = "ml100k-196"  # a real ML-100K user with a history
SIZE = (140, 45)  # the terminal size of every Pilot test (and of the snapshot)


class FakeScorer:
    """Only what the chat asks of a scorer; P(Yes) comes from a hash of the prompt, so runs repeat."""

    name = "fake.gguf"
    identity = "0" * 64
    prompts = PromptSettings()

    def score(self, prompts, progress=None) -> list[Score]:
        out = []
        for prompt in prompts:
            h = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") / 2**32
            logit_yes, logit_no = 4 * h - 2, 0.0
            out.append(Score(logit_yes, logit_no))
            if progress:
                progress(1)
        return out


def make_app(db, user: str = USER, *, scorer=None, autostart: bool = True, n: int = 12) -> ChatApp:
    """The chat on store `db` for `user`, scoring `n` candidates.

    scorer: the scorer every request uses (e.g. the real model); None gives a fresh FakeScorer.
    autostart: True starts as a person would (the first picks are scored and shown at once);
    False waits for the first question.
    """
    factory = (lambda: FakeScorer()) if scorer is None else (lambda: scorer)
    session = ChatSession(db, user, scorer_factory=factory, n_candidates=n, lock_wait=0.2, lock_tries=2)
    return ChatApp(session, autostart=autostart)


async def settle(app, pilot) -> None:
    """Let the app's workers finish and the screen catch up (twice: a worker may start another)."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def log_text(app) -> str:
    """The chat log as one line of text, whitespace collapsed."""
    return " ".join(" ".join(line.text for line in app.query_one("#log", RichLog).lines).split())
