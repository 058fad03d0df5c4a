"""`engine recommend` for a group (--with), with the popularity knob, a ratings floor and --export."""

from __future__ import annotations

import csv
import json

from db import open_db
from db.feedback import rating_counts
from engine.rank.recommend import with_gems
from tests.conftest import engine
from tests.test_among import fake_model, ids_by_name, store  # noqa: F401 (fixtures)


def test_recommend_for_a_group_shows_every_member_and_exports(store, tmp_path, fake_model):  # noqa: F811
    out = tmp_path / "night.csv"
    r = engine("recommend", "--db", store, "--user", "ml-latest-small-1", "--with", "newcomer",
               "--top", "3", "--json", "--export", out)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows and all(set(row["members"]) == {"ml-latest-small-1", "newcomer"} for row in rows)
    db = open_db(store, create=False)
    rated = {i for (i,) in db.execute("SELECT DISTINCT item_id FROM feedback f JOIN users u ON u.id = f.user_id "
                                      "WHERE u.name IN ('ml-latest-small-1')").fetchall()}
    assert not rated & {row["id"] for row in rows}  # nothing either of them rated
    assert [row["Title"] for row in csv.DictReader(out.open())] == [
        name.rsplit(" (", 1)[0] for name in (row["name"] for row in rows)]
    table = engine("recommend", "--db", store, "--user", "ml-latest-small-1", "--with", "newcomer")
    assert "Match" in table.stdout and "ml-latest-" in table.stdout.splitlines()[0]


def test_popularity_and_min_ratings(store, fake_model):  # noqa: F811
    db = open_db(store, create=False)
    counts = rating_counts(db, "movie")
    floor = sorted(counts.values())[len(counts) // 2]
    r = engine("recommend", "--db", store, "--user", "someone-new", "--min-ratings", str(floor), "--top", "12", "--json")
    assert r.exit_code == 0, r.output
    assert all(counts.get(row["id"], 0) >= floor for row in json.loads(r.stdout))
    low = engine("recommend", "--db", store, "--user", "ml-latest-small-1", "--popularity", "low", "--json")
    high = engine("recommend", "--db", store, "--user", "ml-latest-small-1", "--popularity", "high", "--json")
    mean = lambda res: sum(counts.get(row["id"], 0) for row in json.loads(res.stdout)) / len(json.loads(res.stdout))
    assert low.exit_code == high.exit_code == 0 and mean(low) <= mean(high)
    bad = engine("recommend", "--db", store, "--user", "x", "--popularity", "medium")
    assert bad.exit_code == 2 and "medium" in bad.stderr


def test_hidden_gems_take_the_last_places_the_order_would_give_others():
    """Half of the list shown from the less-rated half: the head keeps the order, gems fill what is left."""
    rows = list(range(20))  # the order's own ranking; gems are the odd numbers from 11 on, and 3
    gem = {3, 11, 13, 15, 17, 19}.__contains__
    out = with_gems(rows, 10, gem)
    assert out[:10] == [0, 1, 2, 3, 4, 5, 11, 13, 15, 17] and sum(map(gem, out[:10])) == 5
    assert sorted(out) == rows and out[10:] == [6, 7, 8, 9, 10, 12, 14, 16, 18, 19]
    assert with_gems(rows, 10, {1, 2, 3, 4, 5, 6}.__contains__) == rows  # enough gems where the order put them
    assert with_gems(rows, 10, {15}.__contains__)[:10] == [0, 1, 2, 3, 4, 15, 5, 6, 7, 8]  # fewer gems than owed: at once
    assert with_gems(rows, 5, gem)[:5] == [0, 1, 3, 11, 13]  # 3 of 5


def test_hidden_gems_give_half_the_list_from_the_less_rated_half(ml100k_copy, tmp_path, monkeypatch, fake_model):  # noqa: F811
    """ML-100K, a real user: the default top 10 holds fewer than five films from the less-rated half; "low" five."""
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    counts = rating_counts(open_db(ml100k_copy, create=False), "movie")
    median = sorted(counts.values())[len(counts) // 2]  # the less-rated half: no more ratings than the median film
    half = lambda res: sum(counts.get(row["id"], 0) <= median for row in json.loads(res.stdout))
    args = ("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--top", "10", "--json")
    default, low = engine(*args), engine(*args, "--popularity", "low")
    assert default.exit_code == low.exit_code == 0, low.output
    assert len(json.loads(low.stdout)) == 10 and half(low) >= 5 > half(default)
    match = [row["match"] for row in json.loads(low.stdout) if counts.get(row["id"], 0) > median]
    assert match == sorted(match, reverse=True)  # the others keep the order's own order
