"""`engine recommend` for a group (--with), with the popularity knob, a ratings floor and --export."""

from __future__ import annotations

import csv
import json

from db import open_db
from db.feedback import rating_counts
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
