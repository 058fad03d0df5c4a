"""Fitting and measuring the learned ranker (engine.rank.ltr) on requests built at temporal cuts.

Each request's candidates are computed once, with the largest channel sizes tried (`Sizes` per channel is a
prefix of the larger list: engine.rank.channels.pick), so choosing the union size, LightGBM's settings and the
ablations (a channel off, a feature group off) is a refit on rows already in memory, never a second pass over
the catalog. Metrics are full-catalog: NDCG@10 and Recall@10 over every later like of the request, whether
the union holds it or not (a like no channel proposed counts as missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.rank.channels import CHANNELS, Sizes, channel_ranks, pick
from engine.rank.ltr import LearnedRanker, Params, is_cold
from engine.rank.ltr_features import FEATURES, film_table, take
from engine.rank.signals import Signals
from engine.rank.stack import Table, concat_tables

from .ltr_requests import LtrRequest
from .metrics import user_metrics

K = 10


@dataclass
class Rows:
    """Every request's candidates under the largest sizes: features, each channel's rank (`rank_<channel>`),
    the label (a later like of the request) and the request each row belongs to (rows are contiguous)."""

    table: Table
    request: np.ndarray  # index into `requests`, per row
    label: np.ndarray
    requests: list[LtrRequest]

    def select(self, sizes: Sizes, requests: np.ndarray | None = None) -> tuple[Table, np.ndarray, np.ndarray]:
        """(table with channel flags, labels, request index) of the union under `sizes`, for `requests` only."""
        ranks = {c: self.table[f"rank_{c}"] for c in CHANNELS}
        rows, flags = pick(ranks, sizes)
        if requests is not None:
            keep = np.isin(self.request[rows], requests)
            rows, flags = rows[keep], {k: v[keep] for k, v in flags.items()}
        return {**take(self.table, rows), **flags}, self.label[rows], self.request[rows]


def build_rows(requests: list[LtrRequest], signals: list[Signals] | Callable[[LtrRequest], Signals],
               catalogs: list[np.ndarray], sizes: Sizes, progress: Callable[[int], None] | None = None) -> Rows:
    """Candidates and features of each request at its own cut (`signals[r.cut]`, `catalogs[r.cut]`); `signals`
    may instead be a function of the request (a hold-out request is made at its own time)."""
    tables, request, labels = [], [], []
    for k, r in enumerate(requests):
        catalog = catalogs[r.cut]
        ids = catalog[~np.isin(catalog, np.fromiter(r.exclude, np.int64, len(r.exclude)))]
        t = film_table(signals(r) if callable(signals) else signals[r.cut], r.ask, ids)
        ranks = channel_ranks(t, sizes)
        rows = np.flatnonzero(np.any([np.isfinite(v) for v in ranks.values()], axis=0))
        tables.append({**take(t, rows), **{f"rank_{c}": v[rows] for c, v in ranks.items()}})
        request.append(np.full(len(rows), k))
        labels.append(np.isin(t["ids"][rows], np.fromiter(r.targets, np.int64, len(r.targets))).astype(np.float64))
        if progress:
            progress(1)
    return Rows(concat_tables(tables), np.concatenate(request), np.concatenate(labels), requests)


def merge(a: Rows, b: Rows) -> Rows:
    """Two sets of rows as one: `b`'s requests numbered after `a`'s."""
    return Rows(concat_tables([a.table, b.table]), np.concatenate([a.request, b.request + len(a.requests)]),
                np.concatenate([a.label, b.label]), a.requests + b.requests)


def group_sizes(request: np.ndarray) -> list[int]:
    """LightGBM's query sizes: the lengths of the runs of equal request indexes."""
    if not len(request):
        return []
    edges = np.flatnonzero(np.diff(request)) + 1
    return np.diff(np.concatenate([[0], edges, [len(request)]])).tolist()


def fit(rows: Rows, requests: np.ndarray, sizes: Sizes, params: Params = Params(),
        features: tuple[str, ...] = FEATURES, seed: int = 0) -> LearnedRanker:
    """The ranker fitted on `requests` (those with a later like among their candidates: a request without one
    has no order to learn)."""
    table, labels, req = rows.select(sizes, requests)
    with_pos = np.unique(req[labels > 0])
    keep = np.isin(req, with_pos)
    table, labels, req = take(table, keep), labels[keep], req[keep]
    return LearnedRanker.fit(table, labels, group_sizes(req), params, features, seed)


def metrics(rows: Rows, requests: np.ndarray, sizes: Sizes, score: Callable[[Table], np.ndarray]
            ) -> dict[int, dict[str, float]]:
    """Full-catalog NDCG@10 and Recall@10 of each of `requests` when `score` orders its candidates."""
    table, _, req = rows.select(sizes, requests)
    scores = score(table) if len(req) else np.zeros(0)
    out = {}
    for k in requests:
        at = np.flatnonzero(req == k)
        order = at[np.lexsort((table["ids"][at], -scores[at]))]
        ranked = [int(i) for i in table["ids"][order[:K]]]
        m = user_metrics(ranked, set(rows.requests[k].targets), K)
        out[int(k)] = {"ndcg@10": m["ndcg@10"], "recall@10": m["recall@10"]}
    return out


def mean(per: dict[int, dict[str, float]], key: str = "ndcg@10", of: set[int] | None = None) -> float:
    vals = [m[key] for k, m in per.items() if of is None or k in of]
    return float(np.mean(vals)) if vals else float("nan")


def calibration_rows(ranker: LearnedRanker, rows: Rows, requests: np.ndarray, sizes: Sizes
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key, label, cold) of every candidate of held-out `requests`: what P(like) is calibrated on."""
    table, labels, _ = rows.select(sizes, requests)
    return ranker.key(table), labels, is_cold(table)
