"""One learned order: a LightGBM LambdaRank model over the channels' candidates (engine.rank.channels),
its score calibrated into P(like), and each feature's exact part of a score for "why".

Why LambdaRank: the product is judged by the order of its top 10 (NDCG@10), and the stack's pointwise
logistic heads plus retrieval's hand-set constants (DISLIKE_WEIGHT, GENRE_BOOST, WORD_BOOST) optimise
something else; LambdaRank fits the pairwise order within each request directly and trees mix the signals
non-linearly (a film nobody rated needs other weights than one rated 300 times). Why Platt scaling for
P(like): one increasing function of the score, so the number shown never disagrees with the order.

A cold request (no like, seed, word or genre: nothing to be personal about) may keep the popular channel's
own order, recent popularity, as the served path keeps retrieval's popularity order (engine.rank.recommend
`is_cold`); whether it does is a setting chosen on validation (`cold_popular`), with its own calibration.

Files: LightGBM's own model text and a small JSON (feature names, calibration, what it was fitted on); no
machine paths are written.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np

from db.fileio import write_json_atomic

from .channels import Sizes, candidates
from .ltr_features import FEATURES, film_table, matrix, take
from .signals import Ask, Signals
from .stack import Table

MODEL_FILE = "ranker.txt"
META_FILE = "ranker.json"
FORMAT = 1
THREADS = 2  # the machine's cores (a fit never runs beside another heavy job)


@dataclass(frozen=True)
class Params:
    """LightGBM's settings the validation chooses among (bench/temporal.py), the rest fixed."""

    num_leaves: int = 31
    n_estimators: int = 300
    learning_rate: float = 0.05
    min_child_samples: int = 20

    def lgb(self, seed: int) -> dict:
        return {"objective": "lambdarank", "num_leaves": self.num_leaves, "learning_rate": self.learning_rate,
                "min_data_in_leaf": self.min_child_samples, "num_threads": THREADS, "seed": seed,
                "deterministic": True, "force_row_wise": True, "verbosity": -1, "eval_at": [10],
                "lambdarank_truncation_level": 20}  # no row or feature sampling: a refit on the same rows is
        # the same model, so a setting's or an ablation's difference is its own, not a seed's


