"""Everything the chat does, without the UI: read a message, retrieve and score, rate, undo, explain.

The app calls these from worker threads, so the UI never waits on SQLite or the model. One lock
guards the SQLite connection (short operations), another the model (one scorer, one KV cache).
A rating that cannot be written because another program holds the database is kept in memory
and written by `flush_pending` as soon as the database is free: nothing typed is lost.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from db import open_db
from db.catalog import catalog_items, catalog_year_span, close_matches, has_items, items_by_id
from db.catalogs import pin_catalog, use_catalog
from db.chats import chat_state, check_chat, latest_chat, log_message, new_chat, recent_messages
from db.errors import RecchatError
from db.eval_runs import EvalRun, eval_runs
from db.feedback import current_rating, record_feedback, user_history
from db.scoring import Scorer
from db.types import Interaction, Item
from db.users import find_user, get_or_create_user, user_names
from engine.backends import open_scorer
from engine.collab_cache import CollabService
from engine.explain import Explanation, explain
from engine.recommend import Ranking, iter_rank, retrieve, stored_part, with_like_rates
from engine.retrieval import Candidate, Query
from engine.stack import Reranker, choose_stack

from .intent import HELP, Intent, parse
from .mentions import TitleIndex, keys, title_forms
from .reading import Reading
from .state import ConversationState
from .text import MAX_MESSAGE, clean_message

RANK_CHUNK = 8  # candidates scored between checks for a newer request (about a second on 2 cores)


class DatabaseBusy(RecchatError):
    """Another program holds the write lock longer than we retry."""


@dataclass(frozen=True)
class SidePanel:
    """What the app's side panel shows, read in one go by a worker."""

    history: list[Interaction]
    latest_run: EvalRun | None


@dataclass(frozen=True)
class Plan:
    """One recommendation request, retrieved and ready for the model."""

    seeds: tuple[Item, ...]
    history: list[Interaction]
    candidates: list[Candidate]
    count: int = 10
    note: str = ""  # what the plan had to give up, in words ("the catalog has nothing from 2019")
    own: list[Interaction] = field(default_factory=list)  # the user's stored ratings (history minus this request's context)


@dataclass
class Reply:
    """What the app shows after a message: text, and a plan to score when the message asked for items."""

    text: str
    plan: Plan | None = None
    explain_item: Item | None = None
    open_eval: bool = False
    user_changed: bool = False
    rated: bool = False  # ratings changed outside a plan (undo): refresh the history and re-rank
    history_changed: bool = False  # ratings written with this reply's plan: refresh the history panel


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


