"""The learned order (issue 52): candidates from named channels, a LambdaRank ranker over them, its calibration,
its per-feature contributions, its files, and the temporal requests it learns from. Tiny hand-made data: seconds."""

from __future__ import annotations

import numpy as np
import pytest

from db.feedback import Feedback
from db.knowledge import FilmFacts
from db.types import Interaction
from engine.collab.content import fit_cold_map
from engine.collab.content_index import ContentIndex
from engine.collab.model import CollabModel
from engine.evaluation.ltr_requests import requests_at
from engine.evaluation.temporal_split import cut
from engine.rank.channels import CHANNELS, PICKERS, Sizes, candidates
from engine.rank.ltr import LearnedRanker, Params, rank
from engine.rank.ltr_features import FEATURES, film_table
from engine.rank.signals import DAY, Ask, Recency, Signals


def film(i, title, year, genres, tags=None, people=None):
    return FilmFacts(i, title, year, tuple(genres), tags or {}, {}, people or [])


FILMS = [
    film(1, "Dune", 2021, ["Sci-Fi", "Adventure"], {"desert": 3}, [("director", 7, 0)]),
    film(2, "Arrival", 2016, ["Sci-Fi", "Drama"], {"aliens": 2}, [("director", 7, 0)]),
    film(3, "Notebook, The", 2004, ["Romance", "Drama"], {"romantic": 4}),
    film(4, "Love Actually", 2003, ["Romance", "Comedy"], {"romantic": 2}),
    film(5, "Dune: Part Two", 2024, ["Sci-Fi", "Adventure"], people=[("director", 7, 0)]),  # nobody rated it
    film(6, "Notebook II", 2025, ["Romance"]),  # nobody rated it
    film(7, "Blade Runner", 1982, ["Sci-Fi"]),
]
USERS = np.array([10, 10, 10, 11, 11, 11, 12, 12, 13, 20, 20, 21, 21, 22, 22, 23, 24, 25])
ITEMS = np.array([1, 2, 7, 1, 2, 7, 1, 2, 1, 3, 4, 3, 4, 3, 4, 4, 4, 4])
AT = 1_000 * DAY


@pytest.fixture(scope="module")
def signals() -> Signals:
    model = CollabModel.fit(Feedback(USERS, ITEMS, np.ones(len(ITEMS), dtype=np.int64)))
    model = model.with_cold(fit_cold_map(FILMS, model.item_ids, model.popularity(model.item_ids)))
    ts = AT - DAY * np.arange(len(ITEMS))
    return Signals(model, ContentIndex.build(FILMS), Recency.from_events(ITEMS, ts, AT))


def test_the_union_carries_the_channels_that_brought_each_film(signals):
    ask = Ask(liked=(1,), genres=("Romance",), at=AT)
    ids = np.array([2, 3, 4, 5, 6, 7])
    sizes = Sizes(collab=2, seeds=5, content=2, words=1, popular=1)
    table = film_table(signals, ask, ids)
    got = candidates(table, sizes)
    expected: dict[int, set[str]] = {}
    for c in CHANNELS:
        for row in PICKERS[c](table, getattr(sizes, c)):
            expected.setdefault(int(ids[row]), set()).add(c)
    assert sorted(got["ids"].tolist()) == sorted(expected)
    for k, i in enumerate(got["ids"]):
        assert {c for c in CHANNELS if got[f"ch_{c}"][k] == 1} == expected[int(i)]
    assert not got["ch_seeds"].any()  # no seed, no seed channel
    by_id = dict(zip(got["ids"].tolist(), range(len(got["ids"]))))
    assert got["ch_collab"][by_id[2]] == 1  # Arrival: liked with Dune by the same people
    words = [int(i) for i, w in zip(got["ids"], got["ch_words"]) if w]
    assert len(words) == 1 and words[0] in (3, 4, 6)  # one romance, as asked


def test_a_film_nobody_rated_arrives_through_the_content_channel(signals):
    ask = Ask(liked=(1, 2), at=AT)
    table = film_table(signals, ask, np.array([3, 4, 5, 6, 7]))
    got = candidates(table, Sizes(collab=10, seeds=10, content=2, words=10, popular=0))
    k = got["ids"].tolist().index(5)  # Dune: Part Two
    assert got["ch_content"][k] == 1 and got["ch_collab"][k] == 0 and got["no_ratings"][k] == 1
    assert 5 not in candidates(table, Sizes(collab=10, seeds=10, content=0, words=10, popular=0))["ids"]
    assert got["same_series"][k] == 1 and got["shared_people"][k] == 2  # Dune's franchise, Villeneuve


def synthetic(groups: int, size: int = 12, seed: int = 0):
    """Requests whose one later like is the row with the highest ease_likes; every other feature is noise."""
    rng = np.random.default_rng(seed)
    n = groups * size
    table = {f: rng.normal(size=n) for f in FEATURES}
    table["ids"] = np.arange(n)
    labels = np.zeros(n)
    for g in range(groups):
        best = g * size + rng.integers(size)
        table["ease_likes"][best] = table["ease_likes"][g * size:(g + 1) * size].max() + 1.0
        labels[best] = 1
    return table, labels, [size] * groups


