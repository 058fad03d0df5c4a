"""Writes that wait for the store: an append-only JSON-lines journal on disk beside it, `<store>.pending.jsonl`.

Another program may hold the store's write lock for minutes (an ML-32M import), so what the chat must keep
never lives only in memory: each write is appended here first (one line, fsynced), then the journal is
replayed into the store, oldest line first, in one transaction, and emptied under its file lock. A write the
store refuses stays in the file; whoever next replays it (the chat's flush timer, its exit, the end of
`engine ask`, the next open of a chat on the store) writes it.

A line names its user by name and its chat by id or, for a chat still to be created, by the key its session
gave it (`chats.journal_key`): it replays the same in any process. Replaying a line twice (a crash between
COMMIT and emptying the file) adds nothing twice, messages aside. A line the store refuses for good (an item
since removed, a torn last line) is dropped and counted, never left to block every later one.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterator, Literal

import sqlite_utils

from .chats import add_message, ensure_chat, put_chat_state
from .errors import RecchatError
from .feedback import add_feedback_once
from .store import store_file, transaction
from .users import ensure_user

SUFFIX = ".pending.jsonl"
Kind = Literal["user", "chat", "rating", "state", "message"]


@dataclass(frozen=True)
class Entry:
    """One write: a user or chat to create, a rating (liked None retracts), a chat's state, a message."""

    kind: Kind
    user: str
    ts: float
    chat: int | None = None  # an existing chat
    chat_key: str | None = None  # a chat created from the journal (chats.journal_key)
    item: int | None = None
    liked: bool | None = None
    state: dict | None = None
    role: str | None = None
    content: str | None = None

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def parse(cls, line: str) -> "Entry | None":
        """The entry a line holds; None for a line that is not one (a torn last line)."""
        try:
            data = json.loads(line)
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Replayed:
    written: int  # lines now in the store
    dropped: int = 0  # lines the store refused for good
    ratings: int = 0  # of the written, ratings (the collaborative model counts them)


def journal_path(store: Path) -> Path:
    return store.with_name(store.name + SUFFIX)


class Outbox:
    """The journal of one store file. Appends take only its file lock, never the store's: a replay takes the
    store's write lock first, then the file's, so neither waits on the other in a circle."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def of(cls, db: sqlite_utils.Database) -> "Outbox":
        return cls(journal_path(store_file(db)))

    def waiting(self) -> bool:
        """Lines wait (a stat, no lock: cheap enough for a UI timer)."""
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def append(self, entry: Entry) -> None:
        """One line, on disk before this returns (a crash or a quit after it loses nothing)."""
        try:
            with self._open(fcntl.LOCK_EX) as fd:
                end = os.lseek(fd, 0, os.SEEK_END)
                torn = end > 0 and os.pread(fd, 1, end - 1) != b"\n"  # a crash mid-line: start a fresh line
                os.write(fd, (("\n" if torn else "") + entry.line()).encode("utf-8"))
                os.fsync(fd)
        except OSError as e:
            raise RecchatError(f"cannot write {self.path}: {e.strerror or e}") from None

    def entries(self) -> list[Entry]:
        if not self.waiting():
            return []
        with self._open(fcntl.LOCK_SH) as fd:
            return [e for e in map(Entry.parse, _read(fd).splitlines()) if e is not None]

    def latest_state(self, chat: int) -> dict | None:
        """A chat's newest state still waiting here: newer than its stored one (every write replays first)."""
        states = [e.state for e in self.entries() if e.kind == "state" and e.chat == chat]
        return states[-1] if states else None

    def replay(self, db: sqlite_utils.Database) -> Replayed:
        """Write every waiting line, oldest first, in one transaction, then empty the file.

        Raises sqlite3.OperationalError ("database is locked") while another program holds the store."""
        if not self.waiting():
            return Replayed(0)
        with self._open(None) as fd:
            with transaction(db):
                fcntl.flock(fd, fcntl.LOCK_EX)
                lines = _read(fd).splitlines()
                written = [e for e in map(Entry.parse, lines) if e is not None and _apply(db, e)]
            os.ftruncate(fd, 0)  # after COMMIT, under the file lock: no line is appended in between
            os.fsync(fd)
        return Replayed(len(written), len(lines) - len(written), sum(e.kind == "rating" for e in written))

    @contextmanager
    def _open(self, lock: int | None) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            if lock is not None:
                fcntl.flock(fd, lock)
            yield fd
        finally:
            os.close(fd)  # releases the lock


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _apply(db: sqlite_utils.Database, e: Entry) -> bool:
    """One line inside the replay's transaction; False (rolled back, dropped) when the store refuses it."""
    db.execute("SAVEPOINT journal_line")
    try:
        user = ensure_user(db, e.user)
        chat = e.chat if e.chat is not None else ensure_chat(db, user, e.chat_key) if e.chat_key else None
        if e.kind == "rating":
            add_feedback_once(db, user, e.item, e.liked, "chat", e.ts)
        elif e.kind == "state" and chat is not None:
            put_chat_state(db, chat, e.state or {}, e.ts)
        elif e.kind == "message" and chat is not None:
            add_message(db, chat, e.role, e.content or "")
    except (sqlite3.IntegrityError, RecchatError):
        db.execute("ROLLBACK TO journal_line")
        db.execute("RELEASE journal_line")
        return False
    db.execute("RELEASE journal_line")
    return True
