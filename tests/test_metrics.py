"""Metrics and baselines on hand-made numbers."""

from __future__ import annotations

import pytest

from db.prompt import INSTRUCTIONS, build_input
from db.types import Sample
from engine.baselines import FeatureLR, ItemStats, like_share
from engine.metrics import classification_metrics, gauc


def test_gauc_weights_users_by_sample_count_and_skips_one_class_users():
    labels = [1, 0, 0, 1, 0, 1, 1]
    scores = [0.9, 0.1, 0.2, 0.3, 0.8, 0.5, 0.4]
    users = ["a", "a", "b", "b", "b", "c", "c"]  # a: AUC 1 (2 samples); b: AUC 0.5 (3); c: one class
    assert gauc(labels, scores, users) == pytest.approx((2 * 1.0 + 3 * 0.5) / 5)
    assert gauc([1, 1], [0.2, 0.3], ["a", "a"]) is None


def test_classification_metrics():
    m = classification_metrics([1, 0, 1, 0], [0.8, 0.3, 0.4, 0.6])
    assert m["auc"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["gauc"] is None and m["n"] == 4 and m["positive_rate"] == 0.5
    assert classification_metrics([1, 1], [0.5, 0.6])["auc"] is None


def _sample(liked, disliked, target, label):
    return Sample(INSTRUCTIONS["movie"], build_input("movie", liked, disliked, target), "Yes." if label else "No.")


def test_like_share_and_item_stats_leave_one_out():
    s = _sample(["A (1990)", "B (1991)", "C (1992)"], ["D (1993)"], "E (1994)", 1)
    assert like_share(s) == 0.75
    train = [_sample(["A (1990)"], ["B (1991)"], "E (1994)", 1), _sample(["E (1994)"], [], "B (1991)", 0)]
    stats = ItemStats.from_samples(train)
    assert stats.seen == {"A (1990)": 1, "B (1991)": 2, "E (1994)": 2}
    assert stats.likes["E (1994)"] == 2 and stats.likes["B (1991)"] == 0
    g = stats.global_rate
    assert stats.like_rate("E (1994)") == pytest.approx((2 + 10 * g) / 12)
    assert stats.like_rate("E (1994)", drop=1) == pytest.approx((1 + 10 * g) / 11)
    assert stats.like_rate("never seen") == pytest.approx(g)


def test_feature_lr_learns_from_training_windows_only():
    train = [_sample(["A (1990)"] * 3, [], "Good (2000)", 1) for _ in range(20)]
    train += [_sample([], ["A (1990)"] * 3, "Bad (2000)", 0) for _ in range(20)]
    lr = FeatureLR(train)
    test = [_sample(["A (1990)"], ["Z (1999)"], "Good (2000)", 1), _sample(["A (1990)"], ["Z (1999)"], "Bad (2000)", 0)]
    p_good, p_bad = lr.predict(test)
    assert p_good > p_bad
    assert "Z (1999)" not in lr.stats.seen  # test windows never feed the statistics
