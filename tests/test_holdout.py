"""Full-catalog hold-out metrics by hand, the split, and one real run of every ranker."""

from __future__ import annotations

import math

import pytest

from db import open_db
from engine.evaluation import holdout
from db.snapshot import read_domain
from engine.evaluation.metrics import user_metrics


def test_metrics_by_hand():
    m = user_metrics([5, 1, 7, 2, 9], {1, 2, 3}, k=3)
    # hits at ranks 2 and 4; top-3 holds one of three relevant
    assert m["recall@3"] == pytest.approx(1 / 3)
    dcg = 1 / math.log2(3)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"] == pytest.approx(dcg / idcg)
    assert m["mrr"] == pytest.approx(1 / 2)
    perfect = user_metrics([1, 2, 3, 4], {1, 2}, k=10)
    assert perfect == {"recall@10": 1.0, "ndcg@10": pytest.approx(1.0), "mrr": 1.0}
    assert user_metrics([4, 5], {1}, k=10) == {"recall@10": 0.0, "ndcg@10": 0.0, "mrr": 0.0}


def test_ranked_items_leave_out_rated_and_keep_order():
    import numpy as np

    assert holdout.ranked_items(np.array([0.1, 0.9, 0.5, 0.9]), np.array([10, 11, 12, 13]), [11]) == [13, 12, 10]


def test_split_hides_the_last_ratings_from_every_model(ml100k_store):
    split = holdout.holdout_split(read_domain(open_db(ml100k_store, create=False), "movie"), last=5)
    assert 800 < len(split.users) <= 943
    assert len(split.train.users) == 100_000 - 943 * 5  # every user with more than 5 ratings loses the last 5
    hu = split.users[0]
    assert len(hu.held) == 5 and hu.relevant
    assert max(h.ts for h in hu.history) <= min(h.ts for h in hu.held)
    hidden = {(hu.user_id, h.item_id) for hu in split.users for h in hu.held}
    seen = set(zip(split.train.users.tolist(), split.train.items.tolist()))
    assert not hidden & seen
    fit, ev = holdout.partition(split.users, 0)
    assert not {u.user_id for u in fit} & {u.user_id for u in ev}


def test_catalog_eval_ranks_every_model_and_the_pipeline(ml100k_store, tmp_path, monkeypatch):
    """A real, small run: the served pipeline without the LLM beats popularity on the same users."""
    from engine.evaluation.catalog_eval import evaluate_catalog
    from engine.evaluation.stack_fit import fit_head
    from engine.rank.stack import COLLAB_FEATURES, Reranker

    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    snap = read_domain(open_db(ml100k_store, create=False), "movie")
    split = holdout.holdout_split(snap)
    fit_half, _ = holdout.partition(split.users, 0)
    model = holdout.CollabModel.fit(split.train)
    table, labels = holdout.rank_rows(model, holdout.sample_users(fit_half, 60, 0), split.catalog, snap.items)
    head = fit_head(table, labels, COLLAB_FEATURES)
    Reranker(head, head, "movie", None).save()
    from db.knowledge import film_facts
    from engine.rank.served import choose_ranker

    report = evaluate_catalog(snap, None, n_users=60, last=5, candidates=50, seed=0, log=lambda m: None,
                              films=film_facts(open_db(ml100k_store, create=False), "movie"),
                              ranker=choose_ranker("ml-100k").ranker)
    assert set(report.metrics) == {"popularity", "item-knn", "als", "ease", "previous pipeline without LLM",
                                   "retrieval ordered by P(like), no LLM", "learned ranker (served)"}
    m = report.metrics
    assert m["ease"]["ndcg@10"] > m["popularity"]["ndcg@10"]
    assert m["previous pipeline without LLM"]["ndcg@10"] > m["popularity"]["ndcg@10"]
    assert m["learned ranker (served)"]["ndcg@10"] > m["popularity"]["ndcg@10"]
    assert "NDCG@10 / best classic" in report.table()