@dataclass
class ChatSession:
    db_path: str | Path | None
    user_name: str
    model_path: str | Path | None = None
    domain: str = "movie"
    dataset: str | None = None  # the catalog when the store holds several (db.catalogs: default the largest)
    n_candidates: int = 50
    lock_wait: float = 1.0  # seconds SQLite waits on another writer, per try
    lock_tries: int = 3
    scorer_factory: Callable[[], Scorer] | None = None  # tests share one loaded scorer (or a fake) through this
    scorer: Scorer | None = field(default=None, init=False)
    stack: Reranker | None = field(default=None, init=False)
    stack_note: str = field(default="", init=False)  # what ranks for this model, in words (the app shows it)
    notices: list[str] = field(default_factory=list, init=False)  # one-line notices, e.g. a collaborative refit
    pending: list[Pending] = field(default_factory=list, init=False)
    undo_stack: list[UndoStep] = field(default_factory=list, init=False)
    chat: int | None = None  # continue this chat (engine ask --chat); None: the user's latest (new_chat: a new one)
    new_chat: bool = False
    state: ConversationState = field(default_factory=ConversationState, init=False)
    last_plan: Plan | None = field(default=None, init=False)
    shown: list[Item] = field(default_factory=list, init=False)  # items in the results table, in order

    def __post_init__(self) -> None:
        self.db_lock = threading.RLock()
        self.model_lock = threading.Lock()
        self._generation = 0  # bumped by every ranking request; an older ranking stops at its next chunk
        self.flush_lock = threading.Lock()  # one flush at a time: the timer's and a rating's never write a change twice
        self.db = open_db(self.db_path, timeout=self.lock_wait, shared=True)
        self.catalog = use_catalog(self.db, self.domain, self.dataset)
        pin_catalog(self.db, self.domain, self.catalog.dataset)  # an import during the chat does not switch it
        self.catalog_note = self.catalog.describe()  # the chat's first notice says which catalog it holds
        self._told_catalog = False  # "Not in the catalog" says once per chat how to bring a newer one
        self.notices.append(self.catalog_note[:1].upper() + self.catalog_note[1:] + ".")
        self.user_id = self._with_retry(lambda: get_or_create_user(self.db, self.user_name))
        self.chat_id = self._with_retry(self._open_chat)
        self._index: TitleIndex | None = None
        self.collab = CollabService(self._open_db, self.domain, log=self.notices.append)

    def _open_db(self):
        """A connection of its own (the collaborative refit's thread), on this chat's catalog."""
        db = open_db(self.db_path, timeout=self.lock_wait)
        pin_catalog(db, self.domain, self.catalog.dataset)
        return db

    # ---------------------------------------------------------------- model
    def load_model(self) -> str:
        """Load the scorer, its stack and the collaborative model once (the default model is built on first
        use: a minute, then cached; the collaborative fit takes about a second on ML-100K)."""
        self.collab.load()
        self.titles()  # the title index, before the first message needs it (about 2 s on ML-100K)
        with self.model_lock:
            if self.scorer is None:
                scorer = self.scorer_factory() if self.scorer_factory else open_scorer(self.model_path)
                choice = choose_stack(scorer.identity, scorer.name, self.domain, self.collab.current().kind,
                                      self.catalog.dataset)
                self.stack, self.stack_note, self.scorer = choice.stack, choice.note, scorer
            return self.scorer.name

    def rank(self, plan: Plan) -> Iterator[Ranking]:
        """Score a plan's candidates; the first ranking comes after a small chunk (see engine.recommend).

        The newest request wins: an older ranking still scoring stops at its next chunk."""
        self._generation += 1
        mine = self._generation
        self.load_model()
        self.last_plan = plan
        collab = self.collab.current()  # a model rec-tuned with notes reads each candidate's like-rate
        cands = with_like_rates(collab, plan.own, list(plan.candidates))
        with self.model_lock:
            for ranking in iter_rank(self.scorer, self.stack, collab, self.domain, plan.history, cands,
                                     top=plan.count, chunk=RANK_CHUNK,
                                     cancelled=lambda: self._generation != mine,
                                     seeds=tuple(s.id for s in plan.seeds)):
                self.shown = [r.item for r in ranking.items]
                yield ranking

    def why(self, item: Item) -> Explanation:
        """Explain with the prompt that ranked the item: the shown list's history includes "more like" seeds."""
        self.load_model()
        plan = self.last_plan
        on_screen = plan is not None and any(i.id == item.id for i in self.shown)
        history = plan.history if on_screen else self.history()
        rate = float(self.collab.current().like_rate([item.id], without=self.history())[0])
        with self.model_lock:
            return explain(self.scorer, self.domain, history, item, like_rate=rate)

    # ------------------------------------------------------------- messages
    def handle(self, raw: str) -> Reply:
        """Read one message. Database work only; scoring is `rank(reply.plan)`."""
        cleaned = clean_message(raw)
        notes = []
        if cleaned.cut:
            notes.append(f"(I read the first {MAX_MESSAGE} characters of that.)")
        if not cleaned.text:
            return Reply("Type a request, e.g. 'something like Alien but funnier', or 'help'.")
        self.log("user", cleaned.text)
        intent = parse(cleaned.text, self.titles(), self.domain)
        reply = self._act(intent)
        if notes:
            reply.text = " ".join(notes + [reply.text])
        self.log("assistant", reply.text, {"state": self.state.to_json()})
        return reply

    def _act(self, intent: Intent) -> Reply:
        if intent.kind == "help" or intent.kind == "unknown":
            prefix = "" if intent.kind == "help" else "Sorry, I didn't get that. "
            return Reply(prefix + HELP)
        if intent.kind == "undo":
            return Reply(self.undo(), rated=True)
        if intent.kind == "eval":
            return Reply("Evaluation runs:", open_eval=True)
        if intent.kind == "user":
            return Reply(self.switch_user(intent.user), user_changed=True)
        if intent.kind == "reset":
            self.state = ConversationState()
            plan = self.plan()
            return Reply("Starting over: I forgot what this chat said (your saved ratings stay). "
                         + self._describe(plan), plan=plan)
        if intent.kind == "why":
            if intent.position is not None and not -len(self.shown) <= intent.position < len(self.shown):
                row = intent.title[4:] if intent.title.lower().startswith("the ") else intent.title
                return Reply(f"There is no {row} on screen: the list shows {len(self.shown)} rows."
                             if self.shown else "There is no list on screen yet: ask for something first.")
            item = self.shown[intent.position] if intent.position is not None else self._why_target(intent)
            if item is None:
                return Reply(self.unknown_title(intent.title) if intent.title
                             else "Why what? Select a result and press w, or type 'why <title>'.")
            return Reply(f"Working out why {item.name}…", explain_item=item)
        return self._converse(intent.reading or Reading())

    def _converse(self, reading: Reading) -> Reply:
        """Fold a message into the conversation: ratings for explicit statements, the state, a new plan."""
        before = self.state.to_json()
        saved = self._rate_statements(reading)
        self.state.apply(reading, self.shown, [i.year for i in self.shown if i.year])
        if saved or self.state.to_json() != before:
            self.undo_stack.append(UndoStep(tuple(saved), before))
        plan = self.plan()
        parts = [self.understood(reading)]
        if saved:
            parts.append(f"Saved {len(saved)} rating{'s' * (len(saved) > 1)} ('undo' takes {'them' if len(saved) > 1 else 'it'} back).")
        if reading.missing:
            parts.append("Not in the catalog: " + "; ".join(self._missing_note(t) for t in reading.missing) + ".")
            if not self._told_catalog:
                self._told_catalog = True
                parts.append(self.newer_catalog_hint())
        parts.append(self._describe(plan))
        return Reply(" ".join(p for p in parts if p), plan=plan, history_changed=bool(saved))

    def _rate_statements(self, reading: Reading) -> list[Undo]:
        """"I loved X", "hated Y": written as ratings, as the l/d keys would (bare titles and seeds are not)."""
        changes = []
        for m in reading.mentions:
            if m.item is None or m.polarity not in ("liked", "disliked") or m.mention.related:
                continue
            liked = m.polarity == "liked"
            previous = self.current_rating(m.item)
            if previous == liked:
                continue
            changes.append(Undo(m.item, previous))
            try:
                self._write_rating(m.item, liked)
            except DatabaseBusy:
                self.pending.append(Pending(m.item, liked, time.time()))
        return changes

    def understood(self, reading: Reading | None = None) -> str:
        """What the conversation holds now, in words, so a person can correct it."""
        st = self.state
        if st.empty:
            return "" if reading is None or reading.says_something else "Nothing to go on yet, so here are popular picks."
        names = self.names([*st.mentioned, *st.related])
        bits = []
        if st.liked:
            bits.append("you like " + _and(names[i] for i in st.liked))
        if st.disliked:
            bits.append(("not " if st.liked else "you don't like ") + _and(names[i] for i in st.disliked))
        if st.seeds or st.related:
            bits.append("something like " + _and(names[i] for i in [*st.seeds, *st.related]))
        if st.seen:
            bits.append("seen " + _and(names[i] for i in st.seen))
        if st.genres:
            bits.append(("only " if st.only_genres else "") + "/".join(st.genres).lower())
        if st.exclude_genres:
            bits.append("no " + "/".join(st.exclude_genres).lower())
        if st.year_min and st.year_max:
            bits.append(f"{st.year_min}-{st.year_max}" if st.year_min != st.year_max else str(st.year_min))
        elif st.year_min:
            bits.append(f"from {st.year_min}")
        elif st.year_max:
            bits.append(f"up to {st.year_max}")
        if st.author:
            bits.append(f"by {st.author}")
        return "Got it: " + "; ".join(bits) + "."

    def names(self, ids: list[int]) -> dict[int, str]:
        with self.db_lock:
            found = items_by_id(self.db, ids)
        return {i: found[i].name if i in found else f"item {i}" for i in ids}

    def newer_catalog_hint(self) -> str:
        """Which catalog the chat holds and the command that brings a newer one (said once per chat)."""
        info = self.catalog.info
        held = f"This chat's catalog is {info.dataset} ({info.n_items:,} items" if info else "This chat has no catalog"
        years = self.catalog_years()
        held += f", {years[0]}-{years[1]}" if info and years else ""
        if self.domain == "movie":
            return (held + "); `engine data import movielens ml-latest-small` fetches and imports movies up to "
                    "2018 (ml-32m: up to 2023), and `chat --dataset ml-latest-small` chats on it.")
        return held + ("); " if info else "; ") + "`engine data import recbole DIR` or `engine data import bookcrossing DIR` brings another."

    def catalog_years(self) -> tuple[int, int] | None:
        with self.db_lock:
            return catalog_year_span(self.db, self.domain)

    def _missing_note(self, title: str) -> str:
        with self.db_lock:
            close = close_matches(self.db, title, self.domain, n=2)
        return f"{title} (did you mean {' or '.join(i.name for i in close)}?)" if close else title

    def _why_target(self, intent: Intent) -> Item | None:
        if intent.title:
            key = keys(intent.title)
            for item in self.shown:  # prefer what is on screen: "why Alien" means the Alien shown
                if keys(item.name) == key or any(form == key for form, _ in title_forms(item.title)):
                    return item
        return intent.item

    def _describe(self, plan: Plan) -> str:
        if plan.note:
            return plan.note + " " + self._describe(replace(plan, note=""))
        if not plan.candidates:
            return "Nothing left to recommend: everything that matches is rated or mentioned, or the filter is too narrow."
        return f"Scoring {len(plan.candidates)} candidates for {self.user_name}…"

    def unknown_title(self, title: str) -> str:
        with self.db_lock:
            close = close_matches(self.db, title, self.domain)
        if not close:
            return f"I don't know a title like '{title}'."
        return f"I don't know '{title}'. Did you mean: " + "; ".join(i.name for i in close) + "?"

    # ------------------------------------------------------------ retrieval
    def plan(self) -> Plan:
        """Retrieve for the conversation so far: its liked titles and seeds (else the user's likes) seed
        EASE, disliked titles push their neighbours down, preferred genres are boosted, mentioned
        titles never come back."""
        st = self.state
        now = time.time()
        with self.db_lock:
            items = items_by_id(self.db, st.positive + st.disliked)
        seeds = tuple(items[i] for i in st.positive if i in items)
        context = [Interaction(s.id, s.name, True, None, now, s.genres) for s in seeds if s.id not in st.liked]
        rated = {h.item_id for h in self.history()}
        context += [Interaction(i, items[i].name, False, None, now, items[i].genres) for i in st.disliked
                    if i in items and i not in rated]
        f = st.filters()
        query = Query(None, f.year_min, f.year_max, f.genres if f.only else (), f.exclude_genres, self.domain,
                      prefer_genres=() if f.only else f.genres, author=st.author)
        def fetch(q: Query):
            with self.db_lock:
                return retrieve(self.db, self.collab.current(), self.user_id, q, self.n_candidates, context,
                                seeds=tuple(s.id for s in seeds), disliked=tuple(st.disliked),
                                exclude=tuple(st.mentioned) + tuple(st.disliked))

        history, cands = fetch(query)
        note = ""
        if not cands and (f.year_min or f.year_max):  # "a comedy from 2019" in a catalog that ends in 1998
            history, cands = fetch(replace(query, year_min=None, year_max=None))
            note = f"Nothing in the catalog matches the years {_years(f.year_min, f.year_max)}, so I left them out."
        return Plan(seeds, history, cands, st.count, note, own=stored_part(history, context))

    def replan(self) -> Plan:
        """The conversation's request again, after the history changed (a rating drops out, the rest re-score)."""
        return self.plan()

    def titles(self) -> TitleIndex:
        """The catalog's title index, built on first use (load_model builds it ahead); ties go to the item
        the collaborative model has seen rated most, the order retrieval's popularity fallback uses."""
        if self._index is None:
            collab = self.collab.current()
            with self.db_lock:
                items = list(catalog_items(self.db, self.domain).values())
            popularity = collab.popularity([i.id for i in items])
            self._index = TitleIndex.build(items, {i.id: float(p) for i, p in zip(items, popularity)})
        return self._index

    def find_title(self, text: str) -> Item | None:
        """The catalog item a whole string names ("Heat", "Godfather, The", "twelve monkeys 1995")."""
        return self.titles().lookup(text)

    # -------------------------------------------------------------- ratings
    def rate(self, item: Item, liked: bool) -> str:
        verb = "liked" if liked else "disliked"
        return self._change(item, liked, f"Saved: you {verb} {item.name}.")

    def remove(self, item: Item) -> str:
        return self._change(item, None, f"Removed {item.name} from your history.")

    def undo(self) -> str:
        """Take back the last step: a key's rating, or everything one message rated and understood."""
        if not self.undo_stack:
            return "Nothing to undo."
        step = self.undo_stack.pop()
        if step.state is not None:
            self.state = ConversationState.from_json(step.state)
        busy = False
        for change in reversed(step.changes):
            try:
                self._write_rating(change.item, change.previous)
            except DatabaseBusy:
                self.pending.append(Pending(change.item, change.previous, time.time()))
                busy = True
        if busy:
            return f"Undone in memory; {self._busy_note()}"
        was = {True: "liked", False: "disliked", None: "unrated"}
        said = "; ".join(f"{c.item.name} is {was[c.previous]} again" for c in step.changes)
        if step.state is not None:
            said = (said + ". " if said else "") + "I forgot what that message said"
        return f"Undone: {said}."

    def _change(self, item: Item, liked: bool | None, done: str) -> str:
        previous = self.current_rating(item)
        self.undo_stack.append(UndoStep((Undo(item, previous),)))
        try:
            self.flush_pending()
            self._write_rating(item, liked)
        except DatabaseBusy:
            self.pending.append(Pending(item, liked, time.time()))
            return f"Kept, not yet written: {done.removeprefix('Saved: ')} Because {self._busy_note()}"
        return done

    def _busy_note(self) -> str:
        return (f"the database is locked by another program. {len(self.pending)} change(s) are kept and "
                "will be written as soon as it is free.")

    def flush_pending(self) -> int:
        """Write ratings kept while the database was locked, oldest first. Returns how many were written."""
        written = 0
        with self.flush_lock:
            while self.pending:
                p = self.pending[0]
                self._write_rating(p.item, p.liked, p.ts)
                self.pending.pop(0)
                written += 1
        return written

    def _write_rating(self, item: Item, liked: bool | None, ts: float | None = None) -> None:
        self._with_retry(lambda: record_feedback(self.db, self.user_id, item.id, liked, source="chat", ts=ts))
        with self.db_lock:  # two range counts; a refit, when due, runs in a process of its own
            self.collab.refresh(self.db)  # this user's own rating counts at once anyway (fold-in)

    def current_rating(self, item: Item) -> bool | None:
        with self.db_lock:
            return current_rating(self.db, self.user_id, item.id)

    def history(self) -> list[Interaction]:
        with self.db_lock:
            return user_history(self.db, self.user_id, self.domain)

    def item(self, item_id: int) -> Item:
        with self.db_lock:
            found = items_by_id(self.db, [item_id])
        if item_id not in found:
            raise RecchatError(f"no item {item_id}")
        return found[item_id]

    # ---------------------------------------------------------------- users
    def switch_user(self, name: str) -> str:
        name = clean_message(name).text[:64].strip()
        if not name:
            return "Which user? Type '/user NAME'."
        with self.db_lock:
            existed = find_user(self.db, name) is not None
        self.user_id = self._with_retry(lambda: get_or_create_user(self.db, name))
        self.user_name = name
        self.chat, self.new_chat = None, False
        self.chat_id = self._with_retry(self._open_chat)
        self.undo_stack.clear()
        self.last_plan = None
        self.shown = []
        n = len(self.history())
        return f"Now chatting as {name}" + (f" ({n} ratings)." if existed else " (new user).")

    def users(self, limit: int = 2000) -> list[str]:
        with self.db_lock:
            return user_names(self.db, limit)

    # ------------------------------------------------------- chats and runs
    def _open_chat(self) -> int:
        """The chat to continue (and its conversation state): --chat, a new one, or the user's latest."""
        if self.chat is not None:
            chat_id = check_chat(self.db, self.chat, self.user_id)
        elif self.new_chat:
            chat_id = new_chat(self.db, self.user_id)
        else:
            chat_id = latest_chat(self.db, self.user_id)
        self.state = ConversationState.from_json(chat_state(self.db, chat_id))
        return chat_id

    def log(self, role: str, content: str, payload: dict | None = None) -> None:
        """Keep the conversation; a locked database only costs the log line, never the app."""
        try:
            self._with_retry(lambda: log_message(self.db, self.chat_id, role, content, payload), tries=1)
        except DatabaseBusy:
            pass

    def recent_messages(self, n: int = 20) -> list[tuple[str, str]]:
        with self.db_lock:
            return recent_messages(self.db, self.chat_id, n)

    def eval_runs(self, limit: int = 50) -> list[EvalRun]:
        with self.db_lock:
            return eval_runs(self.db, limit)

    def side_panel(self) -> SidePanel:
        runs = self.eval_runs(1)
        return SidePanel(self.history(), runs[0] if runs else None)

    def has_catalog(self) -> bool:
        with self.db_lock:
            return has_items(self.db, self.domain)

    # ------------------------------------------------------------- plumbing
    def _with_retry(self, fn, tries: int | None = None):
        """Run a write; on "database is locked" wait and retry, then raise DatabaseBusy (one line)."""
        tries = tries or self.lock_tries
        for attempt in range(tries):
            try:
                with self.db_lock:
                    return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                if attempt + 1 < tries:
                    time.sleep(0.1 * (attempt + 1))
        raise DatabaseBusy("the database is locked by another program")

    def close(self) -> None:
        with self.db_lock:
            self.db.conn.close()


def _and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _years(lo: int | None, hi: int | None) -> str:
    return f"{lo}-{hi}" if lo and hi else f"from {lo}" if lo else f"up to {hi}"