SMALL = Params(num_leaves=4, n_estimators=40, learning_rate=0.2, min_child_samples=2)


@pytest.fixture(scope="module")
def fitted() -> LearnedRanker:
    table, labels, groups = synthetic(60)
    ranker = LearnedRanker.fit(table, labels, groups, SMALL)
    valid, vlabels, _ = synthetic(30, seed=1)
    return ranker.calibrate(ranker.score(valid), vlabels)


def test_the_ranker_orders_a_planted_best_candidate_first(fitted):
    table, labels, groups = synthetic(20, seed=2)
    scores = fitted.score(table)
    firsts = [np.argmax(scores[g * 12:(g + 1) * 12]) == np.argmax(labels[g * 12:(g + 1) * 12]) for g in range(20)]
    assert np.mean(firsts) >= 0.9


def test_contributions_sum_to_the_raw_score(fitted):
    table, _, _ = synthetic(2, seed=3)
    scores = fitted.score(table)
    for row in (0, 5, 17):
        parts = fitted.contributions(table, row)
        assert set(parts) == {*FEATURES, "bias"}
        assert sum(parts.values()) == pytest.approx(scores[row], abs=1e-9)
    assert max(parts, key=lambda f: abs(parts[f]) if f != "bias" else 0) == "ease_likes"


def test_calibration_is_monotone_and_a_probability(fitted):
    s = np.linspace(-5, 5, 101)
    p = fitted.p_like(s)
    assert np.all(np.diff(p) > 0) and p.min() > 0 and p.max() < 1
    table, labels, _ = synthetic(10, seed=4)
    assert fitted.p_like(fitted.score(table))[labels == 1].mean() > 0.5 > fitted.p_like(fitted.score(table))[labels == 0].mean()


def test_save_and_load_keep_the_order_and_write_no_paths(fitted, tmp_path):
    fitted.fitted_on = {"dataset": "synthetic"}
    folder = fitted.save(tmp_path / "ranker")
    again = LearnedRanker.load(folder)
    table, _, _ = synthetic(3, seed=5)
    assert np.allclose(again.score(table), fitted.score(table))
    assert again.platt == fitted.platt and again.features == fitted.features
    assert again.cold_popular == fitted.cold_popular and again.cold_platt == fitted.cold_platt
    for f in folder.iterdir():
        text = f.read_text(encoding="utf-8")
        assert str(tmp_path) not in text and "/home/" not in text and "/tmp/" not in text


def test_rank_orders_one_request_end_to_end(signals, fitted):
    ordered, p = rank(fitted, signals, Ask(liked=(1,), at=AT), np.array([2, 3, 4, 5, 6, 7]))
    assert len(ordered["ids"]) == len(set(ordered["ids"].tolist())) >= 3
    assert np.all(np.diff(p) <= 0) and np.all((p > 0) & (p < 1))  # P(like) never disagrees with the order


def test_a_cold_request_can_keep_recent_popularity(signals, fitted):
    ids = np.array([1, 2, 3, 4, 5, 6, 7])
    ranker = LearnedRanker(fitted.booster, fitted.features, fitted.platt, cold_popular=True, cold_platt=(2.0, -1.0))
    ordered, p = rank(ranker, signals, Ask(at=AT), ids, Sizes(popular=4))
    recent = dict(zip(signals.recency.item_ids.tolist(), signals.recency.recent.tolist()))
    assert ordered["ids"][0] == max(recent, key=recent.get)  # Love Actually: six ratings this year
    assert np.allclose(p, ranker.p_like(ranker.key(ordered), cold=True)) and np.all(np.diff(p) <= 0)
    warm, _ = rank(ranker, signals, Ask(liked=(1,), at=AT), ids[1:])
    assert np.allclose(ranker.key(warm), ranker.score(warm))  # a request with likes: the model's order


def test_requests_come_from_the_fitting_side_and_new_films_are_new():
    def ev(i, liked, day):
        return Interaction(i, str(i), liked, 4.0 if liked else 2.0, day * DAY)
    timelines = {1: [ev(1, True, 1), ev(3, False, 2), ev(2, True, 20), ev(5, True, 21)],
                 2: [ev(1, True, 3), ev(2, True, 4)],
                 3: [ev(2, True, 22), ev(7, True, 23)]}  # no history before the cut: a cold request
    c = cut(timelines, FILMS, 10 * DAY, 30 * DAY)
    assert c.new == {5, 7}
    reqs = requests_at(0, c, FILMS, relevance_of=None)
    me = {r.user_id: r for r in reqs if r.kind == "for me"}
    assert me[1].ask.liked == (1,) and me[1].ask.disliked == (3,) and me[1].targets == {2, 5}
    assert me[3].ask.liked == () and me[3].targets == {2, 7}
    assert 2 not in me  # nothing liked in the window
    for r in reqs:
        assert all(i not in r.exclude for i in r.targets)
        assert not set(r.ask.seeds) & r.targets
