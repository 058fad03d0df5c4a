"""No-LLM baselines reported beside every eval: history like-share, and a 3-feature logistic regression.

Item statistics come from training windows only, never from the evaluated samples.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from db.item_stats import ItemStats, like_share
from db.prompt import parse_input, sample_domain
from db.types import Sample


def features(sample: Sample, stats: ItemStats, own: bool = False) -> list[float]:
    target = parse_input(sample_domain(sample.input), sample.input).target
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
