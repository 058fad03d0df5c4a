"""The chat: ask, see ranked items with P(like) (the learned ranker) and the LLM's P(Yes), like or dislike them, see history and offline AUC.

All SQLite and model work runs in thread workers (see engine.chat.session); the UI thread only draws
what they hand it through `call_from_thread`. Every worker's failure reaches one handler
(`on_worker_state_changed`): a one-line notice, never a traceback; a rating the store could not
take is kept on disk by the session (engine.chat.writer) and written when the store frees: by the flush
timer, at quit, or by the next chat on the store.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, Label, RichLog, Static
from textual.worker import Worker, WorkerState

from db.errors import RecchatError
from engine.chat.journal import DatabaseBusy
from engine.chat.planning import Plan
from engine.chat.replies import Reply, SidePanel
from engine.chat.session import ChatSession
from engine.chat.text import clean_message
from engine.evaluation.metrics import fmt
from engine.rank.recommend import Ranking

from .widgets import EvalScreen, HistoryList, ResultsTable

FLUSH_EVERY = 2.0  # seconds between tries to write ratings kept while the database was locked
QUIT_WAIT = 3.0  # seconds the exit waits for the chat's workers, then as long for a last write to the store


@dataclass
class Latency:
    """Seconds from Enter to the first rows and to the final ranking of the latest request."""

    asked_at: float = 0.0
    first_rows: float | None = None
    final: float | None = None


class UserCommands(Provider):
    """Command palette: "user NAME" switches to a stored user or creates a new one."""

    async def search(self, query: str) -> Hits:
        app: ChatApp = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        names = app.user_names  # loaded by a worker: the palette never waits on the store
        for name in names:
            score = matcher.match(f"user {name}")
            if score > 0:
                yield Hit(score, matcher.highlight(f"user {name}"), partial(app.switch_user, name),
                          help="switch to this user's history and chat")
        wanted = query.removeprefix("user").strip()
        if wanted and wanted not in names:
            yield Hit(1.0, f"new user {wanted}", partial(app.switch_user, wanted), help="create a user and switch to it")


class ChatApp(App):
    TITLE = "recchat"
    CSS = """
    #body { height: 1fr; }
    #main { width: 1fr; }
    #log { height: 1fr; min-height: 6; border: round $primary-background; padding: 0 1; }
    #status { height: 1; color: $text-muted; padding: 0 1; }
    #results { height: 14; border: round $primary-background; }
    #ask { margin: 0; }
    #side { width: 38; border-left: solid $primary-background; padding: 0 1; }
    #history { height: 1fr; border: none; padding: 0; text-wrap: nowrap; text-overflow: ellipsis; }
    #history > .option-list--option { padding: 0; }
    #auc { height: auto; padding-top: 1; color: $text-muted; }
    .panel-title { text-style: bold; }
    EvalScreen #runs { width: 1fr; }
    EvalScreen #roc-panel { width: 50; padding: 0 1; }
    """
    COMMANDS = App.COMMANDS | {UserCommands}
    BINDINGS = [
        Binding("slash", "focus_input", "Type"),
        Binding("escape", "focus_results", "Results", show=False),
        Binding("u", "undo", "Undo"),
        Binding("e", "eval", "Eval runs"),
        Binding("h", "focus_history", "History"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, session: ChatSession, *, autostart: bool = True):
        super().__init__()
        self.session = session
        self.autostart = autostart  # show first picks on start (tests may switch it off)
        self.latency = Latency()
        self.user_names: list[str] = []
        self.on_screen_user = session.user_name  # whom a key's rating is for: the user shown when it is pressed
        self.exit_note = ""  # the quit's one line when changes still wait on disk for the store

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield RichLog(id="log", wrap=True, markup=False, highlight=False)
                yield Static("", id="status")
                yield ResultsTable(id="results")
                # No select-all on focus: a key typed on a list lands here, and the next one must not replace it.
                yield Input(placeholder="Ask: something like Alien but funnier · 80s comedies · I liked Heat · help",
                            id="ask", select_on_focus=False)
            with Vertical(id="side"):
                yield Label("History  (x removes)", classes="panel-title")
                yield HistoryList(id="history")
                yield Static("", id="auc")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.session.user_name
        self.load_view()
        self.query_one("#ask", Input).focus()
        self.set_interval(FLUSH_EVERY, self._flush_tick)
        self.load_model()
        if self.autostart:
            self.greet()

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Evaluation runs", "Stored offline AUC runs and ROC curves (e)", self.action_eval)
        yield SystemCommand("Undo last rating", "Take back the last like, dislike or removal (u)", self.action_undo)
        yield SystemCommand("Help", "What the chat understands", lambda: self.submit("help"))

    # ---------------------------------------------------------------- output
    def say(self, text: str, role: str = "assistant", dim: bool = False) -> None:
        """One chat line. User text is plain Text, never markup, so '[bold]' or escapes print as typed."""
        who = Text("you  ", "bold cyan") if role == "user" else Text("rec  ", "bold magenta")
        self.query_one("#log", RichLog).write(Text.assemble(who, Text(text, "dim" if dim else "")))

    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    def fill_side(self, side: SidePanel) -> None:
        self.query_one("#history", HistoryList).show(side.history)
        auc = self.query_one("#auc", Static)
        if side.latest_run is not None:
            r = side.latest_run
            auc.update(Text(f"Latest offline eval (run {r.id}, K={r.k or '-'}):\nAUC {fmt(r.auc, 3)}  GAUC {fmt(r.gauc, 3)}\n"
                            f"like-share {fmt(r.baseline('like_share'), 3)}  feature LR {fmt(r.baseline('feature_lr'), 3)}\n"
                            "e: all runs and ROC"))
        else:
            auc.update(Text("No offline eval yet: engine eval --data test.json"))

    def show_log(self, messages: list[tuple[str, str]], clear: bool = False) -> None:
        log = self.query_one("#log", RichLog)
        if clear:
            log.clear()
        for role, content in messages:
            self.say(content, role=role, dim=True)

    # --------------------------------------------------------------- workers
    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's error lands: a one-line notice (ratings a locked store refused are kept)."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, RecchatError):
            text = f"{type(error).__name__}: {text}"
        self.say(f"Error: {text}")
        self.status(f"Error: {text}")

    def _refresh_side(self) -> None:
        """Runs inside a worker: read the side panel and the user names, hand them to the UI."""
        side = self.session.side_panel()
        names = self.session.store.users()
        self.call_from_thread(self._set_side, side, names)

    def _set_side(self, side: SidePanel, names: list[str]) -> None:
        self.user_names = names
        self.fill_side(side)

    @work(thread=True, group="view", exit_on_error=False)
    def load_view(self, clear: bool = False) -> None:
        """The log of the chat, the history panel and the latest eval run, read off the UI thread."""
        messages = self.session.store.recent_messages(self.session.chat_id, 10)
        self.call_from_thread(self.show_log, messages, clear)
        self._refresh_side()

    @work(thread=True, group="model", exit_on_error=False)
    def load_model(self) -> None:
        self.call_from_thread(self.status, "Loading model… (the first run builds it, about a minute)")
        try:
            name = self.session.load_model()
        except RecchatError as e:
            self.call_from_thread(self.status, f"Model error: {e}")
            self.call_from_thread(self.say, f"Cannot load the model: {e}. Ratings still work.")
            return
        self.call_from_thread(self.status, f"Model ready: {name}")
        self.call_from_thread(self.say, self.session.order_note[:1].upper() + self.session.order_note[1:] + ".", dim=True)
        for notice in self.session.notices:
            self.call_from_thread(self.say, notice, dim=True)

    @work(thread=True, group="chat", exit_on_error=False)
    def greet(self) -> None:
        n = len(self.session.history())
        if n == 0:
            text = (f"Welcome, {self.session.user_name}! Tell me what you like, as you would a friend ('I loved "
                    "Fargo and Pulp Fiction but hated Titanic'), or press Esc and rate these popular picks with l / d.")
        else:
            text = f"Welcome back, {self.session.user_name} ({n} ratings). Picks for you below; ask for anything else."
        if not self.session.state.empty:
            text += " Continuing this chat. " + self.session.understood() + " ('start over' clears it.)"
        self.call_from_thread(self.say, text)
        self._score(self.session.plan())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        event.input.value = ""
        self.latency = Latency(time.perf_counter())
        shown = clean_message(text).text
        if shown:
            self.say(shown, role="user")
        self.submit(text)

    @work(thread=True, group="chat", exit_on_error=False)
    def submit(self, text: str) -> None:
        self._show_reply(self.session.handle(text))

    def _show_reply(self, reply: Reply) -> None:
        self.call_from_thread(self.say, reply.text)
        if reply.user_changed:
            self.call_from_thread(self._user_switched, self.session.user_name,
                                  self.session.store.recent_messages(self.session.chat_id, 10))
            self._refresh_side()
            self._score(self.session.plan())
        if reply.rated:
            self._after_rating()
        elif reply.history_changed:
            self._refresh_side()
        if reply.open_eval:
            self._open_eval()
        if reply.explain_item is not None:
            self._explain(reply.explain_item)
        if reply.plan is not None and reply.plan.candidates:
            self._score(reply.plan)

    def _score(self, plan: Plan) -> None:
        """Runs inside a worker: show the first ranking after a few candidates, then the final one."""
        if not plan.candidates:
            self.call_from_thread(self._show_ranking, Ranking([], 0, 0))
            return
        self.call_from_thread(self._set_loading, True)
        try:
            for ranking in self.session.rank(plan):
                self.call_from_thread(self._show_ranking, ranking)
        except RecchatError as e:
            self.call_from_thread(self.say, f"Cannot score: {e}")
        finally:
            self.call_from_thread(self._set_loading, False)

    def _set_loading(self, on: bool) -> None:
        """A static note, not Textual's animated indicator: on 2 cores its redraws slow the scoring threads."""
        if on:
            self.status("Ranking… the list comes first, then the LLM's P(Yes) for each row")

    def _show_ranking(self, ranking: Ranking) -> None:
        table = self.query_one("#results", ResultsTable)
        table.show(ranking.items)
        lat = self.latency
        if lat.asked_at and lat.first_rows is None:
            lat.first_rows = time.perf_counter() - lat.asked_at
        if ranking.done:
            took = ""
            if lat.asked_at and lat.final is None:
                lat.final = time.perf_counter() - lat.asked_at
                took = f" in {lat.final:.1f} s"
            # Focus stays in the input: moved to the table, a typed "recommend…" disliked a row at its "d".
            self.status(f"Ranked; the LLM scored the {ranking.total} rows shown{took}. "
                        "Esc: select a result, then l like · d dislike · w why")
        else:
            self.status(f"Ranked; the LLM's P(Yes): {ranking.scored}/{ranking.total} rows…")

    def _explain(self, item) -> None:
        try:
            text = self.session.why(item).sentence()
        except RecchatError as e:
            text = f"Cannot explain: {e}"
        self.call_from_thread(self.say, text)

    def _after_rating(self) -> None:
        """Runs inside a worker: refresh the history panel, then re-rank the last request."""
        self._refresh_side()
        self._score(self.session.plan())

    def _user_switched(self, name: str, messages: list[tuple[str, str]]) -> None:
        self.sub_title = self.on_screen_user = name
        self.show_log(messages, clear=True)

    # --------------------------------------------------------------- actions
    def action_focus_input(self) -> None:
        self.query_one("#ask", Input).focus()

    def action_focus_results(self) -> None:
        self.query_one("#results", ResultsTable).focus()

    def action_focus_history(self) -> None:
        self.query_one("#history", HistoryList).focus()

    def action_rate(self, liked: bool) -> None:
        item_id = self.query_one("#results", ResultsTable).selected_item_id()
        if item_id is not None:
            self._rate(item_id, liked, self.on_screen_user)

    @work(thread=True, group="chat", exit_on_error=False)
    def _rate(self, item_id: int, liked: bool, user: str) -> None:
        item = self.session.store.item(item_id)
        self.call_from_thread(self.say, self.session.rate(item, liked, user))
        self._after_rating()

    def action_undo(self) -> None:
        self.submit("undo")

    def action_remove_selected(self) -> None:
        item_id = self.query_one("#history", HistoryList).selected_item_id()
        if item_id is not None:
            self._remove(item_id, self.on_screen_user)

    @work(thread=True, group="chat", exit_on_error=False)
    def _remove(self, item_id: int, user: str) -> None:
        self.call_from_thread(self.say, self.session.remove(self.session.store.item(item_id), user))
        self._after_rating()

    def action_why_selected(self) -> None:
        item_id = self.query_one("#results", ResultsTable).selected_item_id()
        if item_id is not None:
            self._why(item_id)

    @work(thread=True, group="chat", exit_on_error=False)
    def _why(self, item_id: int) -> None:
        item = self.session.store.item(item_id)
        self.call_from_thread(self.say, f"Working out why {item.name}…")
        self._explain(item)

    def action_eval(self) -> None:
        self.open_eval()

    @work(thread=True, group="view", exit_on_error=False)
    def open_eval(self) -> None:
        self._open_eval()

    def _open_eval(self) -> None:
        """Runs inside a worker: read the runs, then show them."""
        runs = self.session.store.eval_runs()
        self.call_from_thread(self.push_screen, EvalScreen(runs))

    def switch_user(self, name: str) -> None:
        self.submit(f"/user {name}")

    def _flush_tick(self) -> None:
        """Timer: start a flush only when changes wait on disk (a stat, no SQLite) and no flush runs (no pile-up)."""
        busy = any(w.group == "flush" and not w.is_finished for w in self.workers)
        if self.session.writer.waiting() and not busy:
            self.flush_pending()

    @work(thread=True, group="flush", exit_on_error=False)
    def flush_pending(self) -> None:
        if not self.session.writer.waiting():
            return
        try:
            n = self.session.journal.flush_pending()
        except DatabaseBusy:
            return
        if n:
            self.call_from_thread(self.say, f"The database is free again: saved {n} kept change(s).")
            self._refresh_side()

    async def action_quit(self) -> None:
        """Quit without losing what was said: let the chat's workers finish (a like pressed just before is on
        disk by then), try once more to write what waits for the store, and when another program still holds
        it leave the on-disk journal (the next chat writes it) and say so in one line. Waits about 2 × QUIT_WAIT
        at most."""
        self.status("Quitting: writing what waits for the store…")
        running = [w for w in self.workers if w.group in ("chat", "flush") and not w.is_finished]
        if running:
            await asyncio.wait([asyncio.ensure_future(_settled(w)) for w in running], timeout=QUIT_WAIT)
        try:
            self.exit_note = await asyncio.wait_for(asyncio.to_thread(self.session.close), QUIT_WAIT)
        except asyncio.TimeoutError:
            self.exit_note = self.session.writer.close_note()
        self.exit(message=self.exit_note or None)


async def _settled(worker: Worker) -> None:
    """A worker's end, whatever it was (its error was already shown)."""
    with suppress(Exception):
        await worker.wait()
