"""IMDb's non-commercial datasets: format-faithful dumps the tests write (gzipped TSV, `\\N`, no quoting) into a
store holding a small MovieLens catalog; and the resumable fetch against a loopback server serving Range."""

from __future__ import annotations

import email.utils
import gzip
import http.server
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from db import RecchatError, open_db
from db.catalog import catalog_items
from db.fetch import fetch_imdb_datasets
from db.imdb import DATASETS, FILES
from db.importers.imdb_datasets import DEFAULT_MIN_VOTES, catalog_genres, import_imdb_datasets
from db.importers.movielens import import_movielens
from engine.sources.history import import_history
from engine.vocab.mentions import TitleIndex
from tests.conftest import closed_port, dump, engine

# ------------------------------------------------------------------ the catalog: a MovieLens CSV release
ML_MOVIES = ('movieId,title,genres\n'
             '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n'
             '2,"Seven (a.k.a. Se7en) (1995)",Mystery|Thriller\n'
             '3,Babylon 5,Sci-Fi\n'
             '4,Heat (1995),Action|Crime|Thriller\n'
             '5,Fargo (1996),Comedy|Crime|Drama|Thriller\n')
ML_LINKS = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0114369,807\n3,0105946,\n4,0113277,949\n5,,\n"
ML_RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,5.0,964982704\n2,4,3.0,964982705\n2,5,4.5,964982706\n"


def write_movielens(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "movies.csv").write_text(ML_MOVIES)
    (folder / "links.csv").write_text(ML_LINKS)
    (folder / "ratings.csv").write_text(ML_RATINGS)
    (folder / "README.txt").write_text("This dataset (ml-latest-small) describes 5-star rating ...\n")
    return folder


# ------------------------------------------------------------------ the dump
N = "\\N"
HEADERS = {
    "title.ratings": "tconst\taverageRating\tnumVotes",
    "title.basics": "tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\truntimeMinutes\tgenres",
    "title.crew": "tconst\tdirectors\twriters",
    "title.principals": "tconst\tordering\tnconst\tcategory\tjob\tcharacters",
    "name.basics": "nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\tknownForTitles",
}
BASICS = [
    ("tt0000501", "movie", 'The "Quoted" Picture', 'The "Quoted" Picture', "0", "1950", N, N, "Comedy,Family,Music"),
    ("tt0105946", "tvSeries", "Babylon 5", "Babylon 5", "0", "1993", "1998", "42", "Drama,Sci-Fi"),
    ("tt0113277", "movie", "Heat", "Heat", "0", "1995", N, "170", "Action,Crime,Drama"),
    ("tt0114369", "movie", "Se7en", "Se7en", "0", "1995", N, "127", "Crime,Drama,Mystery"),
    ("tt0114709", "movie", "Toy Story", "Toy Story", "0", "1995", N, "81", "Adventure,Animation,Comedy,Family,Fantasy"),
    ("tt0903747", "tvSeries", "Breaking Bad", "Breaking Bad", "0", "2008", "2013", "49", "Crime,Drama,Thriller"),
    ("tt15239678", "movie", "Dune: Part Two", "Dune: Part Two", "0", "2024", N, "166", "Action,Adventure,Drama"),
    ("tt15398776", "movie", "Oppenheimer", "Oppenheimer", "0", "2023", N, "180", "Biography,Drama,History"),
    ("tt6751668", "movie", "Parasite", "Gisaengchung", "0", "2019", N, "132", "Drama,Thriller"),
    ("tt9900001", "movie", "Untitled Yearless Film", "Untitled Yearless Film", "0", N, N, "95", N),
    ("tt9900002", "movie", "Adult Blockbuster", "Adult Blockbuster", "1", "2010", N, "90", "Adult"),
    ("tt9900003", "movie", "Little Seen Film", "Little Seen Film", "0", "2015", N, "88", "Drama"),
    ("tt9900004", "short", "Popular Short", "Popular Short", "0", "2020", N, "10", "Comedy,Short"),
    ("tt9900005", "movie", "Broken Line"),  # too few fields, and popular: a counted bad row
]
RATINGS = [("tt0000501", "7.1", "12000"), ("tt0105946", "8.3", "500"), ("tt0113277", "8.3", "750000"),
           ("tt0114369", "8.6", "1900000"), ("tt0114709", "8.3", "1100000"), ("tt0903747", "9.5", "2200000"),
           ("tt15239678", "8.5", "600000"), ("tt15398776", "8.3", "900000"), ("tt6751668", "8.5", "1000000"),
           ("tt9900001", "6.0", "20000"), ("tt9900002", "5.0", "50000"), ("tt9900003", "6.5", "500"),
           ("tt9900004", "7.0", "50000"), ("tt9900005", "6.0", "20000"), ("tt9900006", "x.y", "many")]
