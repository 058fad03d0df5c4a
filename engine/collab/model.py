"""The collaborative model over the store: EASE on the liked matrix (ALS past EASE_MAX_ITEMS items), plus
item like-rates and popularity.

Why EASE (Steck 2019): a closed form (one n_items x n_items inverse, about a second on ML-100K),
no epochs or seeds, and on the full-catalog hold-out it beats popularity, item-kNN and ALS
(docs/results.md). Its n² memory and n³ time rule it out past about 10,000 items; there ALS serves,
folded into the same item-item form (`plan_fit`, docs/engine.md). It scores a user by the items they liked, so it folds in a new user or a new
rating at request time without refitting; only the item-item weights come from the fit.

The fit reads `current_feedback` (all users; a retracted rating is gone). Item statistics (like
counts, rating counts) are kept beside the weights so features and retrieval read one snapshot.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from db.errors import RecchatError
from db.feedback import Feedback, StoreMark
from db.fileio import atomic_path
from db.item_stats import smoothed_rate
from db.types import Interaction

from .content import ColdMap
from .mapped import map_member

EASE_BYTES_PER_CELL = 36  # measured peak bytes per items² cell of a fit (Gram, inverse, LAPACK's copy, weights)
EASE_LAMBDA = 250.0  # L2 on the item-item weights; 250 is the measured setting on ML-100K liked
EASE_MAX_ITEMS = 10_000  # beyond this EASE's n³ inverse takes minutes (15,000 items: 111 s, 7.6 GB): ALS serves
ALS_FACTORS = 64  # ALS as eval-catalog's classic row: 64 factors, L2 0.05, 15 sweeps, confidence 1
ALS_REG = 0.05
ALS_ITERATIONS = 15
# ALS's peak, fitted on bench/scale.py's ML-20M and BookCrossing shapes (docs/scale.md): 82 bytes per rating
# (the read's arrays and sort, the liked matrix both ways, implicit's copies) and 660 per user or item row,
# over about 90 MB of interpreter and libraries; the estimate keeps a margin above both.
ALS_BYTES_PER_RATING = 100
ALS_BYTES_PER_ROW = 4 * ALS_FACTORS * 4  # 1 KiB: factors of a user or item, with the solver's copies
KINDS = ("ease", "als")
TIE_BREAK = 1e-6  # popularity's weight beside a collaborative score
FORMAT_VERSION = 4  # bump when the cached file layout or the fit changes (4: films without ratings, ColdMap)


def memory_budget() -> int:
    """Bytes a collaborative fit may take: RECCHAT_MAX_MEMORY ("12G", "800M" or bytes), else half the
    machine's memory (the rest is the LLM's and the system's)."""
    raw = os.environ.get("RECCHAT_MAX_MEMORY", "").strip().upper()
    if not raw:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(raw[-1:], 1)
    try:
        return int(float(raw.rstrip("KMGTB") if scale > 1 else raw) * scale)
    except ValueError:
        raise RecchatError(f"RECCHAT_MAX_MEMORY={raw!r} is not a size (e.g. 12G, 800M)") from None


