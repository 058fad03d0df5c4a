"""Every write the chat makes, and who and where it writes for: the user, the chat, and the on-disk journal
(db/outbox.py) that keeps a write while another program holds the store.

A write is appended to the journal first, then the journal is replayed into the store (with retries); what
the store refuses stays on disk, so nothing said is lost to a quit or a crash. Opening needs no write lock
when the user and the chat exist: lookups are reads, and what is missing (a new user, a new chat) is itself a
journal line while the store is locked, its id learnt once the line is written.

The writer has a connection of its own: while a write waits on another program's lock, the chat's reads (its
own connection, `ChatStore`) go on. Lock order: the writer's `lock`, then the store's.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from typing import Callable

from db import open_db
from db.chats import chat_by_key, chat_state, check_chat, find_latest_chat
from db.errors import RecchatError
from db.outbox import Entry, Outbox, Replayed, journal_path
from db.store import store_file
from db.users import clean_name, find_user

from .store import ChatStore

RETRY_AFTER = 2.0  # seconds after a write found the store locked during which later writes only go to the journal


class DatabaseBusy(RecchatError):
    """Another program holds the write lock longer than we retry."""


class ChatWriter:
    def __init__(self, store: ChatStore, tries: int = 3, on_written: Callable[[], None] = lambda: None,
                 lock_wait: float = 1.0):
        self.store = store
        self.tries = tries
        self.on_written = on_written  # after a replay wrote ratings, under the store's lock (the collaborative counts)
        with store.lock:
            path = store_file(store.db)
        self.db = open_db(path, timeout=lock_wait, shared=True)  # writes and the lookups around them
        self.lock = threading.RLock()  # one statement at a time on it (workers write from several threads)
        self.outbox = Outbox(journal_path(path))
        self.user_name = ""
        self.user_id: int | None = None  # None: the user's creation still waits in the journal
        self.chat_id: int | None = None  # None: the chat's creation still waits in the journal, under chat_key
        self.chat_key: str | None = None
        self._busy_at: float | None = None  # when a write last found the store locked

    def with_retry(self, fn, tries: int | None = None):
        """Run a store write; on "database is locked" wait and retry, then raise DatabaseBusy (one line)."""
        tries = tries or self.tries
        for attempt in range(tries):
            try:
                with self.lock:
                    return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                if attempt + 1 < tries:
                    time.sleep(0.1 * (attempt + 1))
        raise DatabaseBusy("the database is locked by another program")

    # ------------------------------------------------------------ identity
    def open(self, name: str, chat: int | None, new_chat: bool) -> dict | None:
        """Be `name` in `chat` (None: the latest, or a new one); returns the chat's newest conversation state.

        Reads first; a user or chat that must be created is a journal line, written now if the store is free."""
        self.user_name, self.chat_id, self.chat_key = clean_name(name), None, None
        if self.waiting():  # what an earlier chat left while the store was locked, oldest first
            try:
                self.flush(1)
            except DatabaseBusy:
                pass
        with self.lock:
            self.user_id = find_user(self.db, self.user_name)
        if self.user_id is None:
            self.commit(self.entry("user"))
        with self.lock:
            if chat is not None:
                self.chat_id = check_chat(self.db, chat, self.user_id)
            elif not new_chat and self.user_id is not None:
                self.chat_id = find_latest_chat(self.db, self.user_id)
        if self.chat_id is None:
            self.chat_key = uuid.uuid4().hex
            self.commit(self.entry("chat"))
            return None
        with self.lock:
            return self.outbox.latest_state(self.chat_id) or chat_state(self.db, self.chat_id)

    def user_id_of(self, name: str) -> int | None:
        """Another person's id (one present, --with); created when new, None while that waits for the store."""
        with self.lock:
            found = find_user(self.db, name)
        if found is None and self.commit(Entry("user", clean_name(name), time.time())):
            with self.lock:
                found = find_user(self.db, name)
        return found

    def entry(self, kind, **fields) -> Entry:
        """A journal line for this user and chat (the chat by its key while it waits to be created)."""
        chat = {"chat": self.chat_id} if self.chat_id is not None else {"chat_key": self.chat_key}
        return Entry(kind, self.user_name, time.time(), **{**chat, **fields})

    # --------------------------------------------------------------- writes
    def commit(self, entry: Entry, tries: int | None = None) -> bool:
        """On disk in the journal, then in the store if it is free: True when it is in the store."""
        self.outbox.append(entry)
        if self._busy_at is not None and time.monotonic() - self._busy_at < RETRY_AFTER:
            return False  # the store was locked a moment ago: a message waits on it once, not at every write
        try:
            done = self.flush(tries)
        except DatabaseBusy:
            return False
        if entry.kind == "rating" and not done.ratings:  # another writer replayed it a moment ago: count it here
            with self.lock, self.store.lock:
                self.on_written()
        return True

    def flush(self, tries: int | None = None) -> Replayed:
        """Replay the journal into the store (every line waiting, this process's or another's)."""
        try:
            done = self.with_retry(lambda: self.outbox.replay(self.db), tries)
        except DatabaseBusy:
            self._busy_at = time.monotonic()
            raise
        self._busy_at = None
        with self.lock:
            if self.user_id is None:
                self.user_id = find_user(self.db, self.user_name)
            if self.chat_id is None and self.chat_key is not None:
                self.chat_id = chat_by_key(self.db, self.chat_key)
            if done.ratings:
                with self.store.lock:
                    self.on_written()
        return done

    def waiting(self) -> bool:
        return self.outbox.waiting()

    def close(self) -> str:
        """A last try to write what waits on disk, then the connection closed; one line if some still waits."""
        try:
            self.flush(1)
        except DatabaseBusy:
            pass
        with self.lock:
            self.db.conn.close()
        return self.close_note()

    def kept_note(self, n: int = 1) -> str:
        """Why `n` changes are not in the store yet, and where they are meanwhile."""
        they = "they are" if n > 1 else "it is"
        return (f"The database is locked by another program: {they} kept on disk in {self.outbox.path.name} and "
                "will be written when the store frees.")

    def close_note(self) -> str:
        """After a last flush at exit: one line when changes still wait on disk, else ''."""
        if not self.waiting():
            return ""
        n = len(self.outbox.entries())
        return (f"The store is still locked by another program: {n} change(s) are kept on disk in {self.outbox.path} "
                "and will be written at the next chat or `engine ask` on this store.")
