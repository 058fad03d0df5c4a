"""One like-rate: the store's current ratings per domain, the same number wherever it is read.

Prompt notes (db.feedback.like_rates, the user's own ratings left out), the stack's item_like_rate
(engine.collab.CollabModel.like_rate) and the evaluations (the same model over a snapshot) must agree
after a rating is changed and another retracted: the raw append-only log still holds both.
"""

from __future__ import annotations

import pytest

from db import open_db
from db.feedback import current_ratings, like_rates, record_feedback
from db.item_stats import smoothed_rate
from db.snapshot import read_domain
from db.users import get_or_create_user
from engine.collab import CollabModel
from engine.collab_cache import fit_from_store
from engine.recommend import with_like_rates
from engine.retrieval import Candidate
from engine.stack import feature_table
from engine.stack_fit import collab_without
from tests.conftest import count

ITEMS = [1, 50, 181]  # Toy Story, Star Wars, Return of the Jedi


def counts(db_path, item: int) -> tuple[int, int]:
    return (count(db_path, f"SELECT COALESCE(SUM(liked), 0) FROM current_feedback WHERE item_id = {item}"),
            count(db_path, f"SELECT COUNT(*) FROM current_feedback WHERE item_id = {item}"))


def test_changed_and_retracted_ratings_count_once_everywhere(ml100k_copy):
    db = open_db(ml100k_copy)
    likes0, seen0 = counts(ml100k_copy, 1)
    bob, eve = get_or_create_user(db, "bob"), get_or_create_user(db, "eve")
    record_feedback(db, bob, 1, True, ts=1.0)
    record_feedback(db, bob, 1, False, ts=2.0)  # bob changed his mind: one dislike
    record_feedback(db, eve, 1, True, ts=1.0)
    record_feedback(db, eve, 1, None, ts=2.0)  # eve took hers back: nothing
    assert count(ml100k_copy, "SELECT COUNT(*) FROM feedback WHERE item_id = 1 AND user_id IN "
                              f"({bob}, {eve})") == 4  # the log keeps every row

    total_likes = count(ml100k_copy, "SELECT SUM(liked) FROM current_feedback")
    total_seen = count(ml100k_copy, "SELECT COUNT(*) FROM current_feedback")
    expected = smoothed_rate(likes0, seen0 + 1, total_likes / total_seen)

    store = like_rates(db, ITEMS, "movie")
    model = fit_from_store(db, "movie")  # what the chat and recommend serve
    assert store[1] == pytest.approx(expected, abs=1e-12)
    assert [store[i] for i in ITEMS] == pytest.approx(list(model.like_rate(ITEMS)), abs=1e-12)
    stack_feature = feature_table(model, [], [], ITEMS)["item_like_rate"]
    assert list(stack_feature) == pytest.approx([store[i] for i in ITEMS], abs=1e-12)
    snap_model = collab_without(read_domain(db, "movie"))  # what eval and stack fit build
    assert list(snap_model.like_rate(ITEMS)) == pytest.approx([store[i] for i in ITEMS], abs=1e-12)

    # a prompt for bob leaves bob out: the rate the others give, as a model fitted without him says
    for_bob = with_like_rates(db, bob, "movie", [Candidate(model_item(db, i), 0.0) for i in ITEMS])
    without_bob = CollabModel.fit(current_ratings(db, "movie").without_users({bob}))
    assert [c.like_rate for c in for_bob] == pytest.approx(list(without_bob.like_rate(ITEMS)), abs=1e-12)
    assert for_bob[0].like_rate == pytest.approx(smoothed_rate(likes0, seen0, (total_likes) / (total_seen - 1)),
                                                 abs=1e-12)


def test_other_domains_do_not_count(ml100k_copy):
    db = open_db(ml100k_copy)
    before = like_rates(db, ITEMS, "movie")
    db.execute("INSERT INTO items (domain, source, source_id, name, title) VALUES ('book', 'test', '1', 'A Book', 'A Book')")
    book = count(ml100k_copy, "SELECT id FROM items WHERE domain = 'book'")
    for k in range(5):
        record_feedback(db, get_or_create_user(db, f"reader{k}"), book, False)
    assert like_rates(db, ITEMS, "movie") == before
    assert like_rates(db, [book], "book")[book] < 0.5


def model_item(db, item_id):
    from db.catalog import items_by_id

    return items_by_id(db, [item_id])[item_id]
