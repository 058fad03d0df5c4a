"""One like-rate: the store's current ratings per domain, the same number wherever it is read.

The stack's item_like_rate and the evaluations' snapshot models (engine.collab.model.CollabModel.like_rate)
and the prompt notes (the same, the asking user's ratings left out) must agree with a hand count over
`current_feedback` after a rating is changed and another retracted: the append-only log keeps both.
"""

from __future__ import annotations

import pytest

from db import open_db
from db.catalog import items_by_id
from db.feedback import current_ratings, record_feedback, user_history
from db.item_stats import smoothed_rate
from db.snapshot import read_domain
from db.users import get_or_create_user
from engine.collab.model import CollabModel
from engine.collab.cache import fit_from_store
from engine.rank.recommend import with_like_rates
from engine.rank.retrieval import Candidate
from engine.rank.stack import feature_table
from engine.evaluation.stack_fit import collab_without
from tests.conftest import count

ITEMS = [1, 50, 181]  # Toy Story, Star Wars, Return of the Jedi


def hand_count(db_path, item: int, domain: str = "movie", without_user: int = -1) -> float:
    """The formula over current_feedback, written out in SQL."""
    scope = f"FROM current_feedback c JOIN items i ON i.id = c.item_id WHERE i.domain = '{domain}' " \
            f"AND c.user_id != {without_user}"
    likes = count(db_path, f"SELECT COALESCE(SUM(c.liked), 0) {scope} AND c.item_id = {item}")
    seen = count(db_path, f"SELECT COUNT(*) {scope} AND c.item_id = {item}")
    total_likes = count(db_path, f"SELECT COALESCE(SUM(c.liked), 0) {scope}")
    total = count(db_path, f"SELECT COUNT(*) {scope}")
    return smoothed_rate(likes, seen, total_likes / total)


def test_changed_and_retracted_ratings_count_once_everywhere(ml100k_copy):
    db = open_db(ml100k_copy)
    likes0, seen0 = (count(ml100k_copy, "SELECT SUM(liked) FROM current_feedback WHERE item_id = 1"),
                     count(ml100k_copy, "SELECT COUNT(*) FROM current_feedback WHERE item_id = 1"))
    bob, eve = get_or_create_user(db, "bob"), get_or_create_user(db, "eve")
    record_feedback(db, bob, 1, True, ts=1.0)
    record_feedback(db, bob, 1, False, ts=2.0)  # bob changed his mind: one dislike
    record_feedback(db, bob, 50, True, ts=3.0)
    record_feedback(db, eve, 1, True, ts=1.0)
    record_feedback(db, eve, 1, None, ts=2.0)  # eve took hers back: nothing
    assert count(ml100k_copy, f"SELECT COUNT(*) FROM feedback WHERE item_id = 1 AND user_id IN ({bob}, {eve})") == 4

    expected = [hand_count(ml100k_copy, i) for i in ITEMS]
    total_likes = count(ml100k_copy, "SELECT SUM(liked) FROM current_feedback")
    total = count(ml100k_copy, "SELECT COUNT(*) FROM current_feedback")
    assert expected[0] == pytest.approx(smoothed_rate(likes0, seen0 + 1, total_likes / total), abs=1e-12)

    served = fit_from_store(db, "movie")  # what the chat and recommend serve
    assert list(served.like_rate(ITEMS)) == pytest.approx(expected, abs=1e-12)
    assert list(feature_table(served, [], [], ITEMS)["item_like_rate"]) == pytest.approx(expected, abs=1e-12)
    snapshot = collab_without(read_domain(db, "movie"))  # what eval and stack fit build
    assert list(snapshot.like_rate(ITEMS)) == pytest.approx(expected, abs=1e-12)

    # a prompt for bob says what the others think: his own ratings leave counts and global rate
    own = user_history(db, bob, "movie")
    items = items_by_id(db, ITEMS)
    for_bob = with_like_rates(served, own, [Candidate(items[i], 0.0) for i in ITEMS])
    others = [hand_count(ml100k_copy, i, without_user=bob) for i in ITEMS]
    assert [c.like_rate for c in for_bob] == pytest.approx(others, abs=1e-12)
    without_bob = CollabModel.fit(current_ratings(db, "movie").without_users({bob}))
    assert [c.like_rate for c in for_bob] == pytest.approx(list(without_bob.like_rate(ITEMS)), abs=1e-12)


def test_other_domains_do_not_count(ml100k_copy):
    db = open_db(ml100k_copy)
    before = list(fit_from_store(db, "movie").like_rate(ITEMS))
    db.execute("INSERT INTO items (domain, source, source_id, name, title) VALUES ('book', 'test', '1', 'A Book', 'A Book')")
    book = count(ml100k_copy, "SELECT id FROM items WHERE domain = 'book'")
    for k in range(5):
        record_feedback(db, get_or_create_user(db, f"reader{k}"), book, False)
    assert list(fit_from_store(db, "movie").like_rate(ITEMS)) == before
    assert fit_from_store(db, "book").like_rate([book])[0] == pytest.approx(hand_count(ml100k_copy, book, "book"))