@dataclass
class LearnedRanker:
    booster: lgb.Booster
    features: tuple[str, ...] = FEATURES
    platt: tuple[float, float] = (1.0, 0.0)  # P(like) = sigmoid(a * key + b), a > 0
    fitted_on: dict = field(default_factory=dict)
    cold_popular: bool = False  # cold requests ordered by recent popularity, not by the model
    cold_platt: tuple[float, float] = (1.0, 0.0)  # P(like) of a cold request's key

    @classmethod
    def fit(cls, table: Table, labels, groups, params: Params = Params(), features: tuple[str, ...] = FEATURES,
            seed: int = 0) -> "LearnedRanker":
        """`groups`: the number of consecutive rows of each request (LightGBM's query sizes)."""
        data = lgb.Dataset(matrix(table, features), label=np.asarray(labels, dtype=np.float64), group=list(groups),
                           feature_name=list(features), free_raw_data=True, params={"verbosity": -1})
        booster = lgb.train(params.lgb(seed), data, num_boost_round=params.n_estimators)
        return cls(booster, tuple(features))

    def score(self, table: Table, iterations: int | None = None) -> np.ndarray:
        """The raw score that orders (higher first); `iterations`: only the first trees (the validation's
        n_estimators from one fit)."""
        if not len(table["ids"]):
            return np.zeros(0)
        return self.booster.predict(matrix(table, self.features), num_iteration=iterations)

    def key(self, table: Table, iterations: int | None = None) -> np.ndarray:
        """What orders a request's candidates: the score, or for a cold request with `cold_popular`, recent
        popularity (the rank among the eligible films, popularity breaking ties)."""
        s = self.score(table, iterations)
        if self.cold_popular and len(s):
            s = np.where(is_cold(table), cold_key(table), s)
        return s

    def calibrate(self, keys, labels, cold=None) -> "LearnedRanker":
        """Platt scaling on held-out requests' candidates (their `key`s): P(the film is among the person's
        next likes). `cold`: which rows are of cold requests, calibrated apart when `cold_popular`."""
        keys, labels = np.asarray(keys, dtype=np.float64), np.asarray(labels)
        cold = np.zeros(len(keys), bool) if cold is None or not self.cold_popular else np.asarray(cold, bool)
        self.platt = _platt(keys[~cold], labels[~cold])
        if cold.any():
            self.cold_platt = _platt(keys[cold], labels[cold])
        return self

    def p_like(self, keys, cold: bool = False) -> np.ndarray:
        """P(like) of one request's keys (`cold`: a cold request under `cold_popular`)."""
        a, b = self.cold_platt if cold and self.cold_popular else self.platt
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(keys, dtype=np.float64) + b)))

    def contributions(self, table: Table, row: int) -> dict[str, float]:
        """Each feature's exact part of one candidate's raw score (LightGBM's TreeSHAP, pred_contrib), plus
        "bias": the parts sum to `score(table)[row]`. What "why this film" can name. (A cold request under
        `cold_popular` is ordered by recent popularity; the parts still say what the model weighed.)"""
        x = matrix({k: v[row:row + 1] for k, v in table.items()}, self.features)
        parts = self.booster.predict(x, pred_contrib=True)[0]
        return {**{f: float(v) for f, v in zip(self.features, parts[:-1])}, "bias": float(parts[-1])}

    def importance(self) -> dict[str, float]:
        """Total gain per feature, the largest first."""
        gains = self.booster.feature_importance("gain")
        return dict(sorted(((f, float(g)) for f, g in zip(self.features, gains)), key=lambda kv: -kv[1]))

    # ------------------------------------------------------------- files
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MODEL_FILE).write_text(self.booster.model_to_string(), encoding="utf-8")
        write_json_atomic(folder / META_FILE, {"format": FORMAT, "features": list(self.features),
                                               "platt": list(self.platt), "cold_popular": self.cold_popular,
                                               "cold_platt": list(self.cold_platt), "fitted_on": self.fitted_on})
        return folder

    @classmethod
    def load(cls, folder: Path) -> "LearnedRanker":
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"ranker file format {meta.get('format')!r}, expected {FORMAT}")
        booster = lgb.Booster(model_str=(folder / MODEL_FILE).read_text(encoding="utf-8"))
        features = tuple(meta["features"])
        if booster.feature_name() != list(features):
            raise ValueError("the model's features are not the ones its JSON names")
        platt, cold = (tuple(float(v) for v in meta.get(k, (1.0, 0.0))) for k in ("platt", "cold_platt"))
        if not all(len(p) == 2 and math.isfinite(p[0]) and math.isfinite(p[1]) and p[0] > 0 for p in (platt, cold)):
            raise ValueError("malformed calibration")
        return cls(booster, features, platt, meta.get("fitted_on", {}), bool(meta.get("cold_popular")), cold)


def _platt(keys: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    if len(set(labels.tolist())) < 2:
        raise ValueError("calibration needs held-out candidates of both labels")
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(keys.reshape(-1, 1), labels)
    a = float(lr.coef_[0][0])
    if a <= 0:  # a key that does not rise with the labels cannot be calibrated monotonically
        raise ValueError("the ranker's key does not rise with the held-out labels")
    return a, float(lr.intercept_[0])


def is_cold(table: Table) -> np.ndarray:
    """Rows of requests with nothing to be personal about: no like, no seed, no words, no genre asked."""
    return (np.isnan(table["ease_likes"]) & np.isnan(table["ease_seeds"]) & np.isnan(table["words"])
            & np.isnan(table["genre_match"]))


def cold_key(table: Table) -> np.ndarray:
    """Recent popularity as an order: the negated log rank among the eligible films, all-time popularity
    breaking ties (the popular channel's order)."""
    return -table["recent_rank"] + 1e-3 * table["est_popularity"]


def rank(ranker: LearnedRanker, signals: Signals, ask: Ask, ids, sizes: Sizes = Sizes()) -> tuple[Table, np.ndarray]:
    """One request end to end: the channels' union of the eligible `ids`, ordered by the ranker (best first),
    and P(like) in that order (never disagreeing with it)."""
    table = candidates(film_table(signals, ask, ids), sizes)
    keys = ranker.key(table)
    order = np.lexsort((table["ids"], -keys))
    cold = bool(len(keys)) and bool(is_cold(table)[0])
    return take(table, order), ranker.p_like(keys[order], cold)
