"""Everything the chat does, without the UI: read a message, retrieve and score, rate, undo, explain.

The app calls these from worker threads, so the UI never waits on SQLite or the model. One lock
guards the SQLite connection (short operations), another the model (one scorer, one KV cache).
A rating that cannot be written because another program holds the database is kept in memory
and written by `flush_pending` as soon as the database is free: nothing typed is lost.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from db import open_db
from db.catalog import close_matches
from db.errors import RecchatError
from db.feedback import find_user, get_or_create_user, item_from_row, like_rates, record_feedback, user_history
from db.scoring import Scorer
from db.store import transaction
from db.types import Interaction, Item
from engine.collab_cache import CollabService
from engine.explain import Explanation, explain
from engine.recommend import Ranking, iter_rank, retrieve, with_like_rates
from engine.retrieval import Candidate, Query
from engine.stack import Reranker, choose_stack

from .intent import HELP, Intent, Request, parse
from .text import MAX_MESSAGE, clean_message

RANK_CHUNK = 8  # candidates scored between checks for a newer request (about a second on 2 cores)
_WORD = re.compile(r"\w+", re.U)
_ARTICLE_LAST = re.compile(r"^(?P<rest>.*), (?P<article>the|a|an|la|le|les|il|el|das|der|die)$", re.I)


class DatabaseBusy(RecchatError):
    """Another program holds the write lock longer than we retry."""


@dataclass(frozen=True)
class EvalRun:
    id: int
    model: str
    dataset: str
    k: int | None
    created_at: str
    metrics: dict

    @property
    def auc(self) -> float | None:
        return self.metrics.get("auc")

    @property
    def gauc(self) -> float | None:
        return self.metrics.get("gauc")

    def baseline(self, name: str, key: str = "auc") -> float | None:
        return (self.metrics.get("baselines") or {}).get(name, {}).get(key)


@dataclass(frozen=True)
class Plan:
    """One recommendation request, retrieved and ready for the model."""

    request: Request
    seeds: tuple[Item, ...]
    history: list[Interaction]
    candidates: list[Candidate]


@dataclass
class Reply:
    """What the app shows after a message: text, and a plan to score when the message asked for items."""

    text: str
    plan: Plan | None = None
    explain_item: Item | None = None
    open_eval: bool = False
    user_changed: bool = False
    rated: bool = False


@dataclass(frozen=True)
class Pending:
    item: Item
    liked: bool | None
    ts: float


@dataclass(frozen=True)
class Undo:
    item: Item
    previous: bool | None  # the rating before the change; None = unrated


def title_key(title: str) -> str:
    """"Godfather, The" and "the godfather" compare equal."""
    t = title.strip().lower()
    if m := _ARTICLE_LAST.match(t):
        t = f"{m.group('article')} {m.group('rest')}"
    return " ".join(_WORD.findall(t))


@dataclass
class ChatSession:
    db_path: str | Path | None
    user_name: str
    model_path: str | Path | None = None
    domain: str = "movie"
    n_candidates: int = 50
    lock_wait: float = 1.0  # seconds SQLite waits on another writer, per try
    lock_tries: int = 3
    scorer_factory: Callable[[], Scorer] | None = None  # tests share one loaded scorer (or a fake) through this
    scorer: Scorer | None = field(default=None, init=False)
    stack: Reranker | None = field(default=None, init=False)
    stack_note: str = field(default="", init=False)  # what ranks for this model, in words (the app shows it)
    notices: list[str] = field(default_factory=list, init=False)  # one-line notices, e.g. a collaborative refit
    pending: list[Pending] = field(default_factory=list, init=False)
    undo_stack: list[Undo] = field(default_factory=list, init=False)
    last_plan: Plan | None = field(default=None, init=False)
    shown: list[Item] = field(default_factory=list, init=False)  # items in the results table, in order

    def __post_init__(self) -> None:
        self.db_lock = threading.RLock()
        self.model_lock = threading.Lock()
        self._generation = 0  # bumped by every ranking request; an older ranking stops at its next chunk
        self.flush_lock = threading.Lock()  # one flush at a time: the timer's and a rating's never write a change twice
        self.db = open_db(self.db_path, timeout=self.lock_wait, shared=True)
        self.user_id = self._with_retry(lambda: get_or_create_user(self.db, self.user_name))
        self.chat_id = self._with_retry(self._latest_chat)
        self.collab = CollabService(lambda: open_db(self.db_path, timeout=self.lock_wait), self.domain,
                                    log=self.notices.append)

    # ---------------------------------------------------------------- model
    def load_model(self) -> str:
        """Load the scorer, its stack and the collaborative model once (the default model is built on first
        use: a minute, then cached; the collaborative fit takes about a second on ML-100K)."""
        self.collab.load()
        with self.model_lock:
            if self.scorer is None:
                from engine.backends import open_scorer

                scorer = self.scorer_factory() if self.scorer_factory else open_scorer(self.model_path)
                choice = choose_stack(scorer.identity, scorer.name, self.domain)
                self.stack, self.stack_note, self.scorer = choice.stack, choice.note, scorer
            return self.scorer.name

    def rank(self, plan: Plan) -> Iterator[Ranking]:
        """Score a plan's candidates; the first ranking comes after a small chunk (see engine.recommend).

        The newest request wins: an older ranking still scoring stops at its next chunk."""
        self._generation += 1
        mine = self._generation
        self.load_model()
        self.last_plan = plan
        with self.db_lock:  # a model rec-tuned with notes reads each candidate's like-rate
            cands = with_like_rates(self.db, self.user_id, list(plan.candidates))
        collab = self.collab.current()
        with self.model_lock:
            for ranking in iter_rank(self.scorer, self.stack, collab, self.domain, plan.history, cands,
                                     plan.request.count, chunk=RANK_CHUNK,
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
        with self.db_lock:
            rate = like_rates(self.db, [item.id], exclude_user=self.user_id)[item.id]
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
        intent = parse(cleaned.text, self.find_title)
        reply = self._act(intent)
        if notes:
            reply.text = " ".join(notes + [reply.text])
        self.log("assistant", reply.text)
        return reply

    def _act(self, intent: Intent[Item]) -> Reply:
        if intent.kind == "help" or intent.kind == "unknown":
            prefix = "" if intent.kind == "help" else "Sorry, I didn't get that. "
            return Reply(prefix + HELP)
        if intent.kind == "undo":
            return Reply(self.undo(), rated=True)
        if intent.kind == "eval":
            return Reply("Evaluation runs:", open_eval=True)
        if intent.kind == "user":
            return Reply(self.switch_user(intent.user), user_changed=True)
        if intent.kind == "rate":
            if not intent.items:
                return Reply(self.unknown_title(intent.title))
            return Reply(self.rate(intent.items[0], bool(intent.liked)), rated=True)
        if intent.kind == "why":
            item = self._why_target(intent)
            if item is None:
                return Reply(self.unknown_title(intent.title) if intent.title
                             else "Why what? Select a result and press w, or type 'why <title>'.")
            return Reply(f"Working out why {item.name}…", explain_item=item)
        plan = self.plan(intent.request, intent.items)
        return Reply(self._describe(plan), plan=plan)

    def _why_target(self, intent: Intent[Item]) -> Item | None:
        if intent.title:
            key = title_key(intent.title)
            for item in self.shown:  # prefer what is on screen: "why Alien" means the Alien shown
                if title_key(item.title) == key or title_key(item.name) == key:
                    return item
        if intent.items:
            return intent.items[0]
        return None

    def _describe(self, plan: Plan) -> str:
        req = plan.request
        bits = []
        if plan.seeds:
            bits.append("like " + ", ".join(s.name for s in plan.seeds))
        if req.describe():
            bits.append(req.describe())
        what = f" ({'; '.join(bits)})" if bits else ""
        if not plan.candidates:
            return f"Nothing left to recommend{what}: everything that matches is rated, or the filter is too narrow."
        return f"Scoring {len(plan.candidates)} candidates{what} for {self.user_name}…"

    def unknown_title(self, title: str) -> str:
        with self.db_lock:
            close = close_matches(self.db, title, self.domain)
        if not close:
            return f"I don't know a title like '{title}'."
        return f"I don't know '{title}'. Did you mean: " + "; ".join(i.name for i in close) + "?"

    # ------------------------------------------------------------ retrieval
    def plan(self, request: Request = Request(), seeds: tuple[Item, ...] = ()) -> Plan:
        now = time.time()
        context = [Interaction(s.id, s.name, True, None, now, s.genres) for s in seeds]
        query = Query(None, request.year_min, request.year_max, request.genres, request.exclude_genres, self.domain)
        with self.db_lock:
            history, cands = retrieve(self.db, self.collab.current(), self.user_id, query, self.n_candidates, context)
        return Plan(request, tuple(seeds), history, cands)

    def replan(self) -> Plan:
        """The last request again, after the history changed (a rating drops out, the rest re-score)."""
        last = self.last_plan
        return self.plan(last.request, last.seeds) if last else self.plan()

    def find_title(self, text: str) -> Item | None:
        """The catalog item a person means by `text`: exact title first, then a title holding every word.

        Among equals the most rated wins ("Heat" is the 1995 film). Only titles are matched, so
        genre words never resolve to an item.
        """
        words = _WORD.findall(text.lower())
        if not words or len(words) > 12:
            return None
        q = " ".join(f'"{w}"*' for w in words)
        sql = """SELECT items.*, (SELECT COUNT(*) FROM feedback f WHERE f.item_id = items.id) AS n
                 FROM items JOIN items_fts ON items_fts.rowid = items.id
                 WHERE items_fts MATCH ? AND items.domain = ? ORDER BY n DESC LIMIT 200"""
        with self.db_lock:
            rows = [dict(r) for r in self.db.query(sql, [q, self.domain])]
        key = title_key(text)
        exact, starts, contains = [], [], []
        for row in rows:
            row.pop("n")
            t = title_key(row["title"])
            title_words = t.split()
            if t == key or title_key(row["name"]) == key:
                exact.append(row)
            elif t.startswith(key + " ") or t.startswith(key + ":"):
                starts.append(row)
            elif all(any(tw.startswith(w) for tw in title_words) for w in words) and len(key) >= 4:
                contains.append(row)
        for group in (exact, starts, contains):
            if group:
                return item_from_row(group[0])
        return None

    # -------------------------------------------------------------- ratings
    def rate(self, item: Item, liked: bool) -> str:
        verb = "liked" if liked else "disliked"
        return self._change(item, liked, f"Saved: you {verb} {item.name}.")

    def remove(self, item: Item) -> str:
        return self._change(item, None, f"Removed {item.name} from your history.")

    def undo(self) -> str:
        if not self.undo_stack:
            return "Nothing to undo."
        step = self.undo_stack.pop()
        try:
            self._write_rating(step.item, step.previous)
        except DatabaseBusy:
            self.pending.append(Pending(step.item, step.previous, time.time()))
            return f"Undone in memory; {self._busy_note()}"
        was = {True: "liked", False: "disliked", None: "unrated"}[step.previous]
        return f"Undone: {step.item.name} is {was} again."

    def _change(self, item: Item, liked: bool | None, done: str) -> str:
        previous = self.current_rating(item)
        self.undo_stack.append(Undo(item, previous))
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
        self.collab.refresh()  # off the request path; this user's own rating counts at once (fold-in)

    def current_rating(self, item: Item) -> bool | None:
        with self.db_lock:
            row = self.db.execute("SELECT liked FROM current_feedback WHERE user_id = ? AND item_id = ?",
                                  [self.user_id, item.id]).fetchone()
        return None if row is None else bool(row[0])

    def history(self) -> list[Interaction]:
        with self.db_lock:
            return user_history(self.db, self.user_id, self.domain)

    def item(self, item_id: int) -> Item:
        with self.db_lock:
            return item_from_row(dict(next(iter(self.db.query("SELECT * FROM items WHERE id = ?", [item_id])))))

    # ---------------------------------------------------------------- users
    def switch_user(self, name: str) -> str:
        name = clean_message(name).text[:64].strip()
        if not name:
            return "Which user? Type '/user NAME'."
        with self.db_lock:
            existed = find_user(self.db, name) is not None
        self.user_id = self._with_retry(lambda: get_or_create_user(self.db, name))
        self.user_name = name
        self.chat_id = self._with_retry(self._latest_chat)
        self.undo_stack.clear()
        self.last_plan = None
        n = len(self.history())
        return f"Now chatting as {name}" + (f" ({n} ratings)." if existed else " (new user).")

    def users(self, limit: int = 2000) -> list[str]:
        with self.db_lock:
            return [r[0] for r in self.db.execute("SELECT name FROM users ORDER BY name LIMIT ?", [limit])]

    # ------------------------------------------------------- chats and runs
    def _latest_chat(self) -> int:
        row = self.db.execute("SELECT id FROM chats WHERE user_id = ? ORDER BY id DESC LIMIT 1", [self.user_id]).fetchone()
        if row:
            return row[0]
        with transaction(self.db):
            cur = self.db.execute("INSERT INTO chats (user_id, title) VALUES (?, ?)", [self.user_id, "chat"])
        return cur.lastrowid

    def log(self, role: str, content: str, payload: dict | None = None) -> None:
        """Keep the conversation; a locked database only costs the log line, never the app."""
        def write() -> None:
            with transaction(self.db):
                self.db.execute("INSERT INTO messages (chat_id, role, content, payload) VALUES (?, ?, ?, ?)",
                                [self.chat_id, role, content, json.dumps(payload) if payload else None])
        try:
            self._with_retry(write, tries=1)
        except DatabaseBusy:
            pass

    def recent_messages(self, n: int = 20) -> list[tuple[str, str]]:
        with self.db_lock:
            rows = self.db.execute("SELECT role, content FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
                                   [self.chat_id, n]).fetchall()
        return [(r[0], r[1]) for r in reversed(rows)]

    def eval_runs(self, limit: int = 50) -> list[EvalRun]:
        with self.db_lock:
            rows = self.db.execute("SELECT id, model_path, dataset, k, created_at, metrics FROM eval_runs "
                                   "ORDER BY id DESC LIMIT ?", [limit]).fetchall()
        return [EvalRun(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

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
