"""The served order: the learned ranker (engine.rank.ltr) over the channels' candidates, reading the catalog's
signals as they stand in the store (the collaborative model, the content index, when films were rated).

Why the catalog's own clock rather than today's date: recency ("rated in the last 12 months") is what the
ranker learned from, and a MovieLens release ends years ago; read against today, every film would be
equally stale. The clock is a high quantile of the catalog's rating times, so a person's own recent ratings
(the chat's, an imported Letterboxd diary) do not move it.

Which ranker: one fitted on this catalog (the user's folder `rankers/<catalog>/`, then the shipped ones), else
the shipped ranker of ml-latest-small, said as a fallback (bench/temporal.py --out writes one). Its features are ranks, logs
and shares, so they read the same on another catalog; docs/ltr.md measures it on ML-100K.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import sqlite_utils

from db.feedback import rating_times
from db.knowledge import film_facts
from db.paths import data_dir
from engine.collab.content_index import ContentIndex
from engine.collab.model import CollabModel

from .channels import Sizes, candidates, channel_ranks, flags
from .ltr import LearnedRanker, is_cold
from .ltr_features import film_table, take
from .signals import Ask, Recency, Signals
from .stack import Table

SHIPPED_RANKERS = Path(__file__).resolve().parent / "rankers"
DEFAULT_RANKER = "ml-latest-small"
CLOCK_QUANTILE = 0.999  # the catalog's "now": a person's own few hundred recent ratings do not move it


def user_rankers_dir() -> Path:
    return data_dir() / "rankers"


def ranker_folder(dataset: str, base: Path | None = None) -> Path:
    return (base or user_rankers_dir()) / dataset


@dataclass(frozen=True)
class RankerChoice:
    ranker: LearnedRanker
    note: str  # which ranker orders, in words (the chat and `engine recommend` say it)


def choose_ranker(dataset: str | None) -> RankerChoice:
    """The ranker fitted on `dataset` (the user's own fit first, then a shipped one), else the shipped default."""
    dataset = dataset or DEFAULT_RANKER
    for base, whose in ((user_rankers_dir(), "your"), (SHIPPED_RANKERS, "the shipped")):
        folder = ranker_folder(dataset, base)
        if (folder / "ranker.json").exists():
            ranker = LearnedRanker.load(folder)
            return RankerChoice(ranker, f"ordered by {whose} learned ranker fitted on {dataset}")
    ranker = LearnedRanker.load(ranker_folder(DEFAULT_RANKER, SHIPPED_RANKERS))
    return RankerChoice(ranker, f"ordered by the learned ranker fitted on {DEFAULT_RANKER} (none is fitted on "
                                f"{dataset}; its features are ranks and shares, read the same way here)")


def catalog_clock(times: np.ndarray) -> float:
    """The catalog's now: a high quantile of its rating times (0 for a catalog nobody rated)."""
    return float(np.quantile(times, CLOCK_QUANTILE)) if len(times) else 0.0


def catalog_signals(db: sqlite_utils.Database, domain: str, collab: CollabModel) -> Signals:
    """The signals a served request reads, from the store (a second or two on ml-latest-small: built once per
    session, and again only with a new collaborative model through `Order.with_collab`)."""
    items, times = rating_times(db, domain)
    at = catalog_clock(times) + 1.0  # Recency keeps events strictly before its time
    return Signals(collab, ContentIndex.build(film_facts(db, domain)), Recency.from_events(items, times, at))


@dataclass(frozen=True)
class Ordered:
    """One request's candidates in the ranker's order: their feature rows (for "why"), keys and P(like)."""

    table: Table
    keys: np.ndarray
    p_like: np.ndarray
    cold: bool

    def row(self, k: int) -> Table:
        return take(self.table, np.array([k]))


@dataclass(frozen=True)
class Order:
    """The ranker with the signals it reads: what `retrieve` orders candidates by."""

    ranker: LearnedRanker
    signals: Signals
    note: str = ""

    @property
    def collab(self) -> CollabModel:
        return self.signals.collab

    @property
    def at(self) -> float:
        return self.signals.recency.at

    @property
    def sizes(self) -> Sizes:
        return Sizes(**self.ranker.fitted_on.get("sizes", {}))

    def as_of(self, items, times, at: float) -> "Order":
        """The same order asked at `at` (recency from the rating events before it: Signals.as_of)."""
        return replace(self, signals=self.signals.as_of(items, times, at))

    def with_collab(self, collab: CollabModel) -> "Order":
        """The same order over a refitted collaborative model (the content and the clock stay)."""
        return self if collab is self.signals.collab else replace(self, signals=replace(self.signals, collab=collab))

    def rank(self, ask: Ask, ids, gems: np.ndarray | None = None) -> Ordered:
        """The channels' union of the eligible `ids`, best first. `gems` (a mask over `ids`): the channels also
        propose from these films alone, so a "hidden gems" list has enough of them to choose from."""
        full = film_table(self.signals, ask, ids)
        table = candidates(full, self.sizes)
        if gems is not None and gems.any():
            extra = candidates(take(full, gems), self.sizes)
            new = ~np.isin(extra["ids"], table["ids"])
            table = {k: np.concatenate([table[k], extra[k][new]]) for k in table}
        keys = self.ranker.key(table)
        order = np.lexsort((table["ids"], -keys))
        cold = bool(len(keys)) and bool(is_cold(table)[0])
        return Ordered(take(table, order), keys[order], self.ranker.p_like(keys[order], cold), cold)

    def films(self, ask: Ask, ids, rated=()) -> Ordered:
        """P(like) of the films `ids` (kept in that order) for `ask`, their features and channel flags read against
        every film not `rated` (ranks and channels compare a film with the others): a group's pool scored for
        each member in turn, a "why" about a film not on screen."""
        ids = np.asarray(list(ids), dtype=np.int64)
        unrated = np.setdiff1d(self.signals.content.item_ids, np.asarray(list(rated), dtype=np.int64))
        full = film_table(self.signals, ask, np.union1d(unrated, ids))
        table = take({**full, **flags(channel_ranks(full, self.sizes), self.sizes)}, np.searchsorted(full["ids"], ids))
        keys = self.ranker.key(table)
        cold = bool(len(keys)) and bool(is_cold(table)[0])
        return Ordered(table, keys, self.ranker.p_like(keys, cold), cold)

    def contributions(self, row: Table) -> dict[str, float]:
        """Each feature's exact part of one candidate's score (the ranker's pred_contrib)."""
        return self.ranker.contributions(row, 0)


def serving_order(db: sqlite_utils.Database, domain: str, collab: CollabModel, dataset: str | None) -> Order:
    """The order a store's requests are ranked by: the chosen ranker over the store's signals."""
    choice = choose_ranker(dataset)
    return Order(choice.ranker, catalog_signals(db, domain, collab), choice.note)
