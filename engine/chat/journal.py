"""The chat's ratings: each one written through the on-disk journal (`writer`), so one the store cannot take
now (another program holds its lock) is kept on disk and written when it frees; and undone one step at a
time (a key, or everything one message rated). A rating is reported "Saved" only once it is in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from db.outbox import Entry
from db.types import Item

from .reading import Reading
from .store import ChatStore
from .writer import DatabaseBusy, ChatWriter

__all__ = ["DatabaseBusy", "RatingJournal", "Rated", "Undo", "UndoStep"]


@dataclass(frozen=True)
class Undo:
    item: Item
    previous: bool | None  # the rating before the change; None = unrated


@dataclass(frozen=True)
class UndoStep:
    """What one message or key changed: its ratings, and the conversation state before it (if it moved)."""

    changes: tuple[Undo, ...]
    state: dict | None = None


@dataclass
class Rated:
    """What one message's statements rated: the changes (one undo step), and how many wait on disk."""

    changes: list[Undo] = field(default_factory=list)
    kept: int = 0


class RatingJournal:
    """One person's chat ratings: written through the journal, kept on disk while the store is locked, undone."""

    def __init__(self, store: ChatStore, writer: ChatWriter):
        self.store = store
        self.writer = writer
        self.undo_stack: list[UndoStep] = []

    @property
    def user_id(self) -> int | None:
        return self.writer.user_id

    @property
    def pending(self) -> list[Entry]:
        """This user's ratings kept on disk, not yet in the store."""
        return [e for e in self.writer.outbox.entries() if e.kind == "rating" and e.user == self.writer.user_name]

    def start(self) -> None:
        """A new user from now on: the previous user's undo steps do not apply to them."""
        self.undo_stack.clear()

    def current(self, item: Item) -> bool | None:
        return None if self.user_id is None else self.store.current_rating(self.user_id, item.id)

    def write(self, item: Item, liked: bool | None, user: str | None = None) -> bool:
        """Into the store, or kept on disk while another program holds it. True: in the store."""
        entry = self.writer.entry("rating", item=item.id, liked=liked)
        if user is not None and user != entry.user:  # the user on screen when a key was pressed (tui/app.py)
            entry = Entry("rating", user, entry.ts, item=item.id, liked=liked)
        return self.writer.commit(entry)

    def rate_statements(self, reading: Reading) -> Rated:
        """"I loved X", "hated Y": written as ratings, as the l/d keys would (bare titles and seeds are not)."""
        rated = Rated()
        for m in reading.mentions:
            if m.item is None or m.polarity not in ("liked", "disliked") or m.mention.related:
                continue
            liked = m.polarity == "liked"
            previous = self.current(m.item)
            if previous == liked:
                continue
            rated.changes.append(Undo(m.item, previous))
            rated.kept += not self.write(m.item, liked)
        return rated

    def kept_note(self, n: int) -> str:
        return f"{n} rating{'s' * (n > 1)} not saved yet. {self.writer.kept_note(n)}" if n else ""

    def step(self, changes: list[Undo], state_before: dict | None) -> None:
        """Remember what one message changed, so one 'undo' takes all of it back."""
        self.undo_stack.append(UndoStep(tuple(changes), state_before))

    def change(self, item: Item, liked: bool | None, done: str, user: str | None = None) -> str:
        """A key's rating (or its removal), one undo step of its own; `done` is the reply once it is in the store.

        `user`: whom the key rated for (the user on screen); another than the chat's now has no undo step here."""
        mine = user is None or user == self.writer.user_name
        if mine:
            self.undo_stack.append(UndoStep((Undo(item, self.current(item)),)))
        if self.write(item, liked, user):
            return done
        said = done.removeprefix("Saved: ")
        return f"Not saved yet: {said[:1].lower() + said[1:]} {self.writer.kept_note()}"

    def undo(self, restore_state: Callable[[dict], None]) -> str:
        """Take back the last step: a key's rating, or everything one message rated and understood."""
        if not self.undo_stack:
            return "Nothing to undo."
        step = self.undo_stack.pop()
        if step.state is not None:
            restore_state(step.state)
        kept = 0
        for change in reversed(step.changes):
            kept += not self.write(change.item, change.previous)
        if kept:
            return f"Undone, not saved yet. {self.writer.kept_note(kept)}"
        was = {True: "liked", False: "disliked", None: "unrated"}
        said = "; ".join(f"{c.item.name} is {was[c.previous]} again" for c in step.changes)
        if step.state is not None:
            said = (said + ". " if said else "") + "I forgot what that message said"
        return f"Undone: {said}."

    def flush_pending(self) -> int:
        """Write what waits on disk (every line, oldest first). Returns how many lines were written."""
        return self.writer.flush().written
