"""Lists people can take elsewhere: "export this list" writes Letterboxd's list import (or JSON / Markdown),
`engine data export-ratings` Letterboxd's ratings import; both read back with `engine data import
letterboxd` to the same films (a list as a watchlist; ratings exactly)."""

from __future__ import annotations

import csv
import json

from db import open_db
from db.feedback import user_history, watchlist_ids
from db.users import find_user
from engine.chat.session import ChatSession
from tests.conftest import engine
from tests.fakes import FakeScorer
from tests.test_watchlist import store


def test_export_this_list_from_the_chat_and_import_it_back(tmp_path):
    db_path = store(tmp_path)
    session = ChatSession(db_path, "ml-latest-small-1", scorer_factory=FakeScorer)
    try:
        assert "no list on screen" in session.handle("export this list").text
        reply = session.handle("something good")
        list(session.rank(reply.plan))
        shown = [i.id for i in session.shown]
        out = tmp_path / "night.csv"
        said = session.handle(f"export this list to {out}").text
        assert said == f"Wrote {len(shown)} films to {out} (Letterboxd's list import: Title, Year, imdbID)."
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert list(rows[0]) == ["Title", "Year", "imdbID"] and len(rows) == len(shown)
        assert session.handle(f"export to {tmp_path / 'night.json'}").text.startswith("Wrote")
        assert [r["position"] for r in json.loads((tmp_path / "night.json").read_text())] == list(range(1, len(shown) + 1))
        assert session.handle(f"export to {tmp_path / 'night.md'}").text.startswith("Wrote")
        assert "Not exported: night.txt: write a list as .csv" in session.handle(f"export to {tmp_path / 'night.txt'}").text
        assert not (tmp_path / "night.txt").exists()
    finally:
        session.close()
    r = engine("data", "import", "letterboxd", out, "--user", "friend", "--db", db_path)
    assert r.exit_code == 0, r.output
    db = open_db(db_path)
    assert sorted(watchlist_ids(db, find_user(db, "friend"), "movie")) == sorted(shown)  # the same films


def test_ratings_export_round_trips_exactly(tmp_path):
    db_path = store(tmp_path)
    session = ChatSession(db_path, "ml-latest-small-2", scorer_factory=FakeScorer)
    try:
        session.handle("I loved Seven and hated Babylon 5")  # chat ratings, without stars
    finally:
        session.close()
    out = tmp_path / "ratings.csv"
    r = engine("data", "export-ratings", "--user", "ml-latest-small-2", "--out", out, "--db", db_path)
    assert r.exit_code == 0 and "wrote" in r.stdout, r.output
    back = engine("data", "import", "letterboxd", out, "--user", "copy", "--db", db_path)
    assert back.exit_code == 0, back.output
    db = open_db(db_path)
    original = {(h.item_id, h.liked) for h in user_history(db, find_user(db, "ml-latest-small-2"), "movie")}
    copied = {(h.item_id, h.liked) for h in user_history(db, find_user(db, "copy"), "movie")}
    assert copied == original and len(original) >= 3  # imported with stars, and said in the chat
    stars = {h.item_id: h.rating for h in user_history(db, find_user(db, "ml-latest-small-2"), "movie") if h.rating}
    assert {h.item_id: h.rating for h in user_history(db, find_user(db, "copy"), "movie")
            if h.item_id in stars} == stars  # the stars a rating had come back as they were


def test_export_ratings_errors_are_one_line(tmp_path):
    db_path = store(tmp_path)
    r = engine("data", "export-ratings", "--user", "nobody-here", "--db", db_path)
    assert r.exit_code == 1 and "Error:" in r.stderr and "\n" not in r.stderr.strip()
    (tmp_path / "a-folder.csv").mkdir()
    r = engine("data", "export-ratings", "--user", "ml-latest-small-1", "--out", tmp_path / "a-folder.csv",
               "--db", db_path)
    assert r.exit_code == 2 and "is a directory" in r.stderr  # refused before anything is read
