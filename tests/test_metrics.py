"""Metrics and baselines on hand-made numbers."""

from __future__ import annotations

import pytest

from db.item_stats import ItemStats, like_share, with_notes
from db.prompt import INSTRUCTIONS, InputNotes, build_input, build_prompt, parse_input
from db.types import Sample
from engine.evaluation.baselines import FeatureLR
from engine.evaluation.metrics import classification_metrics, gauc


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


def test_notes_write_training_numbers_into_the_prompt_and_parse_back():
    train = [_sample(["A (1990)"], ["B (1991)"], "E (1994)", 1), _sample(["E (1994)"], [], "B (1991)", 0)]
    stats = ItemStats.from_samples(train)
    s = with_notes(_sample(["A (1990)", "C (1992)"], ["D (1993)"], "E (1994)", 0), stats)
    assert "The user liked 2 of 3 rated movies.\nWhether" in s.input
    assert s.input.endswith(f'"E (1994)" (liked by {round(100 * stats.like_rate("E (1994)"))}% of users)?')
    p = parse_input("movie", s.input)
    assert (p.liked, p.disliked, p.target) == (["A (1990)", "C (1992)"], ["D (1993)"], "E (1994)")
    assert p.notes == InputNotes(2, 3, round(100 * stats.like_rate("E (1994)")))
    assert like_share(s) == pytest.approx(2 / 3) and parse_input("movie", train[0].input).notes is None
    own = with_notes(train[0], stats, own=True)  # a training row never reads its own label
    assert parse_input("movie", own.input).notes.target_like_pct == round(100 * stats.like_rate("E (1994)", drop=1))


def test_notes_survive_history_truncation():
    from trainer.encode import fit_prompt

    stats = ItemStats.from_samples([_sample(["A (1990)"], [], "E (1994)", 1)])
    s = with_notes(_sample([f"Movie {i} (1990)" for i in range(8)], [], "E (1994)", 1), stats)
    full = build_prompt(s.instruction, s.input)
    prompt, dropped = fit_prompt(s, lambda text: len(text), len(full) - 40)
    assert dropped >= 1 and "Movie 0 (1990)" not in prompt
    assert "The user liked 8 of 8 rated movies." in prompt and "(liked by " in prompt


def test_hybrid_weights_are_per_standard_deviation_and_scale_free():
    """The hybrid standardises its inputs: multiplying the LLM logit by 100 changes neither its ranking
    nor the logit's standardised weight, and a logit that tracks the label gets the largest weight."""
    import random

    from engine.evaluation.hybrid import HybridLR

    rnd = random.Random(0)
    names = [f"Movie {i} (1990)" for i in range(30)]

    def sample(label: int) -> Sample:
        hist = rnd.sample(names, 6)
        return Sample(INSTRUCTIONS["movie"], build_input("movie", hist[:3], hist[3:], rnd.choice(names)),
                      "Yes." if label else "No.")

    train = [sample(rnd.randint(0, 1)) for _ in range(60)]
    fit = [sample(i % 2) for i in range(80)]
    logits = [(2 * s.label - 1) * 0.02 + rnd.gauss(0, 0.02) for s in fit]
    small = HybridLR(train, fit, logits)
    big = HybridLR(train, fit, [100 * x for x in logits])
    w_small, w_big = small.coefficients(), big.coefficients()
    assert w_small["llm_logit"] == pytest.approx(w_big["llm_logit"], rel=1e-3)
    assert w_small["llm_logit"] == max(w_small.values(), key=abs) > 0.5
    test = [sample(i % 2) for i in range(20)]
    test_logits = [rnd.gauss(0, 0.02) for _ in test]
    p_small = small.predict(test, test_logits)
    p_big = big.predict(test, [100 * x for x in test_logits])
    assert p_small == pytest.approx(p_big, abs=1e-6)
