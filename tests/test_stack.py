"""The stack: fitted weights round-trip, are found only for the model they were fitted for, and rank."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.rank.stack import NO_LLM, Reranker, Stack, choose_stack, find_stack


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("engine.rank.stack.SHIPPED_DIR", tmp_path / "shipped")


def toy_stack(llm: bool) -> Reranker:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int).tolist()
    names = ("llm_logit", "like_share") if llm else ("item_like_rate", "like_share")
    head = Stack.fit(X, y, names)
    return Reranker(head, head, "movie", "a" * 64 if llm else None, {"data": "toy"})


def test_weights_round_trip_and_predict_as_a_standardised_logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)) * [5.0, 0.01]
    y = (X[:, 1] > 0).astype(int).tolist()
    head = Stack.fit(X, y, ("llm_logit", "like_share"))
    sc = StandardScaler().fit(X)
    ref = LogisticRegression(max_iter=1000).fit(sc.transform(X), y).predict_proba(sc.transform(X))[:, 1]
    assert np.allclose(head.predict(X), ref, atol=1e-9)
    again = Stack.from_json(json.loads(json.dumps(head.to_json())))
    assert np.allclose(again.predict(X), ref, atol=1e-9)
    assert abs(head.weights()["like_share"]) > abs(head.weights()["llm_logit"])


def test_a_stack_is_used_only_for_the_model_it_was_fitted_for(tmp_path):
    own = toy_stack(llm=True)
    path = own.save()
    assert find_stack("a" * 64, "movie") is not None
    assert find_stack("b" * 64, "movie") is None  # another model: never this calibration
    assert find_stack("a" * 64, "book") is None
    # a file renamed to another model's sha still names its own inside: refused
    path.rename(path.with_name("b" * 64 + "-movie.json"))
    assert find_stack("b" * 64, "movie") is None


def test_a_malformed_stack_file_is_ignored(tmp_path):
    path = toy_stack(llm=True).save()
    path.write_text('{"like": {"features": ["llm_logit"], "mean": [0, 1], "scale": [1], "coef": [1], "intercept": 0}}')
    assert find_stack("a" * 64, "movie") is None
    path.write_text("{ truncated")
    assert find_stack("a" * 64, "movie") is None


def test_choice_says_what_ranks(tmp_path):
    none = choose_stack("c" * 64, "my.gguf", "movie")
    assert none.stack is None and "no fitted stack" in none.note and "engine stack fit --model my.gguf" in none.note
    toy_stack(llm=False).save()
    fallback = choose_stack("c" * 64, "my.gguf", "movie")
    assert fallback.stack is not None and not fallback.stack.uses_llm
    assert "without the LLM" in fallback.note
    asked = choose_stack(NO_LLM, NO_LLM, "movie")  # asking for the stack without the LLM is no shortfall
    assert asked.stack is not None and not asked.stack.uses_llm
    assert asked.note == "ranking by the collaborative stack without the LLM"
    borrowed = choose_stack(NO_LLM, NO_LLM, "movie", dataset="ml-latest-small")
    assert "`engine stack fit --no-llm --data valid.json --dataset ml-latest-small`" in borrowed.note
    toy_stack(llm=True).save()
    own = choose_stack("a" * 64, "model.gguf", "movie")
    assert own.stack.uses_llm and "LLM weight" in own.note


def test_a_stack_is_used_only_with_the_collaborative_model_it_was_fitted_on():
    """EASE's features are not ALS's: a catalog served by ALS never ranks with an EASE stack, and says so."""
    from dataclasses import replace

    toy_stack(llm=True).save()
    toy_stack(llm=False).save()
    assert find_stack("a" * 64, "movie", "als") is None and find_stack(None, "movie", "als") is None
    plain = choose_stack("a" * 64, "model.gguf", "movie", "als")
    assert plain.stack is None and "model.gguf with ALS has no fitted stack" in plain.note
    path = replace(toy_stack(llm=True), collab="als").save()
    assert path.name == "a" * 64 + "-movie-als.json"
    assert find_stack("a" * 64, "movie", "als").collab == "als"
    assert find_stack("a" * 64, "movie").collab == "ease"  # the EASE stack is still there, apart
    path.rename(path.with_name("a" * 64 + "-movie.json"))  # an ALS file under EASE's name: refused
    assert find_stack("a" * 64, "movie") is None


def test_stacks_are_kept_per_catalog_and_another_catalogs_serves_only_as_a_stated_fallback():
    default = toy_stack(llm=True)
    default.save()  # fitted on ML-100K (the default catalog): keeps the shipped file name
    assert default.dataset == "ml-100k" and (default.save().name == "a" * 64 + "-movie.json")
    assert find_stack("a" * 64, "movie", dataset="ml-latest-small") is None  # never reused silently
    borrowed = choose_stack("a" * 64, "model.gguf", "movie", dataset="ml-latest-small")
    assert borrowed.stack is not None and borrowed.stack.dataset == "ml-100k"
    assert "fitted on ml-100k: none is fitted on ml-latest-small yet" in borrowed.note
    assert "--dataset ml-latest-small" in borrowed.note
    own = toy_stack(llm=True)
    own.dataset = "ml-latest-small"
    assert own.save().name == "a" * 64 + "-movie-on-ml-latest-small.json"
    chosen = choose_stack("a" * 64, "model.gguf", "movie", dataset="ml-latest-small")
    assert chosen.stack.dataset == "ml-latest-small" and "fitted on ml-100k" not in chosen.note
    assert find_stack("a" * 64, "movie").dataset == "ml-100k"  # the ML-100K one is still the ML-100K one


def test_one_like_is_weak_evidence_ten_of_ten_strong():
    from engine.rank.stack import SHARE_PRIOR, shrunk_share

    assert SHARE_PRIOR == 5.0
    assert shrunk_share(1, 1, 0.55) == pytest.approx((1 + 5 * 0.55) / 6)  # 0.625, not 1.0
    assert shrunk_share(10, 10, 0.55) == pytest.approx(0.85)
    assert shrunk_share(0, 0, 0.55) == pytest.approx(0.55)  # no history: the catalog's rate
    assert shrunk_share(1, 1, 0.55) < shrunk_share(3, 3, 0.55) < shrunk_share(10, 10, 0.55)


def test_short_histories_get_the_short_head_and_it_round_trips():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 1))
    y = (X[:, 0] > 0).astype(int).tolist()
    sharp, flat = Stack.fit(X * 5, y, ("like_share",)), Stack.fit(X, y, ("like_share",))
    r = Reranker(sharp, None, "movie", None, short=flat)
    table = {"like_share": np.array([1.0, 1.0, 1.0]), "history_rated": np.array([1.0, 9.0, 10.0])}
    p = r.p_like(table)
    assert p[0] == p[1] == pytest.approx(flat.predict(np.array([[1.0]]))[0])
    assert p[2] == pytest.approx(sharp.predict(np.array([[1.0]]))[0])
    again = Reranker.from_json(json.loads(json.dumps(r.to_json())))
    assert np.allclose(again.p_like(table), p)
    assert np.allclose(Reranker(sharp, None).p_like(table), sharp.predict_table(table))  # an older file: one head


def test_cut_samples_are_the_last_k_ratings_as_the_whole_history(ml100k_copy):
    from db import open_db
    from db.prompt import parse_input
    from db.samples import build_splits
    from db.snapshot import read_domain
    from engine.evaluation.stack_fit import cut_samples

    db = open_db(ml100k_copy, create=False)
    snap = read_domain(db, "movie")
    samples = build_splits(db, "movie").valid[:50]
    for k, cut in zip((1, 3), cut_samples(snap, samples, (1, 3))):
        assert cut.k == k
        assert len(cut.samples) == len(cut.refs) == 50
        for s, c, ref in zip(samples, cut.samples, cut.refs):
            assert c.history == s.history[-k:] and c.label == s.label and c.item_id == s.item_id
            assert sorted(ref.liked + ref.disliked) == sorted(s.history[-k:])
            assert ref.all_liked == ref.liked and ref.all_disliked == ref.disliked  # a person with k ratings
            p, whole = parse_input("movie", c.input), parse_input("movie", s.input)
            assert len(p.liked) + len(p.disliked) == k and p.target == whole.target
            assert set(p.liked) <= set(whole.liked) and set(p.disliked) <= set(whole.disliked)


def test_the_support_term_counts_rarely_rated_items_down_in_the_order_only(monkeypatch):
    """One rating cannot lead a list: the ordering key is scaled by n / (n + SUPPORT_PRIOR); P(like) is not."""
    import engine.rank.handset as rec
    from db.scoring import Score

    head = Stack(("item_like_rate",), [0.0], [1.0], [1.0], 0.0)
    stack = Reranker(head, head, "movie", None)
    table = {"item_like_rate": np.array([0.9, 0.6]), "log_popularity": np.log1p([1.0, 200.0]),
             "history_rated": np.array([10.0, 10.0])}
    scores = [Score(0.0, 0.0)] * 2
    monkeypatch.setattr(rec, "SUPPORT_PRIOR", 0.0)
    like, key = rec.stack_scores(stack, table, scores, [1.0, 0.5])
    assert key[0] > key[1]  # no support term: the item with one rating leads
    monkeypatch.setattr(rec, "SUPPORT_PRIOR", 10.0)
    like2, key2 = rec.stack_scores(stack, table, scores, [1.0, 0.5])
    assert like2 == like  # P(like) as the head says
    assert key2[1] > key2[0]  # 1 / 11 of its key: the well-rated item leads
    assert np.allclose(rec.support(np.log1p([0.0, 10.0])), [0.0, 0.5])
