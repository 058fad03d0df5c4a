"""The chat's reads of the store, under the one lock that guards its SQLite connection.

The app calls the session from worker threads, so the UI never waits on SQLite; this lock keeps those
workers (and the collaborative refresh after a rating) to one statement at a time on the connection.
The catalog's words (title index, vocabulary) are read once per chat: the chat's catalog is pinned. Writes
go through engine.chat.writer, on a connection of its own.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from db.catalog import catalog_items, catalog_year_span, close_matches, has_items, imdb_ids_of, items_by_id
from db.chats import recent_messages
from db.errors import RecchatError
from db.eval_runs import EvalRun, eval_runs
from db.feedback import current_rating, user_history, watchlist_ids
from db.knowledge import Knowledge, knowledge, people_films, runtimes, tag_relevance
from db.types import Interaction, Item
from db.users import find_user, user_names
from engine.collab.model import CollabModel
from engine.rank.served import Order, serving_order
from engine.vocab.describe import Vocabulary
from engine.vocab.mentions import TitleIndex


class ChatStore:
    def __init__(self, db, domain: str):
        self.db = db
        self.domain = domain
        self.lock = threading.RLock()
        self._index: TitleIndex | None = None  # the catalog's words, read once per chat (the catalog is pinned)
        self._vocab: Vocabulary | None = None
        self._order: Order | None = None

    def items(self, ids: list[int]) -> dict[int, Item]:
        with self.lock:
            return items_by_id(self.db, ids)

    def imdb_ids(self, item_ids: list[int]) -> dict[int, int]:
        with self.lock:
            return imdb_ids_of(self.db, item_ids)

    def item(self, item_id: int) -> Item:
        found = self.items([item_id])
        if item_id not in found:
            raise RecchatError(f"no item {item_id}")
        return found[item_id]

    def names(self, ids: list[int]) -> dict[int, str]:
        found = self.items(ids)
        return {i: found[i].name if i in found else f"item {i}" for i in ids}

    def catalog(self) -> list[Item]:
        with self.lock:
            return list(catalog_items(self.db, self.domain).values())

    def has_catalog(self) -> bool:
        with self.lock:
            return has_items(self.db, self.domain)

    def vocabulary(self) -> Vocabulary:
        """The catalog's describing words: its tags, the people and runtimes the store knows (read once)."""
        with self.lock:
            if self._vocab is None:
                self._vocab = Vocabulary(tag_relevance(self.db, self.domain), people_films(self.db, self.domain),
                                         runtimes(self.db, self.domain))
            return self._vocab

    def order(self, collab: CollabModel, dataset: str | None) -> Order:
        """The learned order over the catalog's signals (its content and rating times, read once per chat), on
        the current collaborative model."""
        with self.lock:
            if self._order is None:
                self._order = serving_order(self.db, self.domain, collab, dataset)
            self._order = self._order.with_collab(collab)
            return self._order

    def title_index(self, popularity: Callable[[list[int]], Sequence[float]]) -> TitleIndex:
        """The catalog's title index, built on first use; ties go to the item the collaborative model has seen
        rated most (`popularity`), the order retrieval's popularity fallback uses."""
        if self._index is None:  # built outside the lock (seconds on a large catalog); two builds agree
            items = self.catalog()
            ranks = popularity([i.id for i in items])
            self._index = TitleIndex.build(items, {i.id: float(p) for i, p in zip(items, ranks)})
        return self._index

    def knowledge(self) -> Knowledge:
        with self.lock:
            return knowledge(self.db, self.domain)

    def year_span(self) -> tuple[int, int] | None:
        with self.lock:
            return catalog_year_span(self.db, self.domain)

    def close_matches(self, title: str, n: int | None = None) -> list[Item]:
        with self.lock:
            return close_matches(self.db, title, self.domain) if n is None else close_matches(self.db, title, self.domain, n=n)

    def history(self, user_id: int) -> list[Interaction]:
        with self.lock:
            return user_history(self.db, user_id, self.domain)

    def watchlist(self, user_id: int) -> list[int]:
        with self.lock:
            return watchlist_ids(self.db, user_id, self.domain)

    def current_rating(self, user_id: int, item_id: int) -> bool | None:
        with self.lock:
            return current_rating(self.db, user_id, item_id)

    def user_exists(self, name: str) -> bool:
        with self.lock:
            return find_user(self.db, name) is not None

    def users(self, limit: int = 2000) -> list[str]:
        with self.lock:
            return user_names(self.db, limit)

    def recent_messages(self, chat_id: int, n: int = 20) -> list[tuple[str, str]]:
        with self.lock:
            return recent_messages(self.db, chat_id, n)

    def eval_runs(self, limit: int = 50) -> list[EvalRun]:
        with self.lock:
            return eval_runs(self.db, limit)
