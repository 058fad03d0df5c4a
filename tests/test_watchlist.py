"""A person's watchlist (Letterboxd watchlist.csv, IMDb's watchlist export) is a list of its own: imported
beside the ratings, every file of the export named in the report; "from my watchlist" ranks only those,
elsewhere they are not hidden; "start over" and "not from my watchlist" lift the limit."""

from __future__ import annotations

import zipfile

from db import open_db
from db.feedback import watchlist_ids
from db.users import find_user
from engine.chat.session import ChatSession
from tests.conftest import count, engine
from tests.fakes import FakeScorer
from tests.test_import_movielens import write_csv_release

LB_HEADER = "Date,Name,Year,Letterboxd URI"
IMDB_WATCHLIST_HEADER = ("Position,Const,Created,Modified,Description,Title,Original Title,URL,Title Type,IMDb Rating,"
                         "Runtime (mins),Year,Genres,Num Votes,Release Date,Directors,Your Rating,Date Rated")


def store(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "movielens", src, "--db", db_path).exit_code == 0
    return db_path


def letterboxd_zip(tmp_path):
    z = tmp_path / "letterboxd-me.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ratings.csv", LB_HEADER + ",Rating\r\n2024-02-01,Toy Story,1995,https://boxd.it/toy,4.5\r\n")
        zf.writestr("watched.csv", LB_HEADER + "\r\n2024-02-01,Toy Story,1995,https://boxd.it/toy\r\n")
        zf.writestr("watchlist.csv", LB_HEADER + "\r\n2024-03-01,Seven,1995,https://boxd.it/se7en\r\n"
                                                 "2024-03-02,Babylon 5,,https://boxd.it/b5\r\n"
                                                 "2024-03-03,Oppenheimer,2023,https://boxd.it/opp\r\n")
        zf.writestr("profile.csv", "Date Joined,Username\r\n2020-01-01,me\r\n")
        zf.writestr("likes/films.csv", LB_HEADER + "\r\n")
    return z


def test_letterboxd_watchlist_lands_as_a_list_and_the_report_names_every_file(tmp_path):
    db_path = store(tmp_path)
    r = engine("data", "import", "letterboxd", letterboxd_zip(tmp_path), "--user", "me", "--db", db_path)
    assert r.exit_code == 0, r.output
    for line in ("read ratings.csv", "read watched.csv", "read watchlist.csv", "not read: profile.csv (your profile)",
                 "not read: likes/films.csv (films you hearted (not a rating))"):
        assert line in r.stderr
    assert "Oppenheimer (2023) is not in the catalog" in r.stderr
    assert "added 1 feedback, 2 watchlist" in r.stdout
    db = open_db(db_path)
    uid = find_user(db, "me")
    names = {i: n for i, n in db.execute("SELECT id, title FROM items").fetchall()}
    assert [names[i] for i in watchlist_ids(db, uid, "movie")] == ["Babylon 5", "Seven (a.k.a. Se7en)"]  # latest first
    assert count(db_path, "SELECT COUNT(*) FROM seen") == 0  # a watchlist entry is not a film seen
    again = engine("data", "import", "letterboxd", letterboxd_zip(tmp_path), "--user", "me", "--db", db_path)
    assert "added nothing" in again.stdout


def test_imdb_watchlist_export(tmp_path):
    db_path = store(tmp_path)
    f = tmp_path / "WATCHLIST.csv"
    f.write_text(IMDB_WATCHLIST_HEADER + "\n"
                 '1,tt0114369,2024-01-05,2024-01-05,,Se7en,Se7en,https://www.imdb.com/title/tt0114369/,Movie,8.6,127,1995,"Crime, Drama",1900000,1995-09-22,David Fincher,,\n')
    r = engine("data", "import", "imdb", f, "--user", "me", "--db", db_path)
    assert r.exit_code == 0, r.output
    assert "read WATCHLIST.csv (a watchlist)" in r.stderr and "added 1 watchlist" in r.stdout
    db = open_db(db_path)
    assert len(watchlist_ids(db, find_user(db, "me"), "movie")) == 1


def test_from_my_watchlist_ranks_only_those_and_is_undone(tmp_path):
    db_path = store(tmp_path)
    engine("data", "import", "letterboxd", letterboxd_zip(tmp_path), "--user", "me", "--db", db_path)
    session = ChatSession(db_path, "me", scorer_factory=FakeScorer)
    try:
        listed = set(session.store.watchlist(session.user_id))
        everything = {c.item.id for c in session.plan().candidates}
        assert listed <= everything  # elsewhere watchlisted films are not hidden
        reply = session.handle("something from my watchlist")
        assert "from your watchlist" in reply.text
        assert {c.item.id for c in reply.plan.candidates} == listed
        back = session.handle("not from my watchlist")
        assert {c.item.id for c in back.plan.candidates} == everything
        session.handle("from my watchlist")
        assert not session.handle("start over").plan.candidates == []
        assert session.state.watchlist is False
    finally:
        session.close()
    other = ChatSession(db_path, "someone-else", scorer_factory=FakeScorer)
    try:
        reply = other.handle("anything on my watchlist?")
        assert "Your watchlist is empty here" in reply.text and reply.plan.candidates == []
    finally:
        other.close()
