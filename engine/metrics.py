"""Offline metrics: pooled AUC, per-user AUC (GAUC), log-loss, accuracy."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

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
