"""The chat's rating journal: every rating the chat writes, retried while another program holds the
database, kept in memory while it still does (written by `flush_pending` as soon as the database is free:
nothing typed is lost), and undone one step at a time (a key, or everything one message rated).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable

from db.errors import RecchatError
from db.feedback import record_feedback
from db.types import Item

from .reading import Reading
from .store import ChatStore


class DatabaseBusy(RecchatError):
    """Another program holds the write lock longer than we retry."""


@dataclass(frozen=True)
class Pending:
    item: Item
    liked: bool | None
    ts: float


@dataclass(frozen=True)
class Undo:
    item: Item
    previous: bool | None  # the rating before the change; None = unrated


@dataclass(frozen=True)
class UndoStep:
    """What one message or key changed: its ratings, and the conversation state before it (if it moved)."""

    changes: tuple[Undo, ...]
    state: dict | None = None


class RatingJournal:
    """One person's chat ratings: written (with retries), kept while the database is locked, undone."""

    def __init__(self, store: ChatStore, on_written: Callable[[], None], tries: int = 3):
        self.store = store
        self.on_written = on_written  # after every write, under the store's lock (the collaborative counts)
        self.tries = tries
        self.user_id: int | None = None
        self.pending: list[Pending] = []
        self.undo_stack: list[UndoStep] = []
        self.flush_lock = threading.Lock()  # one flush at a time: the timer's and a rating's never write a change twice

    def start(self, user_id: int) -> None:
        """Journal for this user from now on; the previous user's undo steps do not apply to them."""
        self.user_id = user_id
        self.undo_stack.clear()

    def with_retry(self, fn, tries: int | None = None):
        """Run a write; on "database is locked" wait and retry, then raise DatabaseBusy (one line)."""
        tries = tries or self.tries
        for attempt in range(tries):
            try:
                with self.store.lock:
                    return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                if attempt + 1 < tries:
                    time.sleep(0.1 * (attempt + 1))
        raise DatabaseBusy("the database is locked by another program")

    def current(self, item: Item) -> bool | None:
        return self.store.current_rating(self.user_id, item.id)

    def write(self, item: Item, liked: bool | None, ts: float | None = None) -> None:
        self.with_retry(lambda: record_feedback(self.store.db, self.user_id, item.id, liked, source="chat", ts=ts))
        with self.store.lock:  # two range counts; a refit, when due, runs in a process of its own
            self.on_written()  # this user's own rating counts at once anyway (fold-in)

    def write_or_keep(self, item: Item, liked: bool | None) -> bool:
        """Write now, or keep it for `flush_pending` while another program holds the database. True: written."""
        try:
            self.write(item, liked)
            return True
        except DatabaseBusy:
            self.pending.append(Pending(item, liked, time.time()))
            return False

    def rate_statements(self, reading: Reading) -> list[Undo]:
        """"I loved X", "hated Y": written as ratings, as the l/d keys would (bare titles and seeds are not)."""
        changes = []
        for m in reading.mentions:
            if m.item is None or m.polarity not in ("liked", "disliked") or m.mention.related:
                continue
            liked = m.polarity == "liked"
            previous = self.current(m.item)
            if previous == liked:
                continue
            changes.append(Undo(m.item, previous))
            self.write_or_keep(m.item, liked)
        return changes

    def step(self, changes: list[Undo], state_before: dict | None) -> None:
        """Remember what one message changed, so one 'undo' takes all of it back."""
        self.undo_stack.append(UndoStep(tuple(changes), state_before))

    def change(self, item: Item, liked: bool | None, done: str) -> str:
        """A key's rating (or its removal), one undo step of its own; `done` is the reply when it is written."""
        previous = self.current(item)
        self.undo_stack.append(UndoStep((Undo(item, previous),)))
        try:
            self.flush_pending()
            self.write(item, liked)
        except DatabaseBusy:
            self.pending.append(Pending(item, liked, time.time()))
            return f"Kept, not yet written: {done.removeprefix('Saved: ')} Because {self.busy_note()}"
        return done

    def undo(self, restore_state: Callable[[dict], None]) -> str:
        """Take back the last step: a key's rating, or everything one message rated and understood."""
        if not self.undo_stack:
            return "Nothing to undo."
        step = self.undo_stack.pop()
        if step.state is not None:
            restore_state(step.state)
        busy = False
        for change in reversed(step.changes):
            busy |= not self.write_or_keep(change.item, change.previous)
        if busy:
            return f"Undone in memory; {self.busy_note()}"
        was = {True: "liked", False: "disliked", None: "unrated"}
        said = "; ".join(f"{c.item.name} is {was[c.previous]} again" for c in step.changes)
        if step.state is not None:
            said = (said + ". " if said else "") + "I forgot what that message said"
        return f"Undone: {said}."

    def busy_note(self) -> str:
        return (f"the database is locked by another program. {len(self.pending)} change(s) are kept and "
                "will be written as soon as it is free.")

    def flush_pending(self) -> int:
        """Write ratings kept while the database was locked, oldest first. Returns how many were written."""
        written = 0
        with self.flush_lock:
            while self.pending:
                p = self.pending[0]
                self.write(p.item, p.liked, p.ts)
                self.pending.pop(0)
                written += 1
        return written
