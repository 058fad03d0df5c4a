"""What the learned ranker reads: one request (`Ask`) and the catalog's signals at the time it is made
(`Signals`: the collaborative model, the content index, when films were rated).

Why a request object of its own rather than retrieval's `Query`: the learned order needs the person's likes
and dislikes apart from the seeds ("something like X"), the describing words as a relevance function
(engine.vocab.describe.Vocabulary.score, passed in: engine.rank does not import the vocabulary), and the
request's time (recency is a feature, and an offline request is made in the past).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from engine.collab.content_index import ContentIndex
from engine.collab.model import CollabModel

DAY = 86_400.0
MONTH = 30.44 * DAY
RECENT_MONTHS = 12  # "recent" popularity: ratings in the year before the request (bench/time_aware.py: recent beats all-time)


@dataclass(frozen=True)
class Ask:
    """One request as the ranker reads it. `liked`/`disliked`: the person's ratings, oldest first; `seeds`:
    "something like X" (not ratings); `genres`: genres asked for (a preference); `relevance`: how well each
    store id answers the describing words (-1..1), None when there are none; `at`: when it is asked."""

    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seeds: tuple[int, ...] = ()
    genres: tuple[str, ...] = ()
    relevance: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    at: float = 0.0

    @property
    def rated(self) -> int:
        return len(self.liked) + len(self.disliked)


@dataclass(frozen=True)
class Recency:
    """Per rated film: when it was first rated and how many ratings it drew in the RECENT_MONTHS before `at`."""

    item_ids: np.ndarray  # sorted
    first: np.ndarray  # unix seconds
    recent: np.ndarray  # ratings in the recent window
    at: float

    @classmethod
    def from_events(cls, items, ts, at: float, months: float = RECENT_MONTHS) -> "Recency":
        """From every rating event (item, time) made before `at`; later ones are ignored."""
        items, ts = np.asarray(items, dtype=np.int64), np.asarray(ts, dtype=np.float64)
        keep = ts < at
        items, ts = items[keep], ts[keep]
        ids, inverse = np.unique(items, return_inverse=True)
        first = np.full(len(ids), np.inf)
        np.minimum.at(first, inverse, ts)
        recent = np.bincount(inverse, weights=(ts >= at - months * MONTH).astype(float), minlength=len(ids))
        return cls(ids, first, recent, at)

    @classmethod
    def empty(cls, at: float = 0.0) -> "Recency":
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), at)

    def lookup(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(first rating time, NaN if never rated; recent ratings, 0 if none) of each id."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.item_ids):
            return np.full(len(ids), np.nan), np.zeros(len(ids))
        pos = np.minimum(np.searchsorted(self.item_ids, ids), len(self.item_ids) - 1)
        hit = self.item_ids[pos] == ids
        return np.where(hit, self.first[pos], np.nan), np.where(hit, self.recent[pos], 0.0)


@dataclass
class Signals:
    """The catalog as it stood when a request is made: `collab` is the served model (with its cold map, so a
    film nobody rated has a collaborative score from its content neighbours)."""

    collab: CollabModel
    content: ContentIndex
    recency: Recency

    def as_of(self, items, times, at: float) -> "Signals":
        """The same signals with recency counted from the rating events (`items`, `times`) before `at`: a
        request made at its own time (a hold-out person's latest rating, a temporal cut)."""
        return replace(self, recency=Recency.from_events(items, times, at))
