"""The queries behind a chat request use indexes: none reads the ratings table (or the catalog) whole.

At 20M ratings a full scan of `feedback` costs seconds per request; EXPLAIN QUERY PLAN shows it on
ML-100K already. The statements are the ones the request path really issues (a trace callback); the catalog's signals
(content, rating times) are read once per chat, before it."""

from __future__ import annotations

import re

from db import open_db
from db.feedback import current_rating, current_ratings, changes_since, rated_item_ids, store_mark
from db.users import find_user
from engine.collab.model import CollabModel
from engine.rank.recommend import retrieve
from engine.rank.retrieval import Query
from engine.rank.served import serving_order

VIRTUAL = {"json_each", "items_fts", "main.items_fts_config", "items_fts_config"}  # no table behind them
FULL_SCAN = re.compile(r"^SCAN (\S+)")


def full_scans(db, sql: str) -> list[str]:
    details = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    return [d for d in details if (m := FULL_SCAN.match(d)) and m.group(1) not in VIRTUAL]


def test_the_request_path_never_scans_a_table_whole(ml100k_copy):
    db = open_db(ml100k_copy, create=False)
    order = serving_order(db, "movie", CollabModel.fit(current_ratings(db, "movie")), "ml-100k")  # once per chat
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)  # expanded SQL: the bound values are in the text
    uid = find_user(db, "ml100k-1")
    for query in (Query("comedies", None, None, domain="movie"), Query("alien", 1980, None, domain="movie"), Query()):
        retrieve(db, order, uid, query, 50)
    current_rating(db, uid, 5)
    rated_item_ids(db, uid)
    changes_since(db, "movie", store_mark(db, "movie"))  # the collaborative model's refit check, after each rating
    db.conn.set_trace_callback(None)

    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) >= 10 and any("current_feedback" in s for s in selects)
    scans = {s[:120]: full_scans(db, s) for s in selects}
    assert {s: d for s, d in scans.items() if d} == {}


def test_the_checker_sees_a_full_scan(ml100k_copy):
    db = open_db(ml100k_copy, create=False)
    assert full_scans(db, "SELECT COUNT(*) FROM feedback WHERE source = 'import'")
    assert full_scans(db, "SELECT * FROM items WHERE year = 1995")
    assert not full_scans(db, "SELECT * FROM items WHERE id = 3")