CREW = [("tt0105946", N, "nm0821251"), ("tt0113277", "nm0000520", "nm0000520"), ("tt0114369", "nm0000399", "nm0101046"),
        ("tt0114709", "nm0005124", "nm0005124,nm0004056"), ("tt0903747", "nm0319213", "nm0319213"),
        ("tt15398776", "nm0634240", "nm0634240"), ("tt6751668", "nm0094435", "nm0094435,nm1889152"),
        ("tt9900001", N, N)]
PRINCIPALS = [
    ("tt0000501", "1", "nm0000501", "actress", N, '["Q"]'),
    ("tt0113277", "1", "nm0000199", "actor", N, '["Lt. Vincent Hanna"]'),
    ("tt0114369", "1", "nm0000151", "actor", N, '["Somerset"]'),
    ("tt0114369", "2", "nm0000093", "actor", N, '["Mills"]'),
    ("tt0114369", "3", "nm0000399", "director", N, N),
    ("tt0114709", "1", "nm0000158", "actor", N, '["Woody"]'),
    ("tt0114709", "2", "nm0000741", "actor", N, '["Buzz Lightyear"]'),
    ("tt0114709", "3", "nm0005124", "director", N, N),
    ("tt0114709", "4", "nm0004056", "writer", "story by", N),
    ("tt0114709", "5", "nm0005271", "composer", N, N),  # not a role the store keeps
    ("tt0114709", "6"),  # too few fields: a counted bad row
    ("tt0903747", "1", "nm0186505", "actor", N, '["Walter White"]'),  # not kept: Cranston is never read
    ("tt15398776", "1", "nm0614165", "actor", N, '["J. Robert Oppenheimer"]'),
    ("tt15398776", "2", "nm0000250", "actress", N, '["Kitty Oppenheimer"]'),
    ("tt15398776", "3", "nm0634240", "director", N, N),
    ("tt15398776", "4", "nm0634240", "writer", "screenplay by", N),
    ("tt15398776", "5", "nm0634240", "self", N, '["Himself"]'),  # one person: director, writer and cast
    ("tt15398776", "6", "nm9999999", "actor", N, '["Nobody"]'),  # name.basics lacks them: a counted bad row
    ("tt15398776", "7", "nm0000354", "actor", N, '["Leslie Groves"]'),
    ("tt15398776", "8", "nm0083348", "writer", "based on the book by", N),  # a writer title.crew does not list
    ("tt6751668", "1", "nm0814280", "actor", N, '["Ki-taek"]'),
    ("tt9900003", "1", "nm0000102", "actor", N, '["Someone"]'),  # not kept
]
NAMES = [("nm0000093", "Brad Pitt", "1963"), ("nm0000102", "Kevin Bacon", "1958"), ("nm0000151", "Morgan Freeman", "1937"),
         ("nm0000158", "Tom Hanks", "1956"), ("nm0000199", "Al Pacino", "1940"), ("nm0000250", "Emily Blunt", "1983"),
         ("nm0000354", "Matt Damon", "1970"), ("nm0000399", "David Fincher", "1962"), ("nm0000501", 'Jim "Jimbo" Example', N),
         ("nm0000520", "Michael Mann", "1943"), ("nm0000741", "Tim Allen", "1953"), ("nm0004056", "Pete Docter", "1968"),
         ("nm0005124", "John Lasseter", "1957"), ("nm0005271", "Randy Newman", "1943"), ("nm0083348", "Kai Bird", "1951"),
         ("nm0094435", "Bong Joon Ho", "1969"), ("nm0101046", "Andrew Kevin Walker", "1964"),
         ("nm0186505", "Bryan Cranston", "1956"), ("nm0319213", "Vince Gilligan", "1967"),
         ("nm0614165", "Cillian Murphy", "1976"), ("nm0634240", "Christopher Nolan", "1970"),
         ("nm0814280", "Song Kang-ho", "1967"), ("nm0821251", "J. Michael Straczynski", "1954"),
         ("nm1889152", "Han Jin-won", N)]
DUMP_DAY = 1_735_689_600  # 2025-01-01 UTC


def dump_rows() -> dict[str, list[tuple]]:
    return {"title.ratings": list(RATINGS), "title.basics": list(BASICS), "title.crew": list(CREW),
            "title.principals": list(PRINCIPALS),
            "name.basics": [(n, name, birth, N, "actor", "tt0114709") for n, name, birth in NAMES]}


