"""Every MovieLens release layout and any RecBole dataset, from files the tests write; one catalog at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from db import open_db
from db.catalog import catalog_items, resolve_item
from db.catalogs import choice, use_catalog
from db.errors import RecchatError
from db.importers.movielens import import_movielens
from engine.sources.table import SOURCES, sources_markdown
from tests.conftest import ROOT, SHARED, count, dump, engine, needs_shared

CSV_MOVIES = ('movieId,title,genres\n'
              '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n'
              '2,"American President, The (1995)",Comedy|Drama|Romance\n'
              '3,"Seven (a.k.a. Se7en) (1995)",Mystery|Thriller\n'
              '4,"Film with ""quotes""\nand a newline (2001)",(no genres listed)\n'
              '5,Babylon 5,Sci-Fi\n')
CSV_RATINGS = ("userId,movieId,rating,timestamp\n"
               "1,1,4.0,964982703\n1,2,3.5,964981247\n1,3,3.0,964982224\n2,1,5.0,964983815\n2,4,0.5,964983816\n"
               "2,99,4.0,964983817\n"  # unknown movie
               "2,3,7.0,964983818\n"  # out of range
               "2,5,oops,964983819\n"  # non-numeric
               "2,1,5.0,964983815\n"  # duplicate event
               "3,5,4.5,96498")  # truncated last line: still four fields, a short timestamp
CSV_TAGS = 'userId,movieId,tag,timestamp\n1,1,pixar,1\n2,1,Pixar,2\n2,1,fun,3\n1,3,"twist, ending",4\n'
CSV_LINKS = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,9087\n3,0114369,807\n4,,\n5,0105946,\n"


def write_csv_release(folder: Path, name: str = "ml-latest-small", readme: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "movies.csv").write_text(CSV_MOVIES, encoding="utf-8", newline="")
    (folder / "ratings.csv").write_text(CSV_RATINGS.replace("\n", "\r\n"), encoding="utf-8", newline="")  # Windows ends
    (folder / "tags.csv").write_text(CSV_TAGS, encoding="utf-8")
    (folder / "links.csv").write_text(CSV_LINKS, encoding="utf-8")
    if readme:
        (folder / "README.txt").write_text(f"Summary\n=======\n\nThis dataset ({name}) describes 5-star rating ...\n")
    return folder


def zip_folder(folder: Path, zpath: Path) -> Path:
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"{folder.name}/{p.name}")
    return zpath


def test_csv_release_items_links_tags_and_bad_rows(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    db_path = tmp_path / "s.db"
    r = engine("data", "import", "movielens", zip_folder(src, tmp_path / "ml-latest-small.zip"), "--db", db_path)
    assert r.exit_code == 0, r.output
    assert "ratings.csv:7: unknown item id '99'" in r.stderr
    assert "ratings.csv:8: rating 7 outside 0.5-5" in r.stderr
    assert "ratings.csv:9: non-numeric rating or timestamp" in r.stderr
    assert "added 5 items, 3 users, 6 feedback, 4 links" in r.stdout  # the duplicate event added nothing
    db = open_db(db_path)
    items = {i.title: i for i in catalog_items(db, "movie").values()}
    assert items["Toy Story"].genres == "Adventure, Animation, Children's, Comedy, Fantasy"  # one spelling
    assert items["Toy Story"].text == "tags: pixar, fun"  # case-folded, most applied first
    assert items["American President, The"].year == 1995
    assert items["Seven (a.k.a. Se7en)"].text == "tags: twist, ending"
    assert items['Film with "quotes" and a newline'].genres == ""  # (no genres listed); the newline folded
    assert items['Film with "quotes" and a newline'].year == 2001
    assert items["Babylon 5"].year is None
    assert count(db_path, "SELECT imdb FROM item_links l JOIN items i ON i.id = l.item_id WHERE i.source_id = '1'") == 114709
    assert count(db_path, "SELECT COUNT(*) FROM users WHERE name = 'ml-latest-small-1' AND dataset = 'ml-latest-small'") == 1
    assert count(db_path, "SELECT liked FROM feedback f JOIN items i ON i.id = f.item_id WHERE i.source_id = '2'") == 1  # 3.5
    assert count(db_path, "SELECT liked FROM feedback f JOIN items i ON i.id = f.item_id WHERE i.source_id = '3'") == 0  # 3.0
    before = dump(db_path)
    again = engine("data", "import", "movielens", src, "--db", db_path)
    assert again.exit_code == 0 and "added nothing" in again.stdout
    assert dump(db_path) == before


@pytest.mark.parametrize("release", ["ml-20m", "ml-25m", "ml-32m", "ml-latest"])
def test_each_csv_release_is_named_by_its_readme(tmp_path, release):
    src = write_csv_release(tmp_path / "download", release)
    report = import_movielens(open_db(tmp_path / "s.db"), src)
    assert report.source == release
    assert count(tmp_path / "s.db", f"SELECT COUNT(*) FROM items WHERE source = '{release}'") == 5


def test_ml1m_dat_files_in_latin1(tmp_path):
    src = tmp_path / "ml-1m"
    src.mkdir()
    (src / "movies.dat").write_bytes("1::Toy Story (1995)::Animation|Children's|Comedy\n"
                                     "2::Misérables, Les (1995)::Drama|Musical\n".encode("iso-8859-1"))
    (src / "users.dat").write_text("1::F::1::10::48067\n")
    (src / "ratings.dat").write_text("1::1::5::978300760\n1::2::3::978302109\n2::2::4::978301968\n1::3::4::1\n")
    r = engine("data", "import", "movielens", src, "--db", tmp_path / "s.db", "--release", "ml-1m")
    assert r.exit_code == 0, r.output
    assert "ratings.dat:4: unknown item id '3'" in r.stderr
    names = sorted(i.name for i in catalog_items(open_db(tmp_path / "s.db"), "movie").values())
    assert names == ["Misérables, Les (1995)", "Toy Story (1995)"]
    assert count(tmp_path / "s.db", "SELECT COUNT(*) FROM users WHERE name LIKE 'ml-1m-%'") == 2


def test_ml10m_dat_files_with_tags_and_half_stars(tmp_path):
    src = tmp_path / "ml-10M100K"
    src.mkdir()
    (src / "movies.dat").write_text("1::Toy Story (1995)::Adventure|Animation|Children|Comedy|Fantasy\n")
    (src / "tags.dat").write_text("15::1::pixar::1138537770\n")
    (src / "ratings.dat").write_text("1::1::3.5::838985046\n2::1::2.5::838983525\n")
    zpath = zip_folder(src, tmp_path / "ml-10m.zip")
    report = import_movielens(open_db(tmp_path / "s.db"), zpath)
    assert report.source == "ml-10m" and report.added["feedback"] == 2
    (toy,) = catalog_items(open_db(tmp_path / "s.db"), "movie").values()
    assert toy.genres.startswith("Adventure, Animation, Children's") and toy.text == "tags: pixar"


def test_a_zip_of_another_release_than_named_is_refused(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    zpath = zip_folder(src, tmp_path / "ml-25m.zip")
    r = engine("data", "import", "movielens", zpath, "--db", tmp_path / "s.db")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    assert "holds ml-latest-small, not ml-25m" in r.stderr
    r = engine("data", "import", "movielens", src, "--release", "ml-1m", "--db", tmp_path / "s.db")
    assert r.exit_code == 1 and "holds ml-latest-small, not ml-1m as --release says" in r.stderr
    assert count(tmp_path / "s.db", "SELECT COUNT(*) FROM items") == 0


def test_truncated_zip_and_foreign_folder_are_one_line_errors(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    zpath = zip_folder(src, tmp_path / "ml-latest-small.zip")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(zpath.read_bytes()[: len(zpath.read_bytes()) // 2])
    db = tmp_path / "s.db"
    foreign = tmp_path / "other"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a release")
    for bad in (cut, foreign):
        r = engine("data", "import", "movielens", bad, "--db", db)
        assert r.exit_code == 1 and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert count(db, "SELECT COUNT(*) FROM feedback") == 0


def test_recbole_dataset_with_its_own_field_names_and_implicit_feedback(tmp_path):
    ds = tmp_path / "book-x"
    ds.mkdir()
    (ds / "book-x.item").write_text("item_id:token\tbook_title:token_seq\tbook_author:token_seq\tpublication_year:token\n"
                                    "b1\tDune\tFrank Herbert\t1965\nb2\tEmma\tJane Austen\t1815\n")
    (ds / "book-x.inter").write_text("user_id:token\titem_id:token\trating:float\nu1\tb1\t9\nu1\tb2\t2\nu2\tb1\tNaN\n")
    r = engine("data", "import", "recbole", ds, "--domain", "book", "--db", tmp_path / "s.db")
    assert r.exit_code == 0, r.output
    assert "book-x.inter:4: rating or time is NaN" in r.stderr
    books = {i.title: i for i in catalog_items(open_db(tmp_path / "s.db"), "book").values()}
    assert books["Dune"].name == '"Dune" written by Frank Herbert' and books["Dune"].year == 1965
    liked = dict(open_db(tmp_path / "s.db").execute(
        "SELECT i.title, f.liked FROM feedback f JOIN items i ON i.id = f.item_id").fetchall())
    assert liked == {"Dune": 1, "Emma": 0}  # top rating 9: liked above 4.5
    imp = tmp_path / "clicks"
    imp.mkdir()
    (imp / "clicks.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\na\tx\t1\nb\tx\t2\nb\ty\t3\n")
    r = engine("data", "import", "recbole", imp, "--db", tmp_path / "s.db")
    assert r.exit_code == 0 and "added 2 items, 2 users, 3 feedback" in r.stdout
    assert count(tmp_path / "s.db", "SELECT COUNT(*) FROM feedback f JOIN users u ON u.id = f.user_id "
                                    "WHERE u.dataset = 'clicks' AND liked = 1") == 3


def test_one_catalog_at_a_time_with_two_releases_in_one_store(tmp_path, monkeypatch):
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", ROOT / "tests" / "fixtures" / "ml100k-grouplens", "--db", db_path).exit_code == 0
    assert engine("data", "import", "movielens", write_csv_release(tmp_path / "ml-latest-small"), "--db", db_path).exit_code == 0
    db = open_db(db_path)
    n100k = count(db_path, "SELECT COUNT(*) FROM items WHERE source = 'ml-100k'")
    default = choice(db, "movie")
    # the default is the larger catalog here: the fixture ML-100K is the smaller one
    expected = "ml-100k" if n100k > 5 else "ml-latest-small"
    assert default.dataset == expected and "the largest in the store" in default.describe()
    toys = [i for i in catalog_items(db, "movie").values() if i.title == "Toy Story"]
    assert len(toys) <= 1  # never twice
    picked = use_catalog(db, "movie", "ml-latest-small")
    assert "chosen with --dataset" in picked.describe()
    assert [i.title for i in catalog_items(db, "movie").values()].count("Toy Story") == 1
    assert resolve_item(db, "Toy Story").title == "Toy Story"  # not ambiguous across releases
    with pytest.raises(RecchatError, match="no movie catalog named 'ml-25m'.*ml-latest-small"):
        use_catalog(db, "movie", "ml-25m")
    monkeypatch.setenv("RECCHAT_DATASET", "ml-latest-small")
    assert choice(open_db(db_path), "movie").dataset == "ml-latest-small"
    r = engine("data", "catalogs", "--db", db_path)
    assert "ml-latest-small" in r.stdout and "(default)" in r.stdout


def test_sources_table_drives_the_cli_and_the_docs():
    from engine.cli.data_import import data_import

    assert sorted(data_import.commands) == sorted(s.name for s in SOURCES)
    assert sources_markdown() in (ROOT / "docs" / "data.md").read_text(), "regenerate: engine data sources --markdown"
    r = engine("data", "import", "letterboxd", "--help")
    assert "rating > 3 of 5" in r.stdout


def test_a_killed_import_leaves_the_store_as_it_was(tmp_path):
    folder = tmp_path / "ml-latest-small"
    write_csv_release(folder)
    with open(folder / "ratings.csv", "w") as f:  # enough ratings that the import is still running when killed
        f.write("userId,movieId,rating,timestamp\n")
        for k in range(400_000):
            f.write(f"{k % 5000},{1 + k % 5},{0.5 + (k % 10) / 2},{k}\n")
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", ROOT / "tests" / "fixtures" / "ml100k-grouplens", "--db", db_path).exit_code == 0
    before = dump(db_path)
    proc = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "data", "import", "movielens", str(folder), "--db",
                             str(db_path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = Path(str(db_path) + "-wal")
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 2_000_000:  # halfway: ratings are being written
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert dump(db_path) == before
    r = engine("data", "import", "movielens", folder, "--db", db_path)  # the next import finds a clean store
    assert r.exit_code == 0 and "added 5 items" in r.stdout


@needs_shared
def test_ml_latest_small_exact_counts(tmp_path):
    db_path = tmp_path / "s.db"
    r = engine("data", "import", "movielens", SHARED / "ml-latest-small", "--db", db_path)
    assert r.exit_code == 0, r.output
    assert "skipped 0 bad rows" in r.stdout
    assert count(db_path, "SELECT COUNT(*) FROM feedback") == 100_836
    assert count(db_path, "SELECT COUNT(*) FROM items WHERE source = 'ml-latest-small'") == 9_742
    assert count(db_path, "SELECT COUNT(*) FROM users WHERE dataset = 'ml-latest-small'") == 610
    assert count(db_path, "SELECT COUNT(*) FROM item_links") == 9_742


@needs_shared
def test_a_store_holding_only_ml_latest_small_splits_without_naming_it(tmp_path):
    """`engine data split movie` works on the store's catalog like every other catalog command (it used to
    look for ml-100k and fail on a store that holds only ml-latest-small)."""
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "movielens", SHARED / "ml-latest-small", "--db", db_path).exit_code == 0
    r = engine("data", "split", "movie", "--db", db_path, "--out", tmp_path / "splits")
    assert r.exit_code == 0, r.output
    assert "8000 train, 1000 valid, 1000 test" in r.stdout
    import json

    users = {s["user_id"] for s in json.loads((tmp_path / "splits" / "test.json").read_text())}
    names = {row[0] for row in open_db(db_path).execute(
        f"SELECT name FROM users WHERE id IN ({','.join(map(str, users))})")}
    assert names and all(n.startswith("ml-latest-small-") for n in names)
