"""What the session answers with: a `Reply` to a message, the side panel's contents, and the reply to
"why X" (which row or title it means, before the model explains it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from db.errors import RecchatError
from db.eval_runs import EvalRun
from db.fileio import place_file
from db.types import Interaction, Item
from engine.llm.explain import Explanation
from engine.rank.reasons import Why, reasons_for
from engine.rank.recommend import request_ask
from engine.rank.retrieval import Query
from engine.rank.served import Order
from engine.sources.export import list_rows, write_list
from engine.vocab.mentions import keys, title_forms

from . import notices
from .intent import Intent
from .planning import Plan
from .store import ChatStore


@dataclass(frozen=True)
class SidePanel:
    """What the app's side panel shows, read in one go by a worker."""

    history: list[Interaction]
    latest_run: EvalRun | None


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
class WhyAnswer:
    """"why X": what ordered it (the learned ranker's parts, the films and words behind them), then the LLM's own
    leave-one-out over the ratings its prompt showed, as one line of it."""

    why: Why
    llm: Explanation | None = None

    def sentence(self) -> str:
        text = self.why.sentence()
        if self.llm is not None and self.llm.influences:
            inf = self.llm.influences[0]
            verb = "liked" if inf.rating.liked else "disliked"
            way = "raises" if inf.delta > 0 else "lowers"
            text += (f" The LLM alone (P(Yes) {self.llm.p_yes:.2f}): that you {verb} {inf.rating.name} {way} "
                     f"its P(Yes) by {abs(inf.delta):.2f}.")
        return text


def export_list(path: str, shown: list[Item], p_like: list[float], store: ChatStore, replace: bool = False) -> str:
    """The list on screen as a file to import elsewhere (Letterboxd's list import for .csv).

    An existing file is never replaced unless asked ("export to x.csv, replace it"): a notes.md a person
    keeps must not vanish under a list. Written whole or not at all (a temp file, then a rename or a link)."""
    if not shown:
        return "There is no list on screen yet: ask for something first."
    named = path or time.strftime("recchat-list-%Y%m%d-%H%M.csv")
    target = Path(named).expanduser()
    refusal = (f"Not exported: {target} exists; say 'export to {named}, replace it' to overwrite, or give another name.")
    if target.exists() and not replace:
        return refusal
    rows = list_rows(shown, store.imdb_ids([i.id for i in shown]), p_like)
    try:
        with place_file(target, replace) as tmp:
            write_list(tmp, rows)
    except FileExistsError:  # made by someone else while the list was written
        return refusal
    except RecchatError as e:
        return f"Not exported: {e}"
    note = " (Letterboxd's list import: Title, Year, imdbID)" if target.suffix.lower() == ".csv" else ""
    return f"Wrote {len(rows)} films to {target}{note}."


def why_answer(item: Item, plan: Plan | None, history: list[Interaction], order: Order, llm: Explanation,
               words) -> WhyAnswer:
    """What ordered `item` (`plan`: the request that put it on screen, None when it is not there): the learned
    ranker's parts of its score, with the LLM's own leave-one-out over `history`, the ratings its prompt showed."""
    cand = next((c for c in plan.candidates if c.item.id == item.id), None) if plan else None
    seeds = {s.id: s.name for s in plan.seeds} if plan else {}
    liked = {h.item_id for h in (plan.own if plan else history) if h.liked}
    history = [h for h in history if not (h.liked and h.item_id in seeds and h.item_id not in liked)]  # seeds only
    if cand is not None and cand.features is not None:
        row, p_like = cand.features, cand.p_like
    else:  # not on screen: scored now, for the person's history alone
        one = order.films(request_ask(history, (), (), Query(), None, order.at), [item.id], {h.item_id for h in history})
        row, p_like = one.table, float(one.p_like[0])
    why = reasons_for(item, row, order.contributions(row), order.collab, history, seeds=tuple(seeds), words=words,
                      names=seeds, ordered_by=order.note, p_like=p_like)
    return WhyAnswer(why, llm)


def why_reply(intent: Intent, shown: list[Item], store: ChatStore) -> Reply:
    """ "why the first one", "why Alien": the item meant, or a reply saying why there is none."""
    if intent.position is not None and not -len(shown) <= intent.position < len(shown):
        row = intent.title[4:] if intent.title.lower().startswith("the ") else intent.title
        return Reply(f"There is no {row} on screen: the list shows {len(shown)} rows."
                     if shown else "There is no list on screen yet: ask for something first.")
    item = shown[intent.position] if intent.position is not None else why_target(intent, shown)
    if item is None:
        return Reply(notices.unknown_title(intent.title, store.close_matches(intent.title)) if intent.title
                     else "Why what? Select a result and press w, or type 'why <title>'.")
    return Reply(f"Working out why {item.name}…", explain_item=item)


def why_target(intent: Intent, shown: list[Item]) -> Item | None:
    if intent.title:
        key = keys(intent.title)
        for item in shown:  # prefer what is on screen: "why Alien" means the Alien shown
            if keys(item.name) == key or any(form == key for form, _ in title_forms(item.title)):
                return item
    return intent.item