def write_dump(folder: Path, rows: dict[str, list[tuple]] | None = None, *, plain: tuple[str, ...] = (),
               day: int = DUMP_DAY) -> Path:
    """IMDb's five files as IMDb writes them: UTF-8, a header, tabs, `\\N`, no quoting, `\\n` line ends, gzipped
    (or plain .tsv for the names in `plain`), each file's mtime the dump's day."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = rows or dump_rows()
    for name in DATASETS:
        text = HEADERS[name] + "\n" + "".join("\t".join(r) + "\n" for r in rows[name])
        path = folder / (f"{name}.tsv" if name in plain else f"{name}.tsv.gz")
        if name in plain:
            path.write_text(text, encoding="utf-8")
        else:
            with gzip.open(path, "wb") as f:
                f.write(text.encode("utf-8"))
        os.utime(path, (day, day))
    return folder


def newer_rows() -> dict[str, list[tuple]]:
    """The next dump: more votes, a new film, a renamed IMDb-added film, a role gone, a renamed person."""
    rows = dump_rows()
    rows["title.ratings"] = [("tt15398776", "8.3", "950000") if r[0] == "tt15398776" else r for r in rows["title.ratings"]]
    rows["title.ratings"].append(("tt31193180", "7.9", "300000"))
    rows["title.basics"] = [(r[0], r[1], 'The "Quoted" Picture Show', *r[3:]) if r[0] == "tt0000501" else r
                            for r in rows["title.basics"]]
    rows["title.basics"].append(("tt31193180", "movie", "Sinners", "Sinners", "0", "2025", N, "137", "Horror,Thriller"))
    rows["title.principals"] = [r for r in rows["title.principals"] if r[2:3] != ("nm0000741",)]
    rows["title.principals"].append(("tt31193180", "1", "nm0430107", "actor", N, '["Smoke", "Stack"]'))
    rows["name.basics"] = [(n, "Emily Olivia Blunt" if n == "nm0000250" else name, *rest) for n, name, *rest in rows["name.basics"]]
    rows["name.basics"].append(("nm0430107", "Michael B. Jordan", "1987", N, "actor", "tt31193180"))
    return rows


@pytest.fixture(scope="module")
def catalog_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("imdb-catalog")
    path = root / "store.db"
    import_movielens(open_db(path), write_movielens(root / "ml-latest-small"))
    return path


@pytest.fixture
def store(catalog_store, tmp_path) -> Path:
    """A private copy of the store with the MovieLens catalog."""
    dst = tmp_path / "store.db"
    src, out = sqlite3.connect(catalog_store), sqlite3.connect(dst)
    src.backup(out)
    src.close()
    out.close()
    return dst


def rows_of(path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def roles_of(path: Path, source_id: str) -> list[tuple]:
    return rows_of(path, """SELECT ip.role, p.name, ip.ordering FROM item_people ip JOIN people p ON p.id = ip.person_id
                           JOIN items i ON i.id = ip.item_id WHERE i.source_id = ? ORDER BY ip.role, ip.ordering""",
                   (source_id,))


def facts_of(path: Path, source_id: str) -> tuple:
    return rows_of(path, """SELECT f.runtime, f.imdb_rating, f.imdb_votes, f.updated FROM item_facts f
                           JOIN items i ON i.id = f.item_id WHERE i.source_id = ?""", (source_id,))[0]


# ------------------------------------------------------------------ import
def test_import_enriches_the_catalog_and_adds_popular_films(store, tmp_path):
    report = import_imdb_datasets(open_db(store), write_dump(tmp_path / "imdb"))
    items = {i.name: i for i in catalog_items(open_db(store), "movie").values()}
    added = {"Oppenheimer (2023)", "Dune: Part Two (2024)", "Parasite (2019)", 'The "Quoted" Picture (1950)',
             "Untitled Yearless Film"}
    assert set(items) == {"Toy Story (1995)", "Seven (a.k.a. Se7en) (1995)", "Babylon 5", "Heat (1995)", "Fargo (1996)",
                          *added}  # no tvSeries, adult, short, under-min-votes or broken title; Se7en not duplicated
    assert items["Oppenheimer (2023)"].genres == "Drama"  # Biography and History have no catalog word
    assert items['The "Quoted" Picture (1950)'].genres == "Children's, Comedy"  # Family is MovieLens' Children's
    assert items['The "Quoted" Picture (1950)'].title == 'The "Quoted" Picture'
    assert items["Untitled Yearless Film"].year is None and items["Untitled Yearless Film"].genres == ""
    assert items["Seven (a.k.a. Se7en) (1995)"].genres == "Mystery, Thriller"  # MovieLens' own item is not renamed
    assert rows_of(store, "SELECT source, source_id, l.imdb FROM items i JOIN item_links l ON l.item_id = i.id "
                          "WHERE i.name = 'Oppenheimer (2023)'") == [("ml-latest-small", "tt15398776", 15398776)]

    assert facts_of(store, "tt15398776") == (180, 8.3, 900000, "2025-01-01")
    assert facts_of(store, "3") == (42, 8.3, 500, "2025-01-01")  # Babylon 5: a tvSeries, 500 votes, still enriched
    assert facts_of(store, "tt9900001") == (95, 6.0, 20000, "2025-01-01")
    assert rows_of(store, "SELECT COUNT(*) FROM item_facts")[0][0] == 9  # 4 enriched + 5 added; Fargo has no link

    assert roles_of(store, "tt15398776") == [
        ("cast", "Cillian Murphy", 1), ("cast", "Emily Blunt", 2), ("cast", "Christopher Nolan", 5),
        ("cast", "Matt Damon", 7), ("director", "Christopher Nolan", 1),
        ("writer", "Christopher Nolan", 1), ("writer", "Kai Bird", 2)]
    assert roles_of(store, "1") == [("cast", "Tom Hanks", 1), ("cast", "Tim Allen", 2), ("director", "John Lasseter", 1),
                                    ("writer", "John Lasseter", 1), ("writer", "Pete Docter", 2)]  # composer left out
    assert roles_of(store, "2") == [("cast", "Morgan Freeman", 1), ("cast", "Brad Pitt", 2), ("director", "David Fincher", 1),
                                    ("writer", "Andrew Kevin Walker", 1)]
    people = dict(rows_of(store, "SELECT name, birth_year FROM people"))
    assert people['Jim "Jimbo" Example'] is None and people["Han Jin-won"] is None and people["Tom Hanks"] == 1956
    assert not {"Bryan Cranston", "Kevin Bacon", "Vince Gilligan", "Randy Newman"} & set(people)  # not kept titles' people
    assert rows_of(store, "SELECT imdb FROM people WHERE name = 'Christopher Nolan'") == [(634240,)]

    assert report.added == {"items": 5, "links": 5, "item_facts": 9, "people": len(people), "item_people": 25}
    assert report.enriched == 4
    assert [str(b) for b in report.bad] == [
        "title.ratings.tsv.gz:16: expected a tconst, a rating and votes, got 'tt9900006 x.y many'",
        "title.basics.tsv.gz:15: expected 9 tab-separated fields, got 3",
        "title.principals.tsv.gz:12: expected 6 tab-separated fields, got 2",
        "title.principals.tsv.gz:19: nm9999999 is not in name.basics"]
    summary = report.summary_lines()[-1]
    assert "added 5 items, 5 links, 9 item_facts" in summary and "enriched 4 films of ml-latest-small" in summary
    assert "skipped 4 bad rows" in summary and "(films it lacked added from 10,000 votes)" in summary


def test_the_same_dump_again_adds_nothing(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    import_imdb_datasets(open_db(store), folder)
    before = dump(store)
    again = import_imdb_datasets(open_db(store), folder)
    assert not any(again.added.values()) and not any(again.updated.values())
    assert "added nothing" in again.summary_lines()[-1] and "updated nothing" in again.summary_lines()[-1]
    assert dump(store) == before


def test_a_newer_dump_updates_and_adds_without_duplicates(store, tmp_path):
    import_imdb_datasets(open_db(store), write_dump(tmp_path / "old"))
    report = import_imdb_datasets(open_db(store), write_dump(tmp_path / "new", newer_rows(), day=DUMP_DAY + 86_400))
    assert report.added["items"] == 1 and report.added["links"] == 1  # Sinners
    assert report.added["people"] == 1 and report.updated["people"] == 1  # Michael B. Jordan; Emily Blunt renamed
    assert report.updated["items"] == 1  # the film IMDb added, renamed as IMDb has it now
    assert report.updated["item_people removed"] == 1  # Tim Allen's part
    assert report.updated["item_facts"] == 9  # a new dump date for every film, more votes for one
    assert rows_of(store, "SELECT source_id, COUNT(*) FROM items GROUP BY source, source_id HAVING COUNT(*) > 1") == []
    assert rows_of(store, "SELECT COUNT(*), COUNT(DISTINCT imdb) FROM people")[0] == (21, 21)  # Tim Allen stays a person
    assert rows_of(store, "SELECT COUNT(*) FROM item_links")[0][0] == 10  # 4 MovieLens links + 6 IMDb films
    assert facts_of(store, "tt15398776") == (180, 8.3, 950000, "2025-01-02")
    assert facts_of(store, "tt31193180") == (137, 7.9, 300000, "2025-01-02")
    names = {i.name for i in catalog_items(open_db(store), "movie").values()}
    assert 'The "Quoted" Picture Show (1950)' in names and 'The "Quoted" Picture (1950)' not in names
    assert "Sinners (2025)" in names
    assert roles_of(store, "1") == [("cast", "Tom Hanks", 1), ("director", "John Lasseter", 1),
                                    ("writer", "John Lasseter", 1), ("writer", "Pete Docter", 2)]
    assert ("cast", "Emily Olivia Blunt", 2) in roles_of(store, "tt15398776")


def test_added_films_are_found_by_the_title_linker_and_a_letterboxd_import(store, tmp_path):
    import_imdb_datasets(open_db(store), write_dump(tmp_path / "imdb"))
    db = open_db(store)
    index = TitleIndex.build(catalog_items(db, "movie").values())
    assert index.link("Oppenheimer", 2023).item.name == "Oppenheimer (2023)"
    assert index.link("Dune: Part Two", 2024).item.name == "Dune: Part Two (2024)"
    assert index.lookup("parasite").name == "Parasite (2019)"
    export = tmp_path / "ratings.csv"
    export.write_text("Date,Name,Year,Letterboxd URI,Rating\r\n"
                      "2024-03-01,Oppenheimer,2023,https://boxd.it/a,4.5\r\n"
                      "2024-03-02,Parasite,2019,https://boxd.it/b,5\r\n"
                      "2024-03-03,Se7en,1995,https://boxd.it/c,4\r\n"
                      "2024-03-04,Dune: Part Two,2024,https://boxd.it/d,3\r\n"
                      "2024-03-05,Untitled Yearless Film,2021,https://boxd.it/e,2\r\n")
    report = import_history(db, "letterboxd", export, "me")
    assert len(report.of("linked")) == 5, report.summary_lines()
    linked = dict(rows_of(store, "SELECT i.name, f.liked FROM feedback f JOIN items i ON i.id = f.item_id "
                                 "JOIN users u ON u.id = f.user_id WHERE u.name = 'me'"))
    assert linked == {"Oppenheimer (2023)": 1, "Parasite (2019)": 1, "Seven (a.k.a. Se7en) (1995)": 1,
                      "Dune: Part Two (2024)": 0, "Untitled Yearless Film": 0}


def test_min_votes_plain_tsv_files_and_the_cli(store, tmp_path):
    folder = write_dump(tmp_path / "imdb", plain=("title.basics", "name.basics"))
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, "--min-votes", 15000)
    assert r.exit_code == 0, r.output
    assert "added 4 items" in r.stdout and "added from 15,000 votes" in r.stdout
    assert "title.basics.tsv:15: expected 9 tab-separated fields" in r.stderr
    names = {i.name for i in catalog_items(open_db(store), "movie").values()}
    assert 'The "Quoted" Picture (1950)' not in names and "Untitled Yearless Film" in names  # 12,000 < 15,000 <= 20,000
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, "--min-votes", 0)
    assert r.exit_code == 0 and "added 2 items" in r.stdout  # Quoted (12,000), Little Seen (500); tt9900005 is broken
    assert "Little Seen Film (2015)" in {i.name for i in catalog_items(open_db(store), "movie").values()}
    assert "Adult Blockbuster (2010)" not in {i.name for i in catalog_items(open_db(store), "movie").values()}
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, "--min-votes", -1)
    assert r.exit_code == 2 and "-1" in r.output
    with pytest.raises(RecchatError, match="--min-votes must be 0 or more"):
        import_imdb_datasets(open_db(store), folder, min_votes=-5)
    assert DEFAULT_MIN_VOTES == 10_000


def test_dataset_option_picks_the_catalog(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, "--dataset", "ml-25m")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "no movie catalog named 'ml-25m'" in r.stderr
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, "--dataset", "ml-latest-small")
    assert r.exit_code == 0 and "added 5 items" in r.stdout


def test_genre_mapping():
    assert catalog_genres(b"Adventure,Animation,Comedy,Family,Fantasy") == "Adventure, Animation, Children's, Comedy, Fantasy"
    assert catalog_genres(b"Biography,Sport,Music,News,Short,Adult") == ""
    assert catalog_genres(b"Film-Noir,Musical,Sci-Fi") == "Film-Noir, Musical, Sci-Fi"
    assert catalog_genres(b"\\N") == ""


# ------------------------------------------------------------------ bad input: one line, nothing written
def _one_line_error(store: Path, folder: Path, *, args: tuple = ()) -> str:
    before = dump(store)
    r = engine("data", "import", "imdb-datasets", folder, "--db", store, *args)
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.output
    assert dump(store) == before
    return r.stderr


def test_a_missing_file_is_named(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    (folder / "title.crew.tsv.gz").unlink()
    (folder / "name.basics.tsv.gz").rename(folder / "name.basics.tsv.gz.part")
    err = _one_line_error(store, folder)
    assert "lacks title.crew.tsv.gz, name.basics.tsv.gz (only a partial download)" in err
    assert f"engine data fetch imdb-datasets --cache {folder}" in err
    with pytest.raises(RecchatError, match="folder not found"):
        import_imdb_datasets(open_db(store), tmp_path / "nowhere")


def test_a_named_file_means_its_folder(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    r = engine("data", "import", "imdb-datasets", folder / "title.basics.tsv.gz", "--db", store)
    assert r.exit_code == 0 and "added 5 items" in r.stdout


def test_a_truncated_gzip_leaves_the_store_as_it_was(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    path = folder / "title.principals.tsv.gz"
    path.write_bytes(path.read_bytes()[:-30])
    err = _one_line_error(store, folder)
    assert "title.principals.tsv.gz is damaged or truncated" in err


def test_not_gzip_at_all(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    (folder / "title.crew.tsv.gz").write_bytes(b"<html>not found</html>\n")
    assert "title.crew.tsv.gz is damaged or truncated" in _one_line_error(store, folder)


def test_a_wrong_header_or_empty_file(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    with gzip.open(folder / "title.ratings.tsv.gz", "wb") as f:
        f.write(b"Const,Your Rating,Date Rated\n")
    err = _one_line_error(store, folder)
    assert "title.ratings.tsv.gz: not IMDb's title.ratings (its header lacks tconst, averageRating, numVotes" in err
    with gzip.open(folder / "title.ratings.tsv.gz", "wb") as f:
        f.write(b"")
    assert "title.ratings.tsv.gz is empty" in _one_line_error(store, folder)
    with gzip.open(folder / "title.ratings.tsv.gz", "wb") as f:
        f.write(b"numVotes\ttconst\taverageRating\n")
    assert "its first column is 'numVotes', not IMDb's tconst" in _one_line_error(store, folder)


def test_columns_are_found_by_name(store, tmp_path):
    """A dump whose files gain a column keeps importing: columns are read by their header names."""
    rows = dump_rows()
    rows["title.ratings"] = [(t, v, r) for t, r, v in rows["title.ratings"]]
    folder = write_dump(tmp_path / "imdb", rows)
    with gzip.open(folder / "title.ratings.tsv.gz", "wb") as f:
        f.write(("tconst\tnumVotes\taverageRating\n" + "".join("\t".join(r) + "\n" for r in rows["title.ratings"])).encode())
    os.utime(folder / "title.ratings.tsv.gz", (DUMP_DAY, DUMP_DAY))
    import_imdb_datasets(open_db(store), folder)
    assert facts_of(store, "tt15398776") == (180, 8.3, 900000, "2025-01-01")


def test_a_store_without_a_movie_catalog(tmp_path):
    path = tmp_path / "empty.db"
    open_db(path)
    err = _one_line_error(path, write_dump(tmp_path / "imdb"))
    assert "no movie catalog to enrich" in err and "engine data import movielens" in err


def test_a_catalog_without_imdb_links_is_refused(tmp_path):
    """ML-100K and ML-1M have no links.csv: every film would look missing and be added a second time."""
    path = tmp_path / "ml1m.db"
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_text("1::Toy Story (1995)::Animation|Children's|Comedy\n")
    (folder / "users.dat").write_text("1::F::1::10::48067\n")
    (folder / "ratings.dat").write_text("1::1::5::978300760\n")
    import_movielens(open_db(path), folder)
    err = _one_line_error(path, write_dump(tmp_path / "imdb"))
    assert "the movie catalog ml-1m links no IMDb ids" in err and "ml-latest-small" in err


def test_undecodable_title_is_a_bad_row(store, tmp_path):
    folder = write_dump(tmp_path / "imdb")
    text = (HEADERS["title.basics"] + "\n" + "".join("\t".join(r) + "\n" for r in BASICS)).encode()
    text = text.replace(b"Dune: Part Two\tDune", b"Dune: Part \xff\tDune")
    with gzip.open(folder / "title.basics.tsv.gz", "wb") as f:
        f.write(text)
    report = import_imdb_datasets(open_db(store), folder)
    assert any(b.file == "title.basics.tsv.gz" and b.line == 8 and "unreadable title" in b.reason for b in report.bad)
    assert report.added["items"] == 4


# ------------------------------------------------------------------ fetch, from a loopback server
class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the server's folder with Range and If-Range (as IMDb's CDN does); knobs on the server:
    `cut` (name -> bytes to send of the next response, once), `ignore_range`, `lie` (a Content-Length 1000
    bytes too long), `bad_start` (a 206 from the wrong byte)."""

    protocol_version = "HTTP/1.0"

    def do_GET(self):
        srv = self.server
        name = self.path.rsplit("/", 1)[-1]
        srv.requests.append((name, self.headers.get("Range"), self.headers.get("If-Range")))
        path = srv.root / name
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        start = 0
        asked = self.headers.get("Range")
        if asked and not srv.ignore_range and self.headers.get("If-Range") in (None, modified):
            start = int(asked.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            if srv.bad_start:
                start = 0
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        part = body[start:]
        self.send_header("Content-Length", str(len(part) + (1000 if srv.lie else 0)))
        self.send_header("Last-Modified", modified)
        self.end_headers()
        cut = srv.cut.pop(name, None)
        self.wfile.write(part if cut is None else part[:cut])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = write_dump(tmp_path / "www", day=DUMP_DAY)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root, httpd.requests, httpd.cut, httpd.ignore_range, httpd.lie, httpd.bad_start = root, [], {}, False, False, False
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}/imdb/"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _quiet(_line: str) -> None:
    pass


