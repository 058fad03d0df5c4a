"""Every offline metric in one place: classification (pooled AUC, per-user AUC as GAUC, log-loss,
accuracy) and ranking (Recall@k, NDCG@k, MRR, HR@k), sharing one discount."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def gauc(labels: Sequence[int], scores: Sequence[float], users: Sequence[object]) -> float | None:
    """Mean of per-user AUCs weighted by each user's sample count; users with one class are skipped."""
    groups: dict[object, list[int]] = defaultdict(list)
    for k, u in enumerate(users):
        groups[u].append(k)
    total = weight = 0.0
    for idx in groups.values():
        ys = [labels[k] for k in idx]
        if len(set(ys)) < 2:
            continue
        total += len(idx) * roc_auc_score(ys, [scores[k] for k in idx])
        weight += len(idx)
    return total / weight if weight else None


def classification_metrics(labels: Sequence[int], scores: Sequence[float], users: Sequence[object] | None = None) -> dict:
    both = len(set(labels)) == 2
    eps = 1e-7
    clipped = [min(max(s, eps), 1 - eps) for s in scores]
    return {
        "n": len(labels),
        "auc": roc_auc_score(labels, scores) if both else None,
        "gauc": gauc(labels, scores, users) if users is not None and all(u is not None for u in users) else None,
        "logloss": log_loss(labels, clipped, labels=[0, 1]) if labels else None,
        "accuracy": sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels)) / len(labels) if labels else None,
        "positive_rate": sum(labels) / len(labels) if labels else None,
    }


def fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


# ------------------------------------------------------------------ ranking
def discount(rank: float) -> float:
    """DCG gain of a relevant item at 1-based `rank` (binary gains)."""
    return 1 / math.log2(rank + 1)


def user_metrics(ranked: list[int], relevant: set[int], k: int = 10) -> dict[str, float]:
    """Full ranking of one user: Recall@k = hits in the top k / relevant items; NDCG@k with binary
    gains; reciprocal rank of the first hit."""
    gains = [1.0 if i in relevant else 0.0 for i in ranked]
    dcg = sum(g * discount(r + 1) for r, g in enumerate(gains[:k]))
    idcg = sum(discount(r + 1) for r in range(min(len(relevant), k)))
    first = next((r for r, g in enumerate(gains) if g), None)
    return {f"recall@{k}": sum(gains[:k]) / len(relevant) if relevant else 0.0,
            f"ndcg@{k}": dcg / idcg if idcg else 0.0,
            "mrr": 1.0 / (first + 1) if first is not None else 0.0}


def mean_metrics(per_user: list[dict[str, float]]) -> dict[str, float]:
    keys = per_user[0].keys() if per_user else ()
    return {key: round(float(np.mean([m[key] for m in per_user])), 4) for key in keys}


def rank_of_first(scores: list[float]) -> float:
    """1-based rank of scores[0] among all; ties count half, so a constant scorer is not rewarded."""
    first = scores[0]
    higher = sum(1 for x in scores[1:] if x > first)
    ties = sum(1 for x in scores[1:] if x == first)
    return 1 + higher + ties / 2


def ranking_metrics(ranks: list[float], hr_at: int = 5, ndcg_at: int = 10) -> dict:
    """Sampled ranking, one relevant item per case at `ranks`: HR@hr_at, NDCG@ndcg_at, MRR."""
    n = len(ranks)
    if not n:
        return {"cases": 0, f"hr@{hr_at}": None, f"ndcg@{ndcg_at}": None, "mrr": None}
    return {
        "cases": n,
        f"hr@{hr_at}": round(sum(r <= hr_at for r in ranks) / n, 4),
        f"ndcg@{ndcg_at}": round(sum(discount(r) for r in ranks if r <= ndcg_at) / n, 4),
        "mrr": round(sum(1 / r for r in ranks) / n, 4),
    }
