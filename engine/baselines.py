"""No-LLM baselines reported beside every eval: history like-share, and a 3-feature logistic regression.

Item statistics come from training windows only, never from the evaluated samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sklearn.linear_model import LogisticRegression

from db.prompt import parse_input
from db.types import Sample

PRIOR_WEIGHT = 10.0  # pseudo-count pulling rare items' like-rate toward the global rate


def sample_domain(sample: Sample) -> str:
    return "book" if "target book" in sample.input else "movie"


@dataclass
class ItemStats:
    """Like counts per item name over training windows (history entries and targets)."""

    likes: dict[str, int]
    seen: dict[str, int]
    global_rate: float

    @classmethod
    def from_samples(cls, samples: list[Sample]) -> "ItemStats":
        likes: dict[str, int] = defaultdict(int)
        seen: dict[str, int] = defaultdict(int)
        for s in samples:
            p = parse_input(sample_domain(s), s.input)
            for names, liked in ((p.liked, 1), (p.disliked, 0), ([p.target], s.label)):
                for n in names:
                    likes[n] += liked
                    seen[n] += 1
        total = sum(seen.values())
        return cls(dict(likes), dict(seen), sum(likes.values()) / total if total else 0.5)

    def like_rate(self, name: str, drop: int | None = None) -> float:
        """Smoothed like-rate; `drop` removes one own label (leave-one-out for training rows)."""
        likes, seen = self.likes.get(name, 0), self.seen.get(name, 0)
        if drop is not None:
            likes, seen = likes - drop, seen - 1
        return (likes + PRIOR_WEIGHT * self.global_rate) / (seen + PRIOR_WEIGHT)

    def popularity(self, name: str, drop: bool = False) -> float:
        return math.log1p(self.seen.get(name, 0) - (1 if drop else 0))


def like_share(sample: Sample) -> float:
    p = parse_input(sample_domain(sample), sample.input)
    n = len(p.liked) + len(p.disliked)
    return len(p.liked) / n if n else 0.5


def features(sample: Sample, stats: ItemStats, own: bool = False) -> list[float]:
    target = parse_input(sample_domain(sample), sample.input).target
    drop = sample.label if own else None
    return [like_share(sample), stats.like_rate(target, drop), stats.popularity(target, own)]


class FeatureLR:
    """Logistic regression on (like-share, item like-rate, log popularity)."""

    def __init__(self, train: list[Sample]):
        self.stats = ItemStats.from_samples(train)
        X = [features(s, self.stats, own=True) for s in train]
        y = [s.label for s in train]
        self.model = LogisticRegression(max_iter=1000).fit(X, y)

    def predict(self, samples: list[Sample]) -> list[float]:
        if not samples:
            return []
        return list(self.model.predict_proba([features(s, self.stats) for s in samples])[:, 1])