def _same_files(dest: Path, root: Path) -> bool:
    return all((dest / n).read_bytes() == (root / n).read_bytes() for n in FILES)


def test_fetch_downloads_every_file_with_progress(server, tmp_path):
    dest = tmp_path / "cache"
    seen: list[tuple[int, int | None]] = []
    files: list[tuple[str, int | None]] = []
    got = fetch_imdb_datasets(dest, base_url=server.base, progress=lambda n, t: seen.append((n, t)),
                              on_file=lambda name, total: files.append((name, total)), log=_quiet)
    assert got == dest and _same_files(dest, server.root)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES), "no .part left"
    assert files == [(n, (server.root / n).stat().st_size) for n in FILES]
    assert sum(n for n, _ in seen) == sum((server.root / n).stat().st_size for n in FILES)
    assert all(int((dest / n).stat().st_mtime) == DUMP_DAY for n in FILES), "the dump's date is the server's"
    assert [r[1] for r in server.requests] == [None] * 5
    logs: list[str] = []
    fetch_imdb_datasets(dest, base_url=server.base, log=logs.append)
    assert len(server.requests) == 5 and len(logs) == 5 and "already in" in logs[0], "cached files: no request"
    fetch_imdb_datasets(dest, base_url=server.base, refresh=True, log=_quiet)
    assert len(server.requests) == 10 and _same_files(dest, server.root)


