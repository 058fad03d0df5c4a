"""The collaborative model over the store: EASE on the liked matrix, plus item like-rates and popularity.

Why EASE (Steck 2019): a closed form (one n_items x n_items inverse, about a second on ML-100K),
no epochs or seeds, and on the full-catalog hold-out it beats popularity, item-kNN and ALS
(docs/results.md). It scores a user by the items they liked, so it folds in a new user or a new
rating at request time without refitting; only the item-item weights come from the fit.

The fit reads `current_feedback` (all users; a retracted rating is gone). Item statistics (like
counts, rating counts) are kept beside the weights so features and retrieval read one snapshot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from db.errors import RecchatError
from db.feedback import Feedback
from db.fileio import atomic_path
from db.item_stats import smoothed_rate
from db.types import Interaction

EASE_BYTES_PER_CELL = 36  # measured peak bytes per items² cell of a fit (Gram, inverse, LAPACK's copy, weights)
EASE_LAMBDA = 250.0  # L2 on the item-item weights; 250 is the measured setting on ML-100K liked
TIE_BREAK = 1e-6  # popularity's weight beside an EASE score
FORMAT_VERSION = 1  # bump when the cached file layout or the fit changes


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


def check_fit_memory(n_items: int, budget: int | None = None) -> None:
    """Refuse a fit that would not fit in memory before any of it is allocated (never a killed process).

    EASE is a dense items × items inverse: about EASE_BYTES_PER_CELL · n² bytes at its peak (measured
    33-37 on 2,000-4,000 items; the issue's 15,000-item store peaked at 7.6 GB)."""
    budget = memory_budget() if budget is None else budget
    need = EASE_BYTES_PER_CELL * n_items * n_items
    if need > budget:
        raise RecchatError(f"the collaborative model (EASE, a dense items × items inverse) over {n_items:,} items "
                           f"needs about {need / 2**30:.1f} GiB, over the memory budget of {budget / 2**30:.1f} GiB: "
                           "raise RECCHAT_MAX_MEMORY if the machine has it")


def fit_state(ratings_version: str, domain: str) -> str:
    """What a fit depends on: the store's ratings version (db.feedback.ratings_version), the domain,
    the file layout and lambda. A cached model with another state is refitted."""
    return f"v{FORMAT_VERSION}:{domain}:{ratings_version}:l{EASE_LAMBDA:g}"


@dataclass
class CollabModel:
    """EASE weights and item statistics over `item_ids` (store ids, one per column)."""

    item_ids: np.ndarray
    weights: np.ndarray  # n x n, zero diagonal: score(j) = sum over liked items i of weights[i, j]
    likes: np.ndarray  # per item: current likes
    seen: np.ndarray  # per item: current ratings
    state: str = ""
    index: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {int(i): k for k, i in enumerate(self.item_ids)}

    @property
    def global_rate(self) -> float:
        total = float(self.seen.sum())
        return float(self.likes.sum()) / total if total else 0.5

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, feedback: Feedback, item_ids: np.ndarray | None = None, lam: float = EASE_LAMBDA,
            state: str = "") -> "CollabModel":
        """EASE: B = I - P / diag(P) with P = (X'X + lam I)^-1 over the liked matrix X (users x items)."""
        items = np.unique(feedback.items) if item_ids is None else np.asarray(item_ids, dtype=np.int64)
        check_fit_memory(len(items))
        col = {int(i): k for k, i in enumerate(items)}
        cols = np.array([col.get(int(i), -1) for i in feedback.items], dtype=np.int64)
        ok = cols >= 0
        users, rows = np.unique(feedback.users[ok], return_inverse=True)
        n = len(items)
        liked = feedback.liked[ok].astype(np.float64)
        X = sp.csr_matrix((liked, (rows, cols[ok])), shape=(len(users), n))
        X.eliminate_zeros()
        gram = (X.T @ X).toarray()
        gram[np.diag_indices(n)] += lam
        P = np.linalg.inv(gram)
        B = P / (-np.diag(P))
        B[np.diag_indices(n)] = 0.0
        likes = np.bincount(cols[ok], weights=liked, minlength=n)
        seen = np.bincount(cols[ok], minlength=n).astype(np.float64)
        return cls(items, B.astype(np.float32), likes, seen, state)

    # --------------------------------------------------------------- scores
    def columns(self, item_ids) -> np.ndarray:
        """Column of each store id; -1 for items the fit never saw (added later, or unrated)."""
        return np.array([self.index.get(int(i), -1) for i in item_ids], dtype=np.int64)

    def user_scores(self, liked_ids) -> np.ndarray:
        """EASE score of every column for a user who liked `liked_ids` (fold-in: no refit needed)."""
        cols = self.columns(liked_ids)
        cols = cols[cols >= 0]
        if not len(cols):
            return np.zeros(len(self.item_ids), dtype=np.float32)
        return self.weights[cols].sum(axis=0)

    def ease_scores(self, from_ids, item_ids, unknown: float = 0.0) -> np.ndarray:
        """EASE score of each of `item_ids` from the liked `from_ids`; items the fit never saw get `unknown`."""
        scores = self.user_scores(from_ids)
        cols = self.columns(item_ids)
        return np.where(cols >= 0, scores[np.maximum(cols, 0)], unknown).astype(np.float64)

    def tie_break(self, scores: np.ndarray, item_ids) -> np.ndarray:
        """Popularity breaks ties: EASE scores are >= 1e-4 apart where they differ at all."""
        return scores + TIE_BREAK * self.popularity(item_ids)

    def affinity(self, history_ids, target_ids) -> np.ndarray:
        """Mean EASE weight from `history_ids` to each target: a history-length-free collaborative feature."""
        cols = self.columns(history_ids)
        cols = cols[cols >= 0]
        out = np.zeros(len(target_ids), dtype=np.float64)
        if not len(cols):
            return out
        tcols = self.columns(target_ids)
        known = tcols >= 0
        out[known] = self.weights[np.ix_(cols, tcols[known])].mean(axis=0)
        return out

    def like_rate(self, item_ids, without: Sequence[Interaction] = ()) -> np.ndarray:
        """The one like-rate: the smoothed share of likes among the domain's current ratings (the training
        statistics' formula); unknown items sit at the global rate. The stack's item_like_rate reads it.

        `without`: ratings the fit counted that should not count here, the asking user's own, so a
        prompt's note says what the others think (training notes leave the own label out too). They
        leave the item counts and the global rate. (A rating made after the fit is not in the counts
        yet; the background refit catches up.)"""
        cols = self.columns(item_ids)
        likes = np.where(cols >= 0, self.likes[cols], 0.0)
        seen = np.where(cols >= 0, self.seen[cols], 0.0)
        if not without:
            return smoothed_rate(likes, seen, self.global_rate)
        own = {h.item_id: float(h.liked) for h in without if h.item_id in self.index}
        for k, i in enumerate(item_ids):
            if int(i) in own:
                likes[k] -= own[int(i)]
                seen[k] -= 1.0
        total = float(self.seen.sum()) - len(own)
        g = (float(self.likes.sum()) - sum(own.values())) / total if total > 0 else 0.5
        return smoothed_rate(np.maximum(likes, 0.0), np.maximum(seen, 0.0), g)

    def popularity(self, item_ids) -> np.ndarray:
        """log(1 + ratings): what the no-history fallback orders by."""
        cols = self.columns(item_ids)
        return np.log1p(np.where(cols >= 0, self.seen[cols], 0.0))

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, item_ids=self.item_ids, weights=self.weights, likes=self.likes, seen=self.seen,
                         state=np.array(self.state))

    @classmethod
    def load(cls, path) -> "CollabModel":
        """Raises ValueError / OSError on a missing, truncated or foreign file (the caller refits)."""
        with np.load(path, allow_pickle=False) as z:
            model = cls(z["item_ids"], z["weights"], z["likes"], z["seen"], str(z["state"]))
        n = len(model.item_ids)
        if model.weights.shape != (n, n) or model.likes.shape != (n,) or model.seen.shape != (n,):
            raise ValueError("arrays do not match")
        return model