def size_text(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def requested_kind() -> str:
    """RECCHAT_COLLAB_MODEL: auto (the default: EASE up to EASE_MAX_ITEMS, ALS beyond), ease or als."""
    kind = os.environ.get("RECCHAT_COLLAB_MODEL", "").strip().lower() or "auto"
    if kind not in ("auto", *KINDS):
        raise RecchatError(f"RECCHAT_COLLAB_MODEL={kind!r}: expected auto, ease or als")
    return kind


@dataclass(frozen=True)
class FitPlan:
    """Which collaborative model a catalog gets, what its fit needs at its peak, and why (the notice)."""

    kind: str
    need: int  # bytes, estimated peak
    why: str


def fit_need(kind: str, n_items: int, n_ratings: int = 0, n_users: int = 0) -> int:
    """Estimated peak bytes of a fit: EASE grows with items², ALS with the ratings and the rows."""
    if kind == "ease":
        return EASE_BYTES_PER_CELL * n_items * n_items
    return ALS_BYTES_PER_RATING * n_ratings + ALS_BYTES_PER_ROW * (n_items + n_users)


def plan_fit(n_items: int, n_ratings: int = 0, n_users: int = 0, budget: int | None = None) -> FitPlan:
    """Choose the model for a catalog and refuse, before anything is allocated, a fit over the memory budget.

    EASE wherever it is cheap (up to EASE_MAX_ITEMS items and within the budget): it ranks best on
    ML-100K's full-catalog hold-out. Beyond that ALS, whose fit grows with the ratings, not items²."""
    budget = memory_budget() if budget is None else budget
    kind = requested_kind()
    ease = fit_need("ease", n_items)
    if kind == "auto":
        if n_items > EASE_MAX_ITEMS:
            kind, why = "als", f"{n_items:,} items > {EASE_MAX_ITEMS:,}: EASE's items² inverse would take minutes"
        elif ease > budget:
            kind, why = "als", f"EASE over {n_items:,} items would need {size_text(ease)}, over the budget"
        else:
            kind, why = "ease", f"{n_items:,} items"
    else:
        why = "RECCHAT_COLLAB_MODEL"
    need = fit_need(kind, n_items, n_ratings, n_users)
    if need > budget:
        what = ("EASE, a dense items × items inverse" if kind == "ease" else "ALS")
        raise RecchatError(f"the collaborative model ({what}) over {n_items:,} items and {n_ratings:,} ratings "
                           f"needs about {size_text(need)}, over the memory budget of {size_text(budget)}: "
                           "raise RECCHAT_MAX_MEMORY if the machine has it")
    return FitPlan(kind, need, why)


def fit_state(domain: str) -> str:
    """What a fit's settings are: the domain, the file layout, the model asked for and its settings. A cached
    model with other settings is refitted; one fitted on an older store is served while a refit catches up
    (engine.collab.cache)."""
    return f"v{FORMAT_VERSION}:{domain}:{requested_kind()}:l{EASE_LAMBDA:g}:f{ALS_FACTORS}"


class DenseWeights:
    """EASE's item-item weights: score(j) = sum over liked items i of B[i, j]."""

    kind = "ease"

    def __init__(self, B: np.ndarray):
        self.B = B

    def row_sum(self, rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return self.B[rows].sum(axis=0) if weights is None else weights.astype(np.float32) @ self.B[rows]

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.B[np.ix_(rows, cols)]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.B}


class LowRankWeights:
    """ALS folded in as item-item weights: a user who liked L gets x = (Y'Y + reg I)^-1 sum_{i in L} y_i
    (implicit's recalculate_user with confidence 1), so score(j) = y_j · x = sum over i of left[i] · right[j]
    with left = Y (Y'Y + reg I)^-1, right = Y: the same sums EASE's weights give, never n × n."""

    kind = "als"

    def __init__(self, left: np.ndarray, right: np.ndarray):
        self.left, self.right = left, right

    def row_sum(self, rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        left = self.left[rows].sum(axis=0) if weights is None else weights.astype(np.float32) @ self.left[rows]
        return self.right @ left

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.left[rows] @ self.right[cols].T

    def arrays(self) -> dict[str, np.ndarray]:
        return {"left": self.left, "right": self.right}


def _columns_of(items: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Column of each id in `items` (-1 where absent), vectorised: 20M ratings map in seconds, not minutes."""
    if not len(items):
        return np.full(len(ids), -1, dtype=np.int64)
    order = np.argsort(items, kind="stable")
    found = order[np.minimum(np.searchsorted(items, ids, sorter=order), len(items) - 1)]
    return np.where(items[found] == ids, found, -1).astype(np.int64)


def _gather(values: np.ndarray, cols: np.ndarray, unknown: float = 0.0) -> np.ndarray:
    """values[col] for known columns, `unknown` for -1: never indexes an empty model's arrays."""
    out = np.full(len(cols), unknown, dtype=np.float64)
    known = cols >= 0
    out[known] = values[cols[known]]
    return out


def _ease(X: sp.csr_matrix, lam: float) -> DenseWeights:
    """EASE: B = I - P / diag(P) with P = (X'X + lam I)^-1 over the liked matrix X (users x items)."""
    n = X.shape[1]
    gram = (X.T @ X).toarray()
    gram[np.diag_indices(n)] += lam
    P = np.linalg.inv(gram)
    B = P / (-np.diag(P))
    B[np.diag_indices(n)] = 0.0
    return DenseWeights(B.astype(np.float32))


@contextmanager
def quiet_implicit() -> Iterator[None]:
    """implicit asks for single-threaded BLAS and warns otherwise; every fit of it runs inside this."""
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore")
        yield


def als_algorithm(seed: int = 0):
    """implicit's ALS with the settings that serve large catalogs and that eval-catalog's ALS row reports."""
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=ALS_FACTORS, regularization=ALS_REG, iterations=ALS_ITERATIONS,
                                   random_state=seed)


def _als(X: sp.csr_matrix, seed: int = 0) -> LowRankWeights:
    """implicit's ALS on the liked rows of X, folded into item-item form (LowRankWeights)."""
    liked_rows = X[np.diff(X.indptr) > 0].astype(np.float32)
    with quiet_implicit():  # its constructor warns about BLAS threads too
        als = als_algorithm(seed)
        als.fit(liked_rows, show_progress=False)
    Y = np.asarray(als.item_factors, dtype=np.float64)
    solve = np.linalg.inv(Y.T @ Y + ALS_REG * np.eye(Y.shape[1]))
    return LowRankWeights((Y @ solve).astype(np.float32), Y.astype(np.float32))


@dataclass
class CollabModel:
    """Item-item weights (EASE, or ALS in the same form) and item statistics over `item_ids` (store ids,
    one per column)."""

    item_ids: np.ndarray
    weights: DenseWeights | LowRankWeights
    likes: np.ndarray  # per item: current likes
    seen: np.ndarray  # per item: current ratings
    state: str = ""  # fit_state: the settings it was fitted with
    mark: StoreMark = StoreMark()  # where the store stood at the fit: what a refit check counts from
    cold: ColdMap = field(default_factory=ColdMap.empty)  # films without ratings, placed by their content
    _order: np.ndarray = field(init=False, repr=False, compare=False)  # columns() searches the ids sorted
    _sorted_ids: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.concatenate([np.asarray(self.item_ids, dtype=np.int64), self.cold.item_ids])
        self._order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._order]

    def with_cold(self, cold: ColdMap) -> "CollabModel":
        """The same fit with films without ratings given columns past the rated ones (engine.collab.content)."""
        return CollabModel(self.item_ids, self.weights, self.likes, self.seen, self.state, self.mark, cold)

    @property
    def kind(self) -> str:
        return self.weights.kind

    @property
    def global_rate(self) -> float:
        total = float(self.seen.sum())
        return float(self.likes.sum()) / total if total else 0.5

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, feedback: Feedback, item_ids: np.ndarray | None = None, lam: float = EASE_LAMBDA,
            state: str = "", plan: FitPlan | None = None, mark: StoreMark = StoreMark()) -> "CollabModel":
        """The model `plan_fit` chooses for this catalog (EASE on ML-100K), after its memory check."""
        items = np.unique(feedback.items) if item_ids is None else np.asarray(item_ids, dtype=np.int64)
        cols = _columns_of(items, np.asarray(feedback.items, dtype=np.int64))
        ok = cols >= 0
        users, rows = np.unique(feedback.users[ok], return_inverse=True)
        plan = plan or plan_fit(len(items), int(ok.sum()), len(users))
        n = len(items)
        liked = feedback.liked[ok].astype(np.float64)
        X = sp.csr_matrix((liked, (rows, cols[ok])), shape=(len(users), n))
        X.eliminate_zeros()
        weights = _ease(X, lam) if plan.kind == "ease" else _als(X)
        likes = np.bincount(cols[ok], weights=liked, minlength=n)
        seen = np.bincount(cols[ok], minlength=n).astype(np.float64)
        return cls(items, weights, likes, seen, state, mark)

    # --------------------------------------------------------------- scores
    def columns(self, item_ids) -> np.ndarray:
        """Column of each store id; a film without ratings in the cold map has one past the rated columns; -1 for
        items neither covers (added after the fit). A binary search over all ids at once: a request looks up
        every eligible item (340,000 on a BookCrossing-sized catalog)."""
        ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        if not len(self._sorted_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted_ids, ids), len(self._sorted_ids) - 1)
        return np.where(self._sorted_ids[pos] == ids, self._order[pos], -1)

    def _rated_rows(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rated rows and their weights standing for these columns: a cold film is its neighbours, weighted."""
        n = len(self.item_ids)
        cols = cols[cols >= 0]
        rated, cold = cols[cols < n], cols[cols >= n] - n
        rows = np.concatenate([rated, self.cold.neighbours[cold].ravel()])
        weights = np.concatenate([np.ones(len(rated), np.float32), self.cold.weights[cold].ravel()])
        return rows, weights

    def user_scores(self, liked_ids) -> np.ndarray:
        """Score of every column for a user who liked `liked_ids` (fold-in: no refit needed), EASE or ALS; a
        film without ratings scores the weighted mean of its neighbours' scores, and liking one counts as
        liking its neighbours by their weights."""
        rows, weights = self._rated_rows(self.columns(liked_ids))
        if not len(rows):
            return np.zeros(len(self.item_ids) + len(self.cold), dtype=np.float32)
        rated = self.weights.row_sum(rows) if len(self.cold) == 0 else self.weights.row_sum(rows, weights)
        if not len(self.cold):
            return rated
        return np.concatenate([rated, (self.cold.weights * rated[self.cold.neighbours]).sum(axis=1)])

    def ease_scores(self, from_ids, item_ids, unknown: float = 0.0) -> np.ndarray:
        """Collaborative score (EASE, or ALS in the same form) of each of `item_ids` from the liked `from_ids`;
        items the fit never saw get `unknown`."""
        return _gather(self.user_scores(from_ids), self.columns(item_ids), unknown)

    def tie_break(self, scores: np.ndarray, item_ids) -> np.ndarray:
        """Popularity breaks ties: collaborative scores are >= 1e-4 apart where they differ at all."""
        return scores + TIE_BREAK * self.popularity(item_ids)

    def affinity(self, history_ids, target_ids) -> np.ndarray:
        """Mean item-item weight from `history_ids` to each target: a history-length-free collaborative feature
        (a film without ratings stands in as its weighted neighbours, on either side)."""
        cols = self.columns(history_ids)
        cols = cols[cols >= 0]
        out = np.zeros(len(target_ids), dtype=np.float64)
        if not len(cols):
            return out
        tcols = self.columns(target_ids)
        known = tcols >= 0
        n = len(self.item_ids)
        if not len(self.cold) or (cols.max() < n and (not known.any() or tcols[known].max() < n)):
            out[known] = self.weights.block(cols, tcols[known]).mean(axis=0)
            return out
        rows, weights = self._rated_rows(cols)
        from_history = self.weights.row_sum(rows, weights) / len(cols)  # mean weight from the history, per rated column
        kc = tcols[known]
        rated = kc < n
        vals = np.zeros(len(kc))
        vals[rated] = from_history[kc[rated]]
        cold = kc[~rated] - n
        vals[~rated] = (self.cold.weights[cold] * from_history[self.cold.neighbours[cold]]).sum(axis=1)
        out[known] = vals
        return out

    def pair_weights(self, from_ids, target_id: int) -> np.ndarray:
        """The item-item weight from each of `from_ids` to one target (0 where either has no column): the
        parts a collaborative score is the sum of, so "why" can name the films that put it there."""
        out = np.zeros(len(from_ids), dtype=np.float64)
        t = self.columns([target_id])[0]
        if t < 0:
            return out
        for k, i in enumerate(from_ids):
            out[k] = self.affinity([i], [target_id])[0]
        return out

    def like_rate(self, item_ids, without: Sequence[Interaction] = ()) -> np.ndarray:
        """The one like-rate: the smoothed share of likes among the domain's current ratings (the training
        statistics' formula); unknown items sit at the global rate. The stack's item_like_rate reads it.

        `without`: ratings the fit counted that should not count here, the asking user's own, so a
        prompt's note says what the others think (training notes leave the own label out too). They
        leave the item counts and the global rate. (A rating made after the fit is not in the counts
        yet; the background refit catches up.)"""
        cols = self.columns(item_ids)
        cols = np.where(cols < len(self.item_ids), cols, -1)  # no ratings: the global rate
        likes, seen = _gather(self.likes, cols), _gather(self.seen, cols)
        if not without:
            return smoothed_rate(likes, seen, self.global_rate)
        known = (self.columns([h.item_id for h in without]) >= 0) & (
            self.columns([h.item_id for h in without]) < len(self.item_ids))
        own = {h.item_id: float(h.liked) for h, k in zip(without, known) if k}
        for k, i in enumerate(item_ids):
            if int(i) in own:
                likes[k] -= own[int(i)]
                seen[k] -= 1.0
        total = float(self.seen.sum()) - len(own)
        g = (float(self.likes.sum()) - sum(own.values())) / total if total > 0 else 0.5
        return smoothed_rate(np.maximum(likes, 0.0), np.maximum(seen, 0.0), g)

    def rating_counts(self, item_ids) -> np.ndarray:
        """Current ratings per item in the fit (0 for films without ratings): what a "--min-ratings" floor reads."""
        cols = self.columns(item_ids)
        return _gather(self.seen, np.where(cols < len(self.item_ids), cols, -1))

    def popularity(self, item_ids) -> np.ndarray:
        """log(1 + ratings): what the no-history fallback orders by; a film without ratings gets the estimate
        its cold map holds (from IMDb votes, else its neighbours'), not zero."""
        cols = self.columns(item_ids)
        out = np.log1p(_gather(self.seen, np.where(cols < len(self.item_ids), cols, -1)))
        cold = cols >= len(self.item_ids)
        out[cold] = self.cold.popularity[cols[cold] - len(self.item_ids)]
        return out

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, item_ids=self.item_ids, likes=self.likes, seen=self.seen, state=np.array(self.state),
                         mark=np.array([self.mark.feedback_id, self.mark.items, self.mark.item_id], dtype=np.int64),
                         kind=np.array(self.kind), cold_ids=self.cold.item_ids, cold_neighbours=self.cold.neighbours,
                         cold_weights=self.cold.weights, cold_popularity=self.cold.popularity, **self.weights.arrays())

    @classmethod
    def load(cls, path) -> "CollabModel":
        """Raises ValueError / OSError / KeyError on a missing, truncated or foreign file (the caller refits)."""
        with np.load(path, allow_pickle=False) as z:
            kind = str(z["kind"])
            if kind == "ease":  # n × n, of which a request reads a few rows: mapped, not read
                mapped = map_member(path, "weights")
                weights = DenseWeights(z["weights"] if mapped is None else mapped)
            else:
                weights = LowRankWeights(z["left"], z["right"])
            cold = ColdMap(z["cold_ids"], z["cold_neighbours"], z["cold_weights"], z["cold_popularity"])
            model = cls(z["item_ids"], weights, z["likes"], z["seen"], str(z["state"]),
                        StoreMark(*(int(v) for v in z["mark"])), cold)
        n = len(model.item_ids)
        shapes = [a.shape[0] for a in weights.arrays().values()]
        square = kind != "ease" or weights.B.shape == (n, n)
        c = len(cold.item_ids)
        cold_ok = (cold.neighbours.shape[0] == c and cold.weights.shape == cold.neighbours.shape
                   and cold.popularity.shape == (c,) and (not cold.neighbours.size or cold.neighbours.max() < n))
        if not square or shapes != [n] * len(shapes) or model.likes.shape != (n,) or model.seen.shape != (n,) or not cold_ok:
            raise ValueError("arrays do not match")
        return model