def test_fetch_resumes_after_the_server_cut_a_response(server, tmp_path, store):
    dest = tmp_path / "cache"
    server.cut["title.principals.tsv.gz"] = 200
    with pytest.raises(RecchatError) as e:
        fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    msg = str(e.value)
    size = (server.root / "title.principals.tsv.gz").stat().st_size
    assert "\n" not in msg and f"connection closed after 200 of {size:,} bytes" in msg
    assert "200 bytes kept in title.principals.tsv.gz.part: run the command again to resume" in msg
    assert "download title.principals.tsv.gz, name.basics.tsv.gz from" in msg  # what is left to do by hand
    part = dest / "title.principals.tsv.gz.part"
    assert part.stat().st_size == 200 and int(part.stat().st_mtime) == DUMP_DAY
    assert not (dest / "title.principals.tsv.gz").exists() and (dest / "title.crew.tsv.gz").exists()
    del server.requests[:]
    files: list[tuple[str, int | None]] = []
    seen: list[int] = []
    fetch_imdb_datasets(dest, base_url=server.base, progress=lambda n, t: seen.append(n),
                        on_file=lambda name, total: files.append((name, total)), log=_quiet)
    assert server.requests[0] == ("title.principals.tsv.gz", "bytes=200-", email.utils.formatdate(DUMP_DAY, usegmt=True))
    assert [r[0] for r in server.requests] == ["title.principals.tsv.gz", "name.basics.tsv.gz"]
    assert files[0] == ("title.principals.tsv.gz", size) and seen[0] == 200  # the bar starts at what was kept
    assert _same_files(dest, server.root) and not part.exists()
    assert engine("data", "import", "imdb-datasets", dest, "--db", store).exit_code == 0  # the fetched dump imports


