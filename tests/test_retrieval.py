"""Candidate retrieval on the real ML-100K store: never rated items, filters honoured, the learned order."""

from __future__ import annotations

import pytest

from db import open_db
from db.feedback import liked_item_ids, rated_item_ids, record_feedback
from db.users import find_user, get_or_create_user
from engine.collab.cache import fit_from_store
from engine.rank.recommend import retrieve
from engine.rank.retrieval import Query
from engine.rank.served import serving_order


@pytest.fixture
def store(ml100k_copy):
    return open_db(ml100k_copy, create=False)


def order_of(db, model=None):
    """The served order over the store as it is now (the chat's refit does the same)."""
    return serving_order(db, "movie", model or fit_from_store(db, "movie"), "ml-100k")


def stored_candidates(db, order, user_id, query=Query(), n=50, extra_liked=()):
    """The request path's retrieval (engine.rank.recommend.retrieve): eligible ids, channels, the ranker's order."""
    return retrieve(db, order, user_id, query, n, seeds=tuple(extra_liked) if extra_liked else None)[1]


def candidates(db, user_id, query=Query(), n=50, extra_liked=()):
    return stored_candidates(db, order_of(db), user_id, query, n, extra_liked)


def test_the_order_is_the_rankers_and_p_like_never_disagrees_with_it(store):
    """Candidates come in the learned ranker's order, and P(like) is one increasing function of its score:
    the number shown never goes up down the list, for a person, a genre asked for, a dislike."""
    uid = find_user(store, "ml100k-196")
    order = order_of(store)
    disliked = (liked_item_ids(store, uid)[0],)
    for query in (Query(), Query(prefer_genres=("Sci-Fi",)), Query(year_max=1980, prefer_genres=("Comedy", "War"))):
        got = retrieve(store, order, uid, query, 40, disliked=disliked)[1]
        assert len(got) == 40
        keys, p = [c.prior for c in got], [c.p_like for c in got]
        assert keys == sorted(keys, reverse=True) and p == sorted(p, reverse=True)
        assert all(0 < x < 1 for x in p)
        assert all(c.features is not None and c.features["ids"][0] == c.item.id for c in got)


def test_a_genre_asked_for_fills_the_list(store):
    uid = find_user(store, "ml100k-196")
    plain = candidates(store, uid, Query(), n=10)
    scifi = candidates(store, uid, Query(prefer_genres=("Sci-Fi",)), n=10)
    assert sum("Sci-Fi" in c.item.genres for c in scifi) >= 7 > sum("Sci-Fi" in c.item.genres for c in plain)


def test_never_returns_rated_items(store):
    uid = find_user(store, "ml100k-196")
    rated = rated_item_ids(store, uid)
    assert len(rated) == 39
    cands = candidates(store, uid, Query(), n=300)
    assert len(cands) == 300
    assert not rated & {c.item.id for c in cands}


def test_a_new_rating_leaves_the_candidates_and_a_retraction_brings_it_back(store):
    uid = get_or_create_user(store, "alice")
    before = [c.item.id for c in candidates(store, uid, Query(), n=5)]
    record_feedback(store, uid, before[0], False)
    assert before[0] not in {c.item.id for c in candidates(store, uid, Query(), n=300)}
    record_feedback(store, uid, before[0], None)  # retracted: unrated again, and the same list
    assert [c.item.id for c in candidates(store, uid, Query(), n=5)] == before


def test_a_new_user_gets_widely_rated_films(store):
    cands = candidates(store, None, Query(), n=5)
    most_rated = [r[0] for r in store.execute(
        "SELECT item_id FROM current_feedback GROUP BY item_id ORDER BY COUNT(*) DESC, item_id LIMIT 40")]
    assert all(c.item.id in most_rated for c in cands)


def test_liked_items_pull_similar_items_up(store):
    uid = get_or_create_user(store, "bob")
    alien = store.execute("SELECT id FROM items WHERE name = 'Alien (1979)'").fetchone()[0]
    before = [c.item.name for c in candidates(store, uid, Query(), n=10)]
    order = order_of(store)
    record_feedback(store, uid, alien, True)
    after = [c.item.name for c in stored_candidates(store, order, uid, Query(), n=10)]  # fitted before: fold-in
    alien_like = lambda names: sum(n.startswith(("Alien", "Terminator")) for n in names[:5])
    assert alien_like(after) >= 2 > alien_like(before)  # its series and kin come to the top
    assert "Alien (1979)" not in after


def test_more_like_x_follows_x(store):
    """The issue's case: neighbours of Raising Arizona, not the most co-liked blockbusters."""
    ra = store.execute("SELECT id FROM items WHERE name = 'Raising Arizona (1987)'").fetchone()[0]
    top = [c.item.name for c in candidates(store, None, Query(), n=10, extra_liked=(ra,))]
    assert {"Fargo (1996)", "Pulp Fiction (1994)", "Blood Simple (1984)", "Heathers (1989)",
            "This Is Spinal Tap (1984)"} & set(top[:5])
    assert "Star Wars (1977)" not in top[:3]


def test_an_item_added_after_the_fit_is_reachable_by_text_and_read_as_unrated(store):
    order = order_of(store)  # fitted before the item exists
    with store.conn:
        store.execute("INSERT INTO items (domain, source, source_id, name, title, year, genres) "
                      "VALUES ('movie', 'ml-100k', 'x1', 'Zyzzyva Quest (2030)', 'Zyzzyva Quest', 2030, 'Comedy')")
    cands = stored_candidates(store, order, find_user(store, "ml100k-196"), Query(text="zyzzyva"), 5)
    assert [c.item.name for c in cands] == ["Zyzzyva Quest (2030)"]
    assert cands[0].features["no_ratings"][0] == 1 and 0 < cands[0].p_like < 1


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
    history, cands = retrieve(store, order_of(store), uid, Query(), 3)
    cands = with_like_rates(fit_from_store(store, "movie"), history, cands)
    assert all(0 < c.like_rate < 1 for c in cands)
    prompt = PromptSettings(notes=True).for_user("movie", history, cands[0].item, cands[0].like_rate)
    assert "The user liked 0 of 1 rated movies." in prompt
    assert f"(liked by {round(100 * cands[0].like_rate)}% of users)?" in prompt
    assert "liked by" not in PromptSettings().for_user("movie", history, cands[0].item, cands[0].like_rate)
