"""Sampled ranking metrics on the real ML-100K store and split."""

from __future__ import annotations

import json
import math

import pytest

from db import open_db
from db.feedback import rated_item_ids
from db.prompt import parse_input
from db.sample_files import read_samples
from db.snapshot import read_domain
from engine.evaluation.metrics import rank_of_first, ranking_metrics
from engine.evaluation.sampled_ranking import build_cases, evaluate_ranking
from db.scoring import Score
from tests.conftest import engine


def test_rank_counts_ties_half_and_metrics_read_it():
    assert rank_of_first([0.9, 0.1, 0.2]) == 1
    assert rank_of_first([0.5, 0.5, 0.5, 0.5]) == 2.5  # a constant scorer sits in the middle
    assert rank_of_first([0.1, 0.2, 0.3]) == 3
    m = ranking_metrics([1, 3, 7, 12])
    assert m["cases"] == 4 and m["hr@5"] == 0.5
    assert m["ndcg@10"] == pytest.approx(round((1 + 1 / math.log2(4) + 1 / math.log2(8)) / 4, 4))
    assert m["mrr"] == pytest.approx(round((1 + 1 / 3 + 1 / 7 + 1 / 12) / 4, 4))


def test_cases_use_never_rated_items_and_the_same_history(ml100k_copy, movie_split_dir):
    db = open_db(ml100k_copy, create=False)
    samples = read_samples(movie_split_dir / "test.json")[0][:200]
    cases = build_cases(read_domain(db, "movie"), samples, negatives=19, per_user=2, seed=0)
    assert cases and all(len(c.samples) == 20 for c in cases)
    per_user: dict[int, int] = {}
    for c in cases:
        pos, *negs = c.samples
        assert pos.label == 1 and all(n.label == 0 for n in negs)
        rated = rated_item_ids(db, pos.user_id)
        assert not rated & {n.item_id for n in negs} and len({n.item_id for n in negs}) == 19
        p = parse_input("movie", pos.input)
        for n in negs:
            q = parse_input("movie", n.input)
            assert (q.liked, q.disliked) == (p.liked, p.disliked) and q.target != p.target
        per_user[pos.user_id] = per_user.get(pos.user_id, 0) + 1
    assert max(per_user.values()) <= 2
    again = build_cases(read_domain(db, "movie"), samples, negatives=19, per_user=2, seed=0)
    assert [[s.item_id for s in c.samples] for c in again] == [[s.item_id for s in c.samples] for c in cases]
    # an oracle that knows the liked item ranks it first; item-only rankers come from training statistics
    train = read_samples(movie_split_dir / "train.json")[0]
    out = evaluate_ranking(cases, lambda ss: [Score(10.0 * s.label, 0.0) for s in ss], train)
    assert out["llm"]["hr@5"] == 1.0 and out["llm"]["mrr"] == 1.0
    assert set(out) == {"negatives", "users", "llm", "item_like_rate", "popularity"}


def test_eval_ranking_table_and_json(ml100k_copy, movie_split_dir, tmp_path):
    out = tmp_path / "r.json"
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "test.json", "--limit", "12",
               "--ranking", "--hybrid-fit", movie_split_dir / "valid.json", "--hybrid-limit", "16", "--json", out)
    assert r.exit_code == 0, r.output
    assert "HR@5" in r.stdout and "item_like_rate" in r.stdout
    rk = json.loads(out.read_text())["ranking"]
    assert rk["negatives"] == 19 and 0 <= rk["llm"]["hr@5"] <= 1 and rk["llm"]["cases"] >= 1
    assert {"llm", "item_like_rate", "popularity", "hybrid"} <= set(rk)
    assert rk["hybrid"]["cases"] == rk["llm"]["cases"]


def test_eval_ranking_needs_ids(ml100k_copy, tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([{"instruction": "x", "input": 'User Preference: "A (1990)"\nUser Unpreference: \n'
                                  'Whether the user will like the target movie "B (1991)"?', "output": "Yes."}]))
    r = engine("eval", "--db", ml100k_copy, "--data", plain, "--ranking")
    assert r.exit_code == 1 and "--ranking needs liked samples with user_id and item_id" in r.stderr
