"""A person's own Letterboxd / IMDb / Goodreads history linked to the catalog and written as their ratings."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from db import open_db
from engine.sources.history import import_history
from tests.conftest import SHARED, count, dump, engine, needs_shared

# Letterboxd's own names for films ml-latest-small titles differently: alternate titles dropped, articles in
# front, accents kept, a.k.a. titles, the short name of a saga's episode.
LETTERBOXD_NAMES = [
    ("Se7en", 1995, "Seven (a.k.a. Se7en) (1995)"),
    ("Amélie", 2001, "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("Léon: The Professional", 1994, "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)"),
    ("The Lord of the Rings: The Fellowship of the Ring", 2001, "Lord of the Rings: The Fellowship of the Ring, The (2001)"),
    ("Star Wars", 1977, "Star Wars: Episode IV - A New Hope (1977)"),
    ("WALL·E", 2008, "WALL·E (2008)"),
    ("Spirited Away", 2001, "Spirited Away (Sen to Chihiro no kamikakushi) (2001)"),
    ("Pan's Labyrinth", 2006, "Pan's Labyrinth (Laberinto del fauno, El) (2006)"),
    ("City of God", 2002, "City of God (Cidade de Deus) (2002)"),
    ("Crouching Tiger, Hidden Dragon", 2000, "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)"),
    ("Monsters, Inc.", 2001, "Monsters, Inc. (2001)"),
    ("The Good, the Bad and the Ugly", 1966, "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)"),
    ("Harry Potter and the Philosopher's Stone", 2001,
     "Harry Potter and the Sorcerer's Stone (a.k.a. Harry Potter and the Philosopher's Stone) (2001)"),
    ("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb", 1964,
     "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964)"),
    ("Raiders of the Lost Ark", 1981, "Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark) (1981)"),
    ("E.T. the Extra-Terrestrial", 1982, "E.T. the Extra-Terrestrial (1982)"),
    ("Memento", 2001, "Memento (2000)"),  # festival year against release year
    ("Inglourious Basterds", 2009, "Inglourious Basterds (2009)"),
    ("The Godfather", 1972, "Godfather, The (1972)"),
    ("The Usual Suspects", 1995, "Usual Suspects, The (1995)"),
]
# Films ml-latest-small (to 2018) cannot hold: "not in the catalog", never a wrong link.
NEWER = [("Parasite", 2019), ("Dune", 2021), ("Everything Everywhere All at Once", 2022), ("Oppenheimer", 2023),
         ("Barbie", 2023)]


def _article_first(title: str) -> str:
    """"Dark Knight, The" -> "The Dark Knight", as Letterboxd and IMDb write titles."""
    for art in ("The", "A", "An"):
        if title.endswith(f", {art}"):
            return f"{art} {title[: -len(art) - 2]}"
    return title


@pytest.fixture(scope="module")
def latest_small(tmp_path_factory) -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is absent")
    path = tmp_path_factory.mktemp("mls") / "store.db"
    assert engine("data", "import", "movielens", SHARED / "ml-latest-small", "--db", path).exit_code == 0
    return path


def _export_films(db_path: Path) -> list[tuple[str, int, str, int | None]]:
    """60 films: the hand-named ones, then popular ones as exports write them (article first, alternates
    dropped, every seventh a year late), each with the catalog name it must link to and its IMDb id."""
    db = open_db(db_path)
    rows = db.execute("""SELECT i.name, i.title, i.year, l.imdb FROM items i JOIN item_links l ON l.item_id = i.id
                         JOIN (SELECT item_id, COUNT(*) n FROM feedback GROUP BY item_id) c ON c.item_id = i.id
                         WHERE i.year IS NOT NULL ORDER BY c.n DESC, i.id LIMIT 400""").fetchall()
    imdb = {name: i for name, _, _, i in rows}
    films = [(t, y, name, imdb.get(name)) for t, y, name in LETTERBOXD_NAMES]
    taken = {name for _, _, name in LETTERBOXD_NAMES}
    for k, (name, title, year, i) in enumerate(r for r in rows[::5] if r[0] not in taken):
        if len(films) == 60:
            break
        main = title.split(" (")[0] if " (" in title else title
        films.append((_article_first(main), year + (k % 7 == 3), name, i))
    return films


def _letterboxd_zip(tmp_path: Path, films) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
    for k, (title, year, _, _) in enumerate([*films, *[(t, y, None, None) for t, y in NEWER]]):
        w.writerow([f"2024-0{1 + k % 9}-1{k % 10}", title, year, f"https://boxd.it/x{k}", 0.5 + (k % 10) / 2])
    watched = "Date,Name,Year,Letterboxd URI\r\n2024-02-02,Fargo,1996,https://boxd.it/seen1\r\n"
    zpath = tmp_path / "letterboxd-me-2026-12-01-utc.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("ratings.csv", "\ufeff" + buf.getvalue())
        zf.writestr("watched.csv", watched)
    return zpath


def _linked(db_path: Path, user: str) -> dict[str, str]:
    db = open_db(db_path)
    return dict(db.execute("""SELECT i.name, f.liked FROM feedback f JOIN items i ON i.id = f.item_id
                              JOIN users u ON u.id = f.user_id WHERE u.name = ?""", [user]).fetchall())


@needs_shared
def test_letterboxd_export_of_60_films_links_right_and_never_wrong(latest_small, tmp_path):
    films = _export_films(latest_small)
    assert len(films) == 60
    zpath = _letterboxd_zip(tmp_path, films)
    r = engine("data", "import", "letterboxd", zpath, "--user", "me", "--db", latest_small)
    assert r.exit_code == 0, r.output
    got = _linked(latest_small, "me")
    truth = {name for _, _, name, _ in films}
    right = truth & set(got)
    assert len(right) >= 57, sorted(truth - set(got))  # >= 95 %
    assert set(got) <= truth, sorted(set(got) - truth)  # nothing linked to a wrong film
    assert f"{len(right) + 1} linked" in r.stdout and f"added {len(right)} feedback, 1 seen" in r.stdout  # + Fargo, seen
    assert "Oppenheimer (2023) is not in the catalog" in r.stderr
    assert count(latest_small, "SELECT COUNT(*) FROM seen s JOIN users u ON u.id = s.user_id WHERE u.name = 'me'") == 1
    before = dump(latest_small)
    again = engine("data", "import", "letterboxd", zpath, "--user", "me", "--db", latest_small)
    assert again.exit_code == 0 and "added nothing" in again.stdout and dump(latest_small) == before


@needs_shared
def test_imdb_export_links_by_imdb_id_then_title(latest_small, tmp_path):
    films = _export_films(latest_small)
    header = ("Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,"
              "Genres,Num Votes,Release Date,Directors")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header.split(","))
    for k, (title, year, _, imdb) in enumerate(films):
        const = f"tt{imdb:07d}" if imdb and k % 2 == 0 else f"tt{90000000 + k}"  # every other row: an id links.csv lacks
        w.writerow([const, 1 + k % 10, "2023-05-0" + str(1 + k % 9), title, title, "", "Movie", 8.1, 120, year, "Drama",
                    1000, f"{year}-01-01", "Someone"])
    w.writerow(["tt0903747", 10, "2023-01-01", "Breaking Bad", "Breaking Bad", "", "TV Series", 9.5, 49, 2008, "Drama",
                2000000, "2008-01-20", ""])
    path = tmp_path / "ratings.csv"
    path.write_text("\ufeff" + buf.getvalue(), encoding="utf-8", newline="")
    report = import_history(open_db(latest_small), "imdb", path, "imdb-me")
    got = _linked(latest_small, "imdb-me")
    truth = {name for _, _, name, _ in films}
    assert len(truth & set(got)) >= 57 and set(got) <= truth
    assert sum(1 for r in report.rows if r.how == "imdb id") >= 25
    assert any("not a film: TV Series" in str(b) for b in report.parsed.bad)
    liked = {name: v for name, v in got.items()}
    seven = next(k for k, f in enumerate(films) if f[2] == "Seven (a.k.a. Se7en) (1995)")
    assert liked["Seven (a.k.a. Se7en) (1995)"] == int(1 + seven % 10 > 6)  # 7/10 and up is a like


def test_goodreads_links_by_isbn_then_title_and_author(tmp_path):
    db_path = tmp_path / "s.db"
    ds = tmp_path / "books"
    ds.mkdir()
    (ds / "books.item").write_text("item_id:token\tbook_title:token_seq\tbook_author:token_seq\n"
                                   "0439023483\tThe Hunger Games\tSuzanne Collins\n0441013597\tDune\tFrank Herbert\n"
                                   "x1\tEmma\tJane Austen\nx2\tEmma\tSomeone Else\n")
    (ds / "books.inter").write_text("user_id:token\titem_id:token\trating:float\nu\t0441013597\t5\n")
    assert engine("data", "import", "recbole", ds, "--domain", "book", "--db", db_path).exit_code == 0
    header = ("Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,"
              "Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,"
              "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies")
    rows = [
        '1,"The Hunger Games (The Hunger Games, #1)",Suzanne Collins,"Collins, Suzanne",,="",="9780439023481",5,4.3,'
        ',,374,2008,2008,2019/05/21,2019/05/01,,,read,,,,1,0',
        '2,Dune,Frank Herbert,"Herbert, Frank",,="",="",2,4.2,,,600,1990,1965,,2020/01/01,,,read,,,,1,0',
        '3,Emma,Jane Austen,"Austen, Jane",,="",="",0,4.0,,,400,2003,1815,,2020/01/02,,,read,,,,1,0',
        '4,Unknown Book,Nobody,"Nobody",,="",="",4,4.0,,,100,2020,2020,,2020/01/03,,,read,,,,1,0',
    ]
    path = tmp_path / "goodreads_library_export.csv"
    path.write_text(header + "\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    r = engine("data", "import", "goodreads", path, "--user", "reader", "--db", db_path)
    assert r.exit_code == 0, r.output
    db = open_db(db_path)
    got = dict(db.execute("""SELECT i.title, f.liked FROM feedback f JOIN items i ON i.id = f.item_id
                             JOIN users u ON u.id = f.user_id WHERE u.name = 'reader'""").fetchall())
    assert got == {"The Hunger Games": 1, "Dune": 0}  # the ISBN-13 found the ISBN-10 id; 2 stars is a dislike
    seen = db.execute("SELECT i.title, i.creators FROM seen s JOIN items i ON i.id = s.item_id").fetchall()
    assert seen == [("Emma", "Jane Austen")]  # 0 stars on the read shelf: seen; the author picked the Emma
    assert "Unknown Book (2020) is not in the catalog" in r.stderr


def test_wrong_service_and_empty_export_are_one_line_or_counted(tmp_path):
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", Path(__file__).parent / "fixtures" / "ml100k-grouplens",
                  "--db", db_path).exit_code == 0
    lb = tmp_path / "ratings.csv"
    lb.write_text("Date,Name,Year,Letterboxd URI,Rating\n", encoding="utf-8")
    r = engine("data", "import", "imdb", lb, "--user", "me", "--db", db_path)
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "letterboxd" in r.stderr.lower()
    r = engine("data", "import", "letterboxd", lb, "--user", "me", "--db", db_path)
    assert r.exit_code == 0 and "0 rows" in r.stdout and "added nothing" in r.stdout
