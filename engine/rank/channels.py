"""Where the learned ranker's candidates come from: several small channels, each named, their union
handed to the ranker with the channel(s) that brought each film (the `ch_*` features).

Why channels rather than one retrieval score with constants added (engine.rank.retrieval): a film nobody
rated scores below every well-rated film on EASE (its column is its content neighbours' mean, shrunk), so it
never reaches a collaborative top 50; a film that answers the describing words may be far down the person's
EASE order. Each channel proposes what it is good at, and the ranker (engine.rank.ltr) weighs them:

- collab: EASE from the person's likes, over films with ratings;
- seeds: the EASE row of "something like X";
- content: films most like the liked films and seeds by content (engine.collab.content_index), and, for half
  of its places, films nobody rated ordered by the collaborative score their content neighbours give them
  (engine.collab.content's cold map): this is where films nobody rated come from;
- words: films that answer the describing words or the genres asked for;
- popular: the most rated in the last months (IMDb votes for a film without ratings), for a person with little
  history and as a floor for everyone.
Every channel reads the columns of engine.rank.ltr_features.film_table, computed once per request.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .ltr_features import take
from .stack import Table

CHANNELS = ("collab", "seeds", "content", "words", "popular")


@dataclass(frozen=True)
class Sizes:
    """How many films each channel proposes (chosen on validation requests: bench/temporal.py)."""

    collab: int = 100
    seeds: int = 50
    content: int = 100
    words: int = 50
    popular: int = 30

    def scaled(self, factor: float) -> "Sizes":
        return Sizes(**{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)})

    def without(self, channel: str) -> "Sizes":
        return replace(self, **{channel: 0})


def _top(key: np.ndarray, n: int, valid: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Positions of the best `n` rows by `key` among `valid` ones, `tie` (popularity) breaking ties."""
    rows = np.flatnonzero(valid & ~np.isnan(key))
    if not len(rows) or n <= 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-tie[rows], -key[rows]))
    return rows[order[:n]]


def _nan0(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(x, nan=0.0)


def collab(t: Table, n: int) -> np.ndarray:
    """EASE from the likes, films with ratings only (a film nobody rated comes through `content`)."""
    return _top(t["ease_likes"], n, t["no_ratings"] == 0, t["est_popularity"])


def seeds(t: Table, n: int) -> np.ndarray:
    """"Something like X": X's own EASE row, any film."""
    return _top(t["ease_seeds"], n, np.ones(len(t["ids"]), bool), t["est_popularity"])


def content(t: Table, n: int) -> np.ndarray:
    """Half by content likeness to the liked films and seeds, half among films nobody rated by the score their
    content neighbours give them (the cold map's EASE from the seeds, else from the likes)."""
    like = np.fmax(t["content_max"], t["seed_content"])
    near = _top(like, n - n // 2, like > 0, t["est_popularity"])
    cold = np.where(np.isnan(t["ease_seeds"]), t["ease_likes"], t["ease_seeds"])
    unrated = t["no_ratings"] == 1
    fresh = _top(cold, n // 2, unrated & ~np.isin(np.arange(len(cold)), near), t["est_popularity"])
    if len(fresh) < n // 2:  # no likes or seeds: the unrated films most like them by content
        fresh = np.concatenate([fresh, _top(like, n // 2 - len(fresh), unrated & ~np.isin(np.arange(len(like)),
                                                                                         np.concatenate([near, fresh])),
                                            t["est_popularity"])])
    return np.concatenate([near, fresh]).astype(np.int64)


def words(t: Table, n: int) -> np.ndarray:
    """Films answering the describing words (their relevance) or the genres asked for, best answers first,
    then by EASE from the likes."""
    asked = _nan0(t["words"]) + _nan0(t["genre_match"])
    key = asked + 1e-3 * np.tanh(_nan0(t["ease_likes"]))
    return _top(key, n, asked > 0, t["est_popularity"])


def popular(t: Table, n: int) -> np.ndarray:
    """The most rated in the recent months; a film without ratings by its IMDb votes' estimate when it has votes."""
    key = np.where((t["no_ratings"] == 1) & ~np.isnan(t["log_votes"]), t["est_popularity"], t["recent_log"])
    return _top(key, n, np.ones(len(key), bool), t["est_popularity"])


PICKERS = {"collab": collab, "seeds": seeds, "content": content, "words": words, "popular": popular}


def channel_ranks(t: Table, sizes: Sizes) -> dict[str, np.ndarray]:
    """Each row's place in each channel's list (inf where the channel did not propose it)."""
    out = {}
    for name in CHANNELS:
        rank = np.full(len(t["ids"]), np.inf)
        rows = PICKERS[name](t, getattr(sizes, name))
        rank[rows] = np.arange(len(rows))
        out[name] = rank
    return out


def flags(ranks: dict[str, np.ndarray], sizes: Sizes) -> dict[str, np.ndarray]:
    """Each row's `ch_*` feature: 1 where the channel proposes it under `sizes`."""
    return {f"ch_{c}": (ranks[c] < getattr(sizes, c)).astype(np.float64) for c in CHANNELS}


def pick(ranks: dict[str, np.ndarray], sizes: Sizes) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(rows in the union, each row's channel flags) for `sizes` no larger than those `ranks` were made with:
    a smaller union is the larger one's prefix per channel, so one table serves every size tried."""
    flags_ = flags(ranks, sizes)
    rows = np.flatnonzero(np.any([flags_[f"ch_{c}"] > 0 for c in CHANNELS], axis=0))
    return rows, {k: v[rows] for k, v in flags_.items()}


def candidates(t: Table, sizes: Sizes) -> Table:
    """The union of every channel's films, with their `ch_*` flags: what the ranker orders."""
    rows, flags = pick(channel_ranks(t, sizes), sizes)
    return {**take(t, rows), **flags}
