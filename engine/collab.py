"""The collaborative model over the store: EASE on the liked matrix, plus item like-rates and popularity.

Why EASE (Steck 2019): a closed form (one n_items x n_items inverse, about a second on ML-100K),
no epochs or seeds, and on the full-catalog hold-out it beats popularity, item-kNN and ALS
(docs/results.md). It scores a user by the items they liked, so it folds in a new user or a new
rating at request time without refitting; only the item-item weights come from the fit.

The fit reads `current_feedback` (all users; a retracted rating is gone). Item statistics (like
counts, rating counts) are kept beside the weights so features and retrieval read one snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import sqlite_utils

from db.types import Item

EASE_LAMBDA = 250.0  # L2 on the item-item weights; 250 is the measured setting on ML-100K liked
FORMAT_VERSION = 1  # bump when the cached file layout or the fit changes


@dataclass(frozen=True)
class Feedback:
    """The store's current ratings as arrays: one entry per (user, item), liked 0/1."""

    users: np.ndarray
    items: np.ndarray
    liked: np.ndarray

    def without(self, pairs: set[tuple[int, int]]) -> "Feedback":
        """These (user, item) ratings removed: what a hold-out evaluation hides from the models."""
        keep = np.array([(int(u), int(i)) not in pairs for u, i in zip(self.users, self.items)], dtype=bool)
        return Feedback(self.users[keep], self.items[keep], self.liked[keep])

    def without_items(self, items: set[int]) -> "Feedback":
        """Every rating of these items removed: a cold-item evaluation's held-out movies."""
        keep = ~np.isin(self.items, np.fromiter(items, dtype=np.int64, count=len(items)))
        return Feedback(self.users[keep], self.items[keep], self.liked[keep])

    def without_users(self, users: set[int]) -> "Feedback":
        keep = ~np.isin(self.users, np.fromiter(users, dtype=np.int64, count=len(users)))
        return Feedback(self.users[keep], self.items[keep], self.liked[keep])


def read_feedback(db: sqlite_utils.Database, domain: str) -> Feedback:
    rows = db.execute(
        """SELECT c.user_id, c.item_id, c.liked FROM current_feedback c JOIN items i ON i.id = c.item_id
           WHERE i.domain = ?""", [domain]).fetchall()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return Feedback(arr[:, 0], arr[:, 1], arr[:, 2])


def catalog_items(db: sqlite_utils.Database, domain: str) -> dict[int, Item]:
    """Store id -> the item, for every item of `domain` (prompts with item text read its genres)."""
    from db.feedback import item_from_row

    return {r["id"]: item_from_row(r) for r in db.query("SELECT * FROM items WHERE domain = ? ORDER BY id", [domain])}


def store_state(db: sqlite_utils.Database, domain: str) -> str:
    """What a fit depends on. Feedback is append-only (triggers refuse UPDATE/DELETE), so its row count
    and largest id change with every rating or retraction; items likewise."""
    f = db.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM feedback").fetchone()
    i = db.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM items WHERE domain = ?", [domain]).fetchone()
    return f"v{FORMAT_VERSION}:{domain}:f{f[0]}-{f[1]}:i{i[0]}-{i[1]}:l{EASE_LAMBDA:g}"


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

    def like_rate(self, item_ids) -> np.ndarray:
        """Smoothed like-rate, the training statistics' formula; unknown items sit at the global rate."""
        from db.item_stats import smoothed_rate

        cols = self.columns(item_ids)
        likes = np.where(cols >= 0, self.likes[cols], 0.0)
        seen = np.where(cols >= 0, self.seen[cols], 0.0)
        return smoothed_rate(likes, seen, self.global_rate)

    def popularity(self, item_ids) -> np.ndarray:
        """log(1 + ratings): what the no-history fallback orders by."""
        cols = self.columns(item_ids)
        return np.log1p(np.where(cols >= 0, self.seen[cols], 0.0))

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        from db.fileio import atomic_path

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
