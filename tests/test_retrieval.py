"""Candidate retrieval on the real ML-100K store: never rated items, filters honoured, EASE order."""

from __future__ import annotations

import pytest

from db import open_db
from db.catalog import eligible_items
from db.feedback import liked_item_ids, rated_item_ids, record_feedback
from db.users import find_user, get_or_create_user
from engine.collab.cache import fit_from_store
from engine.rank.recommend import retrieve
from engine.rank.retrieval import Query
from engine.rank.retrieval import candidates as _candidates


@pytest.fixture
def store(ml100k_copy):
    return open_db(ml100k_copy, create=False)


def stored_candidates(db, model, user_id, query=Query(), n=50, extra_liked=()):
    """The request path's retrieval (engine.rank.recommend.retrieve): eligible ids, seeds, EASE order, then items."""
    return retrieve(db, model, user_id, query, n, seeds=tuple(extra_liked) if extra_liked else None)[1]


def test_request_path_ranks_as_items_in_memory_do(store):
    """retrieve() ranks ids and reads the kept items; `candidates` ranks items already read: same list,
    with and without a genre boost and a dislike."""
    uid = find_user(store, "ml100k-196")
    model = fit_from_store(store, "movie")
    disliked = (liked_item_ids(store, uid)[0],)
    for query in (Query(), Query(prefer_genres=("Sci-Fi",)), Query(year_max=1980, prefer_genres=("Comedy", "War"))):
        got = retrieve(store, model, uid, query, 40, disliked=disliked)[1]
        eligible = eligible_items(store, uid, query.item_filter(), exclude=disliked)
        want = _candidates(model, eligible, liked_item_ids(store, uid), query, 40, disliked=disliked)
        assert [(c.item, c.prior) for c in got] == [(c.item, c.prior) for c in want] and len(got) == 40


def candidates(db, user_id, query=Query(), n=50, extra_liked=()):
    """Retrieval with a model fitted on the store as it is now (the chat's refit does the same)."""
    return stored_candidates(db, fit_from_store(db, query.domain), user_id, query, n, extra_liked)


def test_never_returns_rated_items(store):
    uid = find_user(store, "ml100k-196")
    rated = rated_item_ids(store, uid)
    assert len(rated) == 39
    cands = candidates(store, uid, Query(), n=500)
    assert len(cands) == 500
    assert not rated & {c.item.id for c in cands}
    priors = [c.prior for c in cands]
    assert priors == sorted(priors, reverse=True)


def test_a_new_rating_leaves_the_candidates_and_a_retraction_brings_it_back(store):
    uid = get_or_create_user(store, "alice")
    top = candidates(store, uid, Query(), n=5)[0].item
    record_feedback(store, uid, top.id, False)
    assert top.id not in {c.item.id for c in candidates(store, uid, Query(), n=2000)}
    record_feedback(store, uid, top.id, None)  # retracted: unrated again
    assert top.id in {c.item.id for c in candidates(store, uid, Query(), n=2000)}


def test_new_user_gets_popularity_order(store):
    cands = candidates(store, None, Query(), n=3)
    most_rated = [r[0] for r in store.execute(
        "SELECT item_id FROM current_feedback GROUP BY item_id ORDER BY COUNT(*) DESC, item_id LIMIT 3")]
    assert [c.item.id for c in cands] == most_rated


def test_liked_items_pull_similar_items_up(store):
    uid = get_or_create_user(store, "bob")
    alien = store.execute("SELECT id FROM items WHERE name = 'Alien (1979)'").fetchone()[0]
    before = candidates(store, uid, Query(), n=20)
    model = fit_from_store(store, "movie")
    record_feedback(store, uid, alien, True)
    after = stored_candidates(store, model, uid, Query(), n=20)  # the model fitted before the like: fold-in
    assert before[0].prior < 1e-3 < after[0].prior  # popularity only breaks ties; EASE weights now order
    names = [c.item.name for c in after]
    assert "Aliens (1986)" in names[:5]
    assert "Alien (1979)" not in names


def test_more_like_x_is_not_popularity(store):
    """The issue's case: EASE's neighbours of Raising Arizona, not the most co-liked blockbusters."""
    ra = store.execute("SELECT id FROM items WHERE name = 'Raising Arizona (1987)'").fetchone()[0]
    top = [c.item.name for c in candidates(store, None, Query(), n=10, extra_liked=(ra,))]
    assert top[:3] == ["Pulp Fiction (1994)", "This Is Spinal Tap (1984)", "Heathers (1989)"]
    assert "Star Wars (1977)" not in top


def test_an_item_added_after_the_fit_is_reachable_by_text_and_scored_as_unknown(store):
    from engine.rank.recommend import candidate_table

    model = fit_from_store(store, "movie")  # fitted before the item exists
    with store.conn:
        store.execute("INSERT INTO items (domain, source, source_id, name, title, year, genres) "
                      "VALUES ('movie', 'ml-100k', 'x1', 'Zyzzyva Quest (2030)', 'Zyzzyva Quest', 2030, 'Comedy')")
    cands = stored_candidates(store, model, find_user(store, "ml100k-196"), Query(text="zyzzyva"), 5)
    assert [c.item.name for c in cands] == ["Zyzzyva Quest (2030)"]
    table = candidate_table(model, [], cands)  # a new user with no history, an item the model never saw
    assert table["ease_liked"][0] == 0 and table["log_popularity"][0] == 0
    assert table["item_like_rate"][0] == pytest.approx(model.global_rate)


def test_full_text_filter(store):
    cands = candidates(store, None, Query(text="alien"), n=50)
    assert {c.item.name for c in cands} >= {"Alien (1979)", "Aliens (1986)", "Alien 3 (1992)"}
    for c in cands:
        assert "alien" in f"{c.item.title} {c.item.genres} {c.item.creators}".lower()


def test_year_and_genre_filters(store):
    cands = candidates(store, None, Query(year_min=1980, year_max=1989, exclude_genres=("Horror", "Comedy")), n=300)
    assert len(cands) > 20
    for c in cands:
        assert 1980 <= c.item.year <= 1989
        assert "Horror" not in c.item.genres and "Comedy" not in c.item.genres


def test_query_symbols_are_safe_and_no_match_is_empty(store):
    odd = candidates(store, None, Query(text='star" ( * -wars:'), n=50)  # FTS syntax is quoted, not parsed
    assert odd and all("star" in c.item.title.lower() and "wars" in c.item.title.lower() for c in odd)
    assert candidates(store, None, Query(text="zzzzqqqq"), n=5) == []
    assert candidates(store, None, Query(domain="book"), n=5) == []


def test_like_rates_feed_the_notes_prompt(store):
    from db.scoring import PromptSettings
    from engine.rank.recommend import retrieve, with_like_rates

    uid = get_or_create_user(store, "bob")
    record_feedback(store, uid, 1, False)
    history, cands = retrieve(store, fit_from_store(store, "movie"), uid, Query(), 3)
    cands = with_like_rates(fit_from_store(store, "movie"), history, cands)
    assert all(0 < c.like_rate < 1 for c in cands)
    prompt = PromptSettings(notes=True).for_user("movie", history, cands[0].item, cands[0].like_rate)
    assert "The user liked 0 of 1 rated movies." in prompt
    assert f"(liked by {round(100 * cands[0].like_rate)}% of users)?" in prompt
    assert "liked by" not in PromptSettings().for_user("movie", history, cands[0].item, cands[0].like_rate)
