"""Temporal cuts of a catalog's ratings: what was known at a moment, and what came in the months after.

Why time, not each user's last ratings (engine.evaluation.holdout): a film released after the ratings has
no ratings and no tags at the moment a person asks, and only a cut in time makes films new. Each cut knows
the ratings before `at` (the collaborative model, the like-rates, popularity and its recency are fitted on
them alone) and the tags applied before `at` (tag events with their times; without them, a film first rated
after `at` loses its tags, as bench/new_films.py does). Films first rated in the window [at, until) are
"new": they reach the models only through their content (engine.collab.content's cold map).

The catalog at a cut is what a release published at the window's end would hold: the films rated by then.
The last cut's catalog is the whole release, so every earlier cut is built the same way, and the ranker
learns on the task it is measured on. (A MovieLens release holds only films someone rated, so a film
without ratings in it will be rated within the window: the same for every ranker compared.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from db.feedback import Feedback
from db.knowledge import FilmFacts
from db.types import Interaction
from engine.collab.content import fit_cold_map
from engine.collab.content_index import ContentIndex
from engine.collab.model import CollabModel
from engine.rank.signals import DAY, MONTH, Recency, Signals

TagEvent = tuple[int, str, float]  # (item id, tag, time applied)


@dataclass(frozen=True)
class Cut:
    at: float  # what is known: ratings before this time
    until: float  # the window: ratings in [at, until) are the future
    history: dict[int, list[Interaction]]  # per user, ratings before `at`, oldest first
    future: dict[int, list[Interaction]]  # per user, ratings in the window, oldest first
    new: frozenset[int]  # films first rated in the window
    catalog: np.ndarray  # the films that exist at `at`

    @property
    def year(self) -> float:
        return 1970.0 + self.at / (365.25 * DAY)

    def later_likes(self, user_id: int) -> list[int]:
        return [h.item_id for h in self.future.get(user_id, []) if h.liked]


def cut(timelines: dict[int, list[Interaction]], films: list[FilmFacts], at: float, until: float) -> Cut:
    history: dict[int, list[Interaction]] = {}
    future: dict[int, list[Interaction]] = {}
    first: dict[int, float] = {}
    for u, events in timelines.items():
        for h in events:
            if h.ts < at:
                history.setdefault(u, []).append(h)
            elif h.ts < until:
                future.setdefault(u, []).append(h)
            if h.ts < until:
                first[h.item_id] = min(first.get(h.item_id, np.inf), h.ts)
    new = frozenset(i for i, t in first.items() if t >= at)
    catalog = np.array(sorted(f.item_id for f in films if f.item_id in first), dtype=np.int64)
    return Cut(at, until, history, future, new, catalog)


def rolling_cuts(timelines: dict[int, list[Interaction]], films: list[FilmFacts], end: float, months: float,
                 inner: int) -> tuple[Cut, list[Cut]]:
    """The test cut (the last `months` before `end` are the future) and `inner` cuts before it, each window
    `months` long and ending where the next begins: every inner window lies on the fitting side."""
    test_at = end - months * MONTH
    test = cut(timelines, films, test_at, end + 1.0)
    inner_cuts = [cut(timelines, films, test_at - k * months * MONTH, test_at - (k - 1) * months * MONTH)
                  for k in range(1, inner + 1)]
    return test, inner_cuts


def films_at(films: list[FilmFacts], at: float, rated_before: set[int], tag_events: list[TagEvent] | None) -> list[FilmFacts]:
    """Each film's knowledge at `at`: the tags applied before it (or, without tag times, no tags on a film
    nobody had rated yet)."""
    if tag_events is None:
        return [f if f.item_id in rated_before else replace(f, tags={}) for f in films]
    counts: dict[int, Counter] = {}
    for item_id, tag, ts in tag_events:
        if ts < at:
            counts.setdefault(item_id, Counter())[tag] += 1
    return [replace(f, tags=dict(counts.get(f.item_id, {}))) for f in films]


def fit_signals(c: Cut, films: list[FilmFacts], tag_events: list[TagEvent] | None = None,
                cache: Path | None = None) -> tuple[Signals, list[FilmFacts]]:
    """The served collaborative model (EASE with its cold map), the content index and recency at the cut,
    from the ratings before it only; and the films as known then. `cache`: a folder keeping each cut's fit
    (a fit on ml-latest-small takes about 35 s)."""
    users, items, liked, ts = [], [], [], []
    for u, events in c.history.items():
        for h in events:
            users.append(u)
            items.append(h.item_id)
            liked.append(int(h.liked))
            ts.append(h.ts)
    known = films_at(films, c.at, set(items), tag_events)
    path = cache / f"collab-{int(c.at)}.npz" if cache is not None else None
    if path is not None and path.exists():
        model = CollabModel.load(path)
    else:
        model = CollabModel.fit(Feedback(np.array(users), np.array(items), np.array(liked)))
        model = model.with_cold(fit_cold_map(known, model.item_ids, model.popularity(model.item_ids)))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
    return Signals(model, ContentIndex.build(known), Recency.from_events(items, ts, c.at)), known
