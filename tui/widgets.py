"""The app's own widgets: the results table, the history list, the evaluation screen."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from db.eval_runs import EvalRun
from db.types import Interaction
from engine.evaluation.metrics import fmt
from engine.rank.recommend import Recommendation

from .roc_plot import roc_lines

BAR_WIDTH = 10


class TypingGoesToInput:
    """For the lists: a printable key that is none of their commands is typing, so it goes to the input box.

    Otherwise "recommend…" typed on the results disliked the selected row at the "d" and the text
    was lost. Keys that reach the list after focus left it (a burst outruns the focus change) are
    typing too, so only a key pressed while the list has focus can rate.
    """

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        if self.app.focused is self and event.key in self.app.active_bindings:
            return  # l, d, w, x, u, e, h, /: a deliberate command
        event.stop()
        event.prevent_default()
        box = self.screen.query_one(Input)
        self.screen.set_focus(box)
        box.insert_text_at_cursor(event.character)


def match_bar(match: float, top: float, width: int = BAR_WIDTH) -> Text:
    """How strongly the list puts the row first, as a bar relative to the first row (which fills it): the
    number the order comes from, so it never rises down the list."""
    share = max(0.0, min(1.0, match / top)) if top > 0 else 0.0
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    return Text("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else ""), "cyan")


class ResultsTable(TypingGoesToInput, DataTable):
    """Ranked items with two numbers, each under a heading a person reads: Match (what orders the list:
    how strongly the model puts it among your next likes, relative to the first row) and P(like) (the
    probability you like it once watched, the learned ranker's score calibrated); the LLM's own P(Yes) dim
    beside (… until it is scored).
    l / d rate the selected row, w explains it."""

    BINDINGS = [
        Binding("l", "app.rate(True)", "Like"),
        Binding("d", "app.rate(False)", "Dislike"),
        Binding("w", "app.why_selected", "Why?"),
    ]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("#", key="rank", width=3)
        self.add_column("Title", key="title", width=32)
        self.add_column("Year", key="year", width=4)
        self.add_column("Genres", key="genres", width=16)
        self.add_column("Match", key="match", width=BAR_WIDTH)  # what orders the list
        self.add_column("P(like)", key="p", width=9)  # if you watch it: the probability you like it (each member's)
        self.add_column("LLM", key="llm", width=5)  # the raw P(Yes): one input of P(like)

    def show(self, recs: list[Recommendation]) -> None:
        """Replace the rows, keeping the cursor on the same item when it is still listed."""
        keep = self.selected_item_id()
        self.clear()
        top = max((r.match for r in recs), default=0.0)
        for rank, r in enumerate(recs, 1):
            style = "green" if r.p_like >= 0.5 else "yellow" if r.p_like >= 0.3 else "red"
            p_like = Text(" ".join(f"{p:.2f}" for _, p in r.members), style) if r.members else Text(f"{r.p_like:.2f}", style)
            self.add_row(str(rank), Text(r.item.title), str(r.item.year or ""), Text(r.item.genres or r.item.creators),
                         match_bar(r.match, top), p_like, Text(f"{r.p_yes:.2f}" if r.p_yes == r.p_yes else "…", "dim"), key=str(r.item.id))
        if keep is not None and str(keep) in {str(r.item.id) for r in recs}:
            self.move_cursor(row=self.get_row_index(str(keep)))

    def selected_item_id(self) -> int | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None


class HistoryList(TypingGoesToInput, OptionList):
    """The user's ratings, newest first; x removes one.

    One widget drawing lines on demand, not a widget per rating: a history of 2,698 ratings (the
    largest ml-latest-small user) as ListItems made every repaint of the screen re-lay them all, and
    Enter -> first rows waited on the UI thread for it (docs/speed.md)."""

    BINDINGS = [Binding("x,delete", "app.remove_selected", "Remove")]

    def show(self, history: list[Interaction]) -> None:
        index = self.highlighted
        self.set_options(Option(Text.assemble(Text("✓ ", "green") if h.liked else Text("✗ ", "red"), h.name),
                                id=str(h.item_id)) for h in reversed(history))
        if index is not None and history:
            self.highlighted = min(index, len(history) - 1)

    @property
    def item_ids(self) -> list[int]:
        """The listed items' ids, newest first."""
        return [int(o.id) for o in self.options]

    def selected_item_id(self) -> int | None:
        option = self.highlighted_option
        return int(option.id) if option is not None else None


class EvalScreen(Screen):
    """Stored `engine eval` runs and the ROC curve of the highlighted one."""

    BINDINGS = [Binding("escape,q,e", "app.pop_screen", "Back")]

    def __init__(self, runs: list[EvalRun]):
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="runs", cursor_type="row")
            with Vertical(id="roc-panel"):
                yield Label("ROC curve", id="roc-title")
                yield Static(id="roc")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for label in ("Run", "Model", "Data", "K", "AUC", "GAUC", "like-share", "feature LR", "n", "When"):
            table.add_column(label, key=label)
        for run in self.runs:
            table.add_row(str(run.id), Text(_short(run.model, 30)), Text(_short(run.dataset, 24)), str(run.k or "-"),
                          fmt(run.auc, 3), fmt(run.gauc, 3), fmt(run.baseline("like_share"), 3),
                          fmt(run.baseline("feature_lr"), 3), str(run.metrics.get("n", "")), run.created_at,
                          key=str(run.id))
        if not self.runs:
            self.query_one("#roc", Static).update("No evaluation runs yet. Run:\n  engine eval --data test.json")
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        run = next((r for r in self.runs if str(r.id) == event.row_key.value), None)
        if run is None:
            return
        roc = run.metrics.get("roc")
        title = f"run {run.id}: AUC {fmt(run.auc, 3)}, GAUC {fmt(run.gauc, 3)}"
        self.query_one("#roc-title", Label).update(title)
        body = "\n".join(roc_lines(roc["fpr"], roc["tpr"])) if roc else "(this run stored no ROC points)"
        self.query_one("#roc", Static).update(Text(body))


def _short(s: str, n: int) -> str:
    from pathlib import Path

    name = Path(s).name or s
    return name if len(name) <= n else "…" + name[-(n - 1):]
