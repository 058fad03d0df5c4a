"""One chat, without the UI: read a message, update the conversation state, plan, and answer.

It delegates what it does not decide: store reads (`store`, one lock for the connection), every write
through the on-disk journal (`writer`: nothing said is lost while another program holds the store),
ratings and their undo (`journal`), retrieval (`planning`) and the replies' words (`notices`). The app
calls it from worker threads, so the UI never waits on SQLite or the model (one scorer, one lock).

One owner for the session's state: `lock`, held for each whole operation on it (a message, a rating, a user
switch, a ranking's bookkeeping). Not Textual's exclusive workers: cancelling a thread worker only sets a flag,
so two would still interleave, or a rating be dropped. The app passes the user on screen with a key's rating:
a like pressed mid-switch lands on the user shown then. Lock order: `model_lock`, `lock`, the writer's,
the store's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from db import open_db
from db.catalogs import pin_catalog, use_catalog
from db.scoring import Scorer
from db.types import Interaction, Item
from engine.collab.cache import CollabService
from engine.llm.backends import open_scorer
from engine.llm.explain import explain
from engine.rank.group import rank_group
from engine.rank.recommend import Ranking, iter_rank, with_like_rates
from engine.rank.served import Order
from engine.vocab.describe import Vocabulary
from engine.vocab.mentions import TitleIndex

from . import notices
from .intent import GREETING, HELP, Intent, parse, split_names
from .journal import RatingJournal
from .planning import Plan, plan_request
from .reading import Reading, with_last_film
from .replies import Reply, SidePanel, WhyAnswer, export_list, why_answer, why_reply
from .state import ConversationState
from .store import ChatStore
from .text import MAX_MESSAGE, clean_message
from .writer import ChatWriter

RANK_CHUNK = 8  # candidates scored between checks for a newer request (about a second on 2 cores)


@dataclass
class ChatSession:
    db_path: str | Path | None
    user_name: str
    model_path: str | Path | None = None
    domain: str = "movie"
    dataset: str | None = None  # the catalog when the store holds several (db.catalogs: default the largest)
    n_candidates: int = 50
    among: tuple[int, ...] | None = None  # every answer ranks only these items (engine ask --among); None: all
    with_users: tuple[str, ...] = ()  # others present (chat --with alex): one list for the group
    lock_wait: float = 1.0  # seconds SQLite waits on another writer, per try
    lock_tries: int = 3
    scorer_factory: Callable[[], Scorer] | None = None  # a scorer opened elsewhere: tests share one; engine ask's thread
    scorer: Scorer | None = field(default=None, init=False)
    order_note: str = field(default="", init=False)  # which ranker orders, in words (the app shows it)
    notices: list[str] = field(default_factory=list, init=False)  # one-line notices, e.g. a collaborative refit
    chat: int | None = None  # continue this chat (engine ask --chat); None: the user's latest (new_chat: a new one)
    new_chat: bool = False
    state: ConversationState = field(default_factory=ConversationState, init=False)
    last_plan: Plan | None = field(default=None, init=False)
    shown: list[Item] = field(default_factory=list, init=False)  # items in the results table, in order
    shown_p_like: list[float] = field(default_factory=list, init=False)  # their P(like), for an export

    def __post_init__(self) -> None:
        self.lock = threading.RLock()  # one owner for the session's state (the module's docstring says why)
        self.model_lock = threading.Lock()
        self._generation = 0  # bumped by every ranking request; an older ranking stops at its next chunk
        self.db = open_db(self.db_path, timeout=self.lock_wait, shared=True)  # a current schema: no write lock
        self.store = ChatStore(self.db, self.domain)
        self.catalog = use_catalog(self.db, self.domain, self.dataset)
        pin_catalog(self.db, self.domain, self.catalog.dataset)  # an import during the chat does not switch it
        self.catalog_note = self.catalog.describe()  # the chat's first notice says which catalog it holds
        self._told_catalog = False  # "Not in the catalog" says once per chat how to bring a newer one
        movies = self.domain == "movie" and self.catalog.info is not None  # what it knows of a film beyond ratings
        self.notices += notices.opening(self.catalog_note, self.store.knowledge() if movies else None)
        self.collab = CollabService(self._open_db, self.domain, log=self.notices.append)
        self.writer = ChatWriter(self.store, self.lock_tries, lambda: self.collab.refresh(self.db), self.lock_wait)
        self.journal = RatingJournal(self.store, self.writer)
        self.state = ConversationState.from_json(self.writer.open(self.user_name, self.chat, self.new_chat))

    user_id = property(lambda self: self.writer.user_id, doc="None while the user's creation waits for the store")
    chat_id = property(lambda self: self.writer.chat_id, doc="None while the chat's creation waits for the store")

    def _open_db(self):  # a connection of its own (the collaborative refit's thread), on this chat's catalog
        db = open_db(self.db_path, timeout=self.lock_wait)
        pin_catalog(db, self.domain, self.catalog.dataset)
        return db

    # ---------------------------------------------------------------- model
    def load_model(self) -> str:
        """Load the scorer, the learned order and the collaborative model once (the default model is built on
        first use: a minute, then cached; the collaborative fit takes about a second on ML-100K)."""
        self.collab.load()
        self.titles()  # the title index, before the first message needs it (about 2 s on ML-100K)
        self.vocabulary()
        self.order_note = self.order().note
        with self.model_lock:
            if self.scorer is None:
                self.scorer = self.scorer_factory() if self.scorer_factory else open_scorer(self.model_path)
            return self.scorer.name

    def order(self) -> Order:
        """The learned ranker over the catalog's signals and the current collaborative model."""
        return self.store.order(self.collab.current(), self.catalog.dataset)

    def rank(self, plan: Plan) -> Iterator[Ranking]:
        """The plan's rows in the ranker's order at once, then with the LLM's P(Yes) (engine.rank.recommend).

        The newest request wins: an older ranking still scoring stops at its next chunk."""
        with self.lock:
            self._generation += 1
            mine = self._generation
            self.last_plan = plan
        self.load_model()
        order = self.order()  # a model rec-tuned with notes reads each candidate's like-rate
        cands = with_like_rates(order.collab, plan.own, list(plan.candidates))
        with self.model_lock:
            if plan.members:  # one list for the people present: each member's P(like), aggregated
                rankings = [rank_group(self.scorer, order, self.domain, list(plan.members), cands, top=plan.count,
                                       seeds=tuple(s.id for s in plan.seeds))]
            else:
                rankings = iter_rank(self.scorer, self.domain, plan.history, cands, top=plan.count, chunk=RANK_CHUNK,
                                     cancelled=lambda: self._generation != mine)
            for ranking in rankings:
                self._show(ranking, mine)
                yield ranking

    def _show(self, ranking: Ranking, generation: int) -> None:
        """The list on screen is the newest request's (a ranking a switch of user outdated shows nothing)."""
        with self.lock:
            if generation == self._generation:
                self.shown, self.shown_p_like = [r.item for r in ranking.items], [r.p_like for r in ranking.items]

    def why(self, item: Item) -> WhyAnswer:
        """What ordered the item (the ranker's parts of its score, the films and words behind them), and the
        LLM's own leave-one-out as one line of it."""
        self.load_model()
        with self.lock:  # what is on screen, read whole; the model is asked outside the lock
            on_screen = self.last_plan is not None and any(i.id == item.id for i in self.shown)
            plan = self.last_plan if on_screen else None
            history, words = plan.history if plan else self.history(), list(self.state.words)
            rate = float(self.collab.current().like_rate([item.id], without=self.history())[0])
        with self.model_lock:
            llm = explain(self.scorer, self.domain, history, item, like_rate=rate)
        return why_answer(item, plan, history, self.order(), llm, words)

    # ------------------------------------------------------------- messages
    def handle(self, raw: str) -> Reply:
        """Read one message. Database work only; scoring is `rank(reply.plan)`."""
        cleaned = clean_message(raw)
        if not cleaned.text:
            return Reply("Type a request, e.g. 'something like Alien but funnier', or 'help'.")
        with self.lock:
            self.log("user", cleaned.text)  # on disk now, in the store with this turn's first write
            reply = self._act(parse(cleaned.text, self.titles(), self.domain, self.vocabulary(), self.store.user_exists))
            if cleaned.cut:
                reply.text = f"(I read the first {MAX_MESSAGE} characters of that.) {reply.text}"
            self.log("assistant", reply.text)
            self.writer.commit(self.writer.entry("state", state=self.state.to_json()))  # the turn, with retries
            return reply

    def _act(self, intent: Intent) -> Reply:
        if intent.kind == "greeting":
            return Reply(GREETING)
        if intent.kind in ("help", "unknown"):
            return Reply(("" if intent.kind == "help" else "Sorry, I didn't get that. ") + HELP)
        if intent.kind == "undo":
            return Reply(self.undo(), rated=True)
        if intent.kind == "eval":
            return Reply("Evaluation runs:", open_eval=True)
        if intent.kind == "export":
            return Reply(export_list(intent.title, self.shown, self.shown_p_like, self.store, intent.replace))
        if intent.kind in ("with", "alone"):
            self.with_users = tuple(split_names(intent.user))
            plan = self.plan()
            who = " and ".join((self.user_name, *self.with_users))
            return Reply(("One list for " + who + ": " if self.with_users else "Just you again: ")
                         + notices.describe(plan, who), plan=plan)
        if intent.kind == "user":
            return Reply(self.switch_user(intent.user), user_changed=True)
        if intent.kind == "reset":
            self.state = ConversationState()
            plan = self.plan()
            return Reply("Starting over: I forgot what this chat said (your saved ratings stay). "
                         + notices.describe(plan, self.user_name), plan=plan)
        if intent.kind == "why":
            return why_reply(intent, self.shown, self.store)
        return self._converse(intent.reading or Reading())

    def _converse(self, reading: Reading) -> Reply:
        """Fold a message into the conversation: ratings for explicit statements, the state, a new plan."""
        before = self.state.to_json()
        if reading.follow_up and self.state.last is not None:  # "It was pretty boring": the film named last
            reading = with_last_film(reading, self.store.items([self.state.last]).get(self.state.last))
        rated = self.journal.rate_statements(reading)
        self.state.apply(reading, self.shown, [i.year for i in self.shown if i.year], (self.store.year_span() or (None, None))[1])
        if rated.changes or self.state.to_json() != before:
            self.journal.step(rated.changes, before)
        plan = self.plan()
        parts = [self.understood(reading), notices.unknown_words(reading.words.unknown, bool(self.vocabulary().runtimes)),
                 notices.saved_note(len(rated.changes) - rated.kept), self.journal.kept_note(rated.kept)]
        if reading.missing:
            parts.append("Not in the catalog: " + "; ".join(
                notices.missing_note(t, self.store.close_matches(t, n=2)) for t in reading.missing) + ".")
            if not self._told_catalog:
                self._told_catalog = True
                parts.append(notices.newer_catalog_hint(self.domain, self.catalog.info, self.store.year_span(),
                                                        bool(self.store.knowledge().linked)))
        parts.append(notices.describe(plan, self.user_name))
        return Reply(" ".join(p for p in parts if p), plan=plan, history_changed=bool(rated.changes))

    def understood(self, reading: Reading | None = None) -> str:
        """What the conversation holds now, in words, so a person can correct it."""
        st = self.state
        if st.empty:  # nothing said yet: the list comes from the person's own likes, if any
            return notices.understood(st, {}, reading, from_likes=any(h.liked for h in self.history()))
        return notices.understood(st, self.store.names([*st.mentioned, *st.related]), reading)

    # ------------------------------------------------------------ retrieval
    def plan(self) -> Plan:
        """The conversation's request, retrieved; again after the history changed (a rating drops out)."""
        with self.lock:
            others = [(n, self.writer.user_id_of(n)) for n in self.with_users]
            return plan_request(self.state, self.store, self.order(), self.user_id, self.n_candidates, self.among,
                                self.vocabulary(), [(self.user_name, self.user_id), *others] if others else None)

    def titles(self) -> TitleIndex:
        """The catalog's title index (load_model builds it ahead): see ChatStore.title_index."""
        return self.store.title_index(lambda ids: self.collab.current().popularity(ids))

    def vocabulary(self) -> Vocabulary:
        """The catalog's describing words (its tags, people, runtimes), read once per chat."""
        return self.store.vocabulary()

    def find_title(self, text: str) -> Item | None:
        """The catalog item a whole string names ("Heat", "Godfather, The", "twelve monkeys 1995")."""
        return self.titles().lookup(text)

    # -------------------------------------------------------------- ratings
    def rate(self, item: Item, liked: bool, user: str | None = None) -> str:
        """A key's rating; `user`: the user on screen when it was pressed (None: the chat's user now)."""
        with self.lock:
            return self.journal.change(item, liked, f"Saved: you {'liked' if liked else 'disliked'} {item.name}.", user)

    def remove(self, item: Item, user: str | None = None) -> str:
        with self.lock:
            return self.journal.change(item, None, f"Removed {item.name} from your history.", user)

    def undo(self) -> str:
        with self.lock:
            return self.journal.undo(lambda saved: setattr(self, "state", ConversationState.from_json(saved)))

    def history(self) -> list[Interaction]:
        return self.store.history(self.user_id)

    # ---------------------------------------------------------------- users
    def switch_user(self, name: str) -> str:
        name = clean_message(name).text[:64].strip()
        if not name:
            return "Which user? Type '/user NAME'."
        with self.lock:
            existed = self.store.user_exists(name)
            self._generation += 1  # a ranking for the previous user stops and never fills the list
            self.chat, self.new_chat = None, False
            self.state = ConversationState.from_json(self.writer.open(name, None, False))
            self.journal.start()
            self.user_name, self.last_plan, self.shown, self.shown_p_like = name, None, [], []
            n = len(self.history())
        return f"Now chatting as {name}" + (f" ({n} ratings)." if existed else " (new user).")

    # ------------------------------------------------------- chats and runs
    def log(self, role: str, content: str) -> None:
        """Keep the conversation: on disk at once, in the store with the turn's next write (its state)."""
        self.writer.outbox.append(self.writer.entry("message", role=role, content=content))

    def side_panel(self) -> SidePanel:
        runs = self.store.eval_runs(1)
        return SidePanel(self.history(), runs[0] if runs else None)

    def close(self) -> str:
        """A last try to write what waits on disk, then the connections closed; one line if some still waits."""
        note = self.writer.close()
        with self.store.lock:
            self.db.conn.close()
        return note