def test_fetch_starts_over_when_the_server_ignores_range(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    part = dest / "title.ratings.tsv.gz.part"
    part.write_bytes(b"x" * 50)
    os.utime(part, (DUMP_DAY, DUMP_DAY))
    server.ignore_range = True
    fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    assert server.requests[0][:2] == ("title.ratings.tsv.gz", "bytes=50-")
    assert _same_files(dest, server.root), "the 200's whole body replaced the part"


def test_fetch_starts_over_when_the_file_changed_since_the_part(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    part = dest / "title.ratings.tsv.gz.part"
    part.write_bytes(b"x" * 50)  # an older dump's bytes: its date is not the server's Last-Modified
    os.utime(part, (DUMP_DAY - 86_400, DUMP_DAY - 86_400))
    fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    assert server.requests[0][2] == email.utils.formatdate(DUMP_DAY - 86_400, usegmt=True)
    assert _same_files(dest, server.root)


def test_fetch_starts_over_on_a_206_from_the_wrong_byte(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    part = dest / "title.ratings.tsv.gz.part"
    part.write_bytes((server.root / "title.ratings.tsv.gz").read_bytes()[:40])
    os.utime(part, (DUMP_DAY, DUMP_DAY))
    server.bad_start = True
    logs: list[str] = []
    fetch_imdb_datasets(dest, base_url=server.base, log=logs.append)
    assert any("does not match" in line for line in logs)
    assert [r[1] for r in server.requests[:2]] == ["bytes=40-", None]
    assert _same_files(dest, server.root)


def test_a_complete_part_is_renamed_on_416(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    data = (server.root / "title.ratings.tsv.gz").read_bytes()
    (dest / "title.ratings.tsv.gz.part").write_bytes(data)  # killed between the last byte and the rename
    os.utime(dest / "title.ratings.tsv.gz.part", (DUMP_DAY, DUMP_DAY))
    fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    assert server.requests[0][:2] == ("title.ratings.tsv.gz", f"bytes={len(data)}-")
    assert len([r for r in server.requests if r[0] == "title.ratings.tsv.gz"]) == 1
    assert _same_files(dest, server.root)


def test_a_part_longer_than_the_file_is_downloaded_again(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / "title.ratings.tsv.gz.part").write_bytes(b"x" * 100_000)
    fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    assert [r[1] for r in server.requests[:2]] == ["bytes=100000-", None]
    assert _same_files(dest, server.root)


def test_fetch_size_mismatch_keeps_the_part_and_no_final_file(server, tmp_path):
    dest = tmp_path / "cache"
    server.lie = True
    size = (server.root / "title.ratings.tsv.gz").stat().st_size
    with pytest.raises(RecchatError) as e:
        fetch_imdb_datasets(dest, base_url=server.base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg and f"connection closed after {size:,} of {size + 1000:,} bytes" in msg
    assert sorted(p.name for p in dest.iterdir()) == ["title.ratings.tsv.gz.part"]


def test_fetch_offline_is_one_line_naming_files_url_folder_and_command(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}/imdb/"
    dest = tmp_path / "cache"
    with pytest.raises(RecchatError) as e:
        fetch_imdb_datasets(dest, base_url=base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"cannot download {base}title.ratings.tsv.gz (")
    assert f"download {', '.join(FILES)} from {base} into {dest}, then run: engine data import imdb-datasets {dest}" in msg
    assert list(dest.iterdir()) == []


def test_fetch_404_is_one_line(server, tmp_path):
    (server.root / "title.crew.tsv.gz").unlink()
    with pytest.raises(RecchatError) as e:
        fetch_imdb_datasets(tmp_path / "cache", base_url=server.base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg and "title.crew.tsv.gz (HTTP 404 not found)" in msg
    assert "download title.crew.tsv.gz, title.principals.tsv.gz, name.basics.tsv.gz from" in msg


def test_fetch_into_unwritable_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecchatError, match="cannot create cache folder"):
        fetch_imdb_datasets(blocker / "cache", base_url="http://127.0.0.1:9/", log=_quiet)


def test_cli_fetch_through_the_env_url(server, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_IMDB_URL", server.base)
    r = engine("data", "fetch", "imdb-datasets", "--cache", tmp_path / "c")
    assert r.exit_code == 0, r.output
    assert _same_files(tmp_path / "c", server.root)
    assert "engine data import imdb-datasets" in r.stderr and "non-commercial" in r.stderr
    monkeypatch.setenv("RECCHAT_IMDB_URL", f"http://127.0.0.1:{closed_port()}/")
    r = engine("data", "fetch", "imdb-datasets", "--cache", tmp_path / "d")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "engine data import imdb-datasets" in r.stderr
    helped = engine("data", "fetch", "--help").stdout
    assert all(name in helped for name in ("ml-100k", "ml-latest-small", "ml-32m", "imdb-datasets"))


def test_progress_is_bytes_per_file(store, tmp_path):
    folder = write_dump(tmp_path / "imdb", plain=("title.crew",))
    started: list[tuple[str, int]] = []
    read: dict[str, int] = {}
    import_imdb_datasets(open_db(store), folder, on_file=lambda name, size: started.append((name, size)),
                         progress=lambda n: read.__setitem__(started[-1][0], read.get(started[-1][0], 0) + n))
    names = [f"{d}.tsv" if d == "title.crew" else f"{d}.tsv.gz" for d in DATASETS]
    assert started == [(n, (folder / n).stat().st_size) for n in names]
    assert read == dict(started), "each file's bar ends at its size on disk"


def test_the_chat_says_what_it_cannot_know_then_links_and_places_the_new_films(store, tmp_path, monkeypatch):
    """Before IMDb's data: the films are named missing with the one command that adds them; after: linked,
    rated, and placed by their content (no ratings) so they can be recommended."""
    from engine.chat.session import ChatSession
    from tests.fakes import FakeScorer

    before = ChatSession(store, "fan", scorer_factory=FakeScorer)
    try:
        reply = before.handle("I loved Oppenheimer and Dune: Part Two, what else would I like?")
        assert "Not in the catalog: Oppenheimer" in reply.text and "engine data import imdb-datasets DIR" in reply.text
    finally:
        before.close()
    monkeypatch.setenv("RECCHAT_FIT_AFTER_IMPORT", "1")  # as a person's import does: the model is ready after it
    r = engine("data", "import", "imdb-datasets", write_dump(tmp_path / "imdb"), "--db", store)
    assert r.exit_code == 0 and "ready:" in r.stderr, r.output
    after = ChatSession(store, "fan2", scorer_factory=FakeScorer)
    try:
        reply = after.handle("I loved Oppenheimer and Dune: Part Two")
        assert "you like Oppenheimer (2023) and Dune: Part Two (2024)" in reply.text and "Saved 2 ratings" in reply.text
        cold = set(after.collab.current().cold.item_ids.tolist())
        ids = {i.name: i.id for i in catalog_items(open_db(store), "movie").values()}
        assert ids["Parasite (2019)"] in cold  # added without ratings: placed by its content
        again = after.handle("something else")
        assert ids["Parasite (2019)"] in {c.item.id for c in again.plan.candidates}
        assert "I don't know" not in again.text
    finally:
        after.close()
