"""Letterboxd, IMDb and Goodreads exports parsed from small files in each service's real layout and quirks."""

from __future__ import annotations

import calendar
import zipfile

import pytest

from db.errors import RecchatError
from db.importers.exports import ExportRow, read_goodreads, read_imdb, read_letterboxd, sniff

LB_RATINGS = "Date,Name,Year,Letterboxd URI,Rating"
LB_WATCHED = "Date,Name,Year,Letterboxd URI"
IMDB_NEW = ("Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,"
            "Genres,Num Votes,Release Date,Directors")
IMDB_OLD = ("Const,Your Rating,Date Rated,Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,"
            "Release Date,Directors")
GR = ("Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,"
      "Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,"
      "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies")


def day(y: int, m: int, d: int) -> float:
    return float(calendar.timegm((y, m, d, 0, 0, 0)))


def write(path, *lines: str, bom: bool = False, crlf: bool = True, encoding: str = "utf-8"):
    """A CSV file as the service writes it: Windows line ends, optionally a BOM."""
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if lines else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def bad(report) -> list[str]:
    return [str(b) for b in report.bad]


def imdb_line(const, rating, date, title, kind="Movie", year="1994", *, old=False):
    original = [] if old else [title]
    return ",".join([const, rating, date, title, *original, f"https://www.imdb.com/title/{const}/", kind, "8.3",
                     "142", year, "Drama", "2900000", f"{year}-09-10", "Frank Darabont"])


def gr_line(book_id, title, author, isbn, isbn13, stars, shelf, *, yp="2008", opy="2008", read="", added="2020/01/02"):
    return ",".join([book_id, title, author, '"Collins, Suzanne"', "", isbn, isbn13, stars, "4.33", "Scholastic",
                     "Hardcover", "374", yp, opy, read, added, "", "", shelf, "", "", "", "1", "0"])


# --- Letterboxd ----------------------------------------------------------------------------------


def test_letterboxd_ratings_csv_with_bom_quotes_and_newlines(tmp_path):
    f = write(
        tmp_path / "ratings.csv",
        LB_RATINGS,
        "2024-01-02,Parasite,2019,https://boxd.it/hTha,4.5",
        '2024-01-03,"Crouching Tiger, Hidden Dragon",2000,https://boxd.it/1Zm8,3',
        "",
        '2024-01-04,"The ""Good"" Film",,https://boxd.it/aaaa,3.5',
        '2024-01-05,"A Title',
        'Split Over Lines",2021,https://boxd.it/bbbb,0.5',
        "2024-01-06,After The Split,2022,https://boxd.it/cccc,5",
        bom=True,
    )
    rows, report = read_letterboxd(f)
    assert rows == [
        ExportRow(2, "Parasite", 2019, 4.5, True, day(2024, 1, 2)),
        ExportRow(3, "Crouching Tiger, Hidden Dragon", 2000, 3.0, False, day(2024, 1, 3)),
        ExportRow(5, 'The "Good" Film', None, 3.5, True, day(2024, 1, 4)),
        ExportRow(6, "A Title Split Over Lines", 2021, 0.5, False, day(2024, 1, 5)),
        ExportRow(8, "After The Split", 2022, 5.0, True, day(2024, 1, 6)),
    ]
    assert (report.source, report.read, report.bad) == ("letterboxd (ratings.csv)", 5, [])
    assert read_letterboxd(f)[0] == rows, "a re-import gives the same rows and timestamps"


def test_letterboxd_bad_rows_are_counted_skips(tmp_path):
    f = write(
        tmp_path / "ratings.csv",
        LB_RATINGS,
        "2024-01-02,Zero,2019,https://boxd.it/a,0",  # 2
        "2024-01-02,Too Many,2019,https://boxd.it/b,5.5",  # 3
        "2024-01-02,Words,2019,https://boxd.it/c,great",  # 4
        "2024-01-02,Quarter,2019,https://boxd.it/d,3.25",  # 5
        "2024-01-02,Short,2019",  # 6
        "2024-01-02,Unquoted, Comma,2019,https://boxd.it/e,4",  # 7
        "2024-13-02,Bad Date,2019,https://boxd.it/f,4",  # 8
        "2024-01-02,Bad Year,19x9,https://boxd.it/g,4",  # 9
        "2024-01-02,,2019,https://boxd.it/h,4",  # 10
        "2024-05-01,Twice,2019,https://boxd.it/i,2",  # 11: the later date, kept
        "2024-01-01,Twice,2019,https://boxd.it/i,4",  # 12
        "2024-01-02,Nul\x00Byte,2019,https://boxd.it/j,4",  # 13
        "2024-01-02,Fine,2019,https://boxd.it/k,",  # 14: no rating = seen
        "2024-01-02,Fine,2019,https://boxd.it/l,4",  # 15: another film of the same name and year
    )
    rows, report = read_letterboxd(f)
    assert [(r.line, r.title, r.rating, r.liked) for r in rows] == [
        (11, "Twice", 2.0, False), (14, "Fine", None, None), (15, "Fine", 4.0, True)]
    assert bad(report) == [
        "ratings.csv:2: rating 0 outside 0.5-5",
        "ratings.csv:3: rating 5.5 outside 0.5-5",
        "ratings.csv:4: non-numeric rating 'great'",
        "ratings.csv:5: rating 3.25 is not a half star",
        "ratings.csv:6: missing field 'Letterboxd URI'",
        "ratings.csv:7: expected 5 fields, got 6 (an unquoted comma?)",
        "ratings.csv:8: bad Date '2024-13-02'",
        "ratings.csv:9: bad Year '19x9'",
        "ratings.csv:10: empty Name",
        "ratings.csv:12: duplicate of line 11",
        "ratings.csv:13: undecodable bytes (NUL)",
    ]
    assert report.read == 14


def test_letterboxd_zip_merges_ratings_and_watched(tmp_path):
    z = tmp_path / "letterboxd-someone-2026-12-01-10-00-utc.zip"
    top = "letterboxd-someone-2026-12-01-10-00-utc"
    ratings = "\r\n".join([
        LB_RATINGS,
        "2024-02-01,Heat,1995,https://boxd.it/heat,4",
        "2024-02-02,Alien,1979,https://boxd.it/alien,2.5",
    ])
    watched = "\r\n".join([
        LB_WATCHED,
        "2024-01-01,Heat,1995,https://boxd.it/heat",  # rated: same URI
        "2024-01-01,Alien,1979,https://boxd.it/other",  # rated: same (Name, Year)
        "2024-01-05,Brazil,1985,https://boxd.it/brazil",  # seen only
    ])
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"{top}/ratings.csv", "\ufeff" + ratings)
        zf.writestr(f"{top}/watched.csv", watched)
        zf.writestr(f"{top}/deleted/ratings.csv", LB_RATINGS + "\r\n2024-01-01,Deleted,2000,https://boxd.it/x,1\r\n")
        zf.writestr(f"{top}/watchlist.csv", LB_WATCHED + "\r\n2024-01-01,Not Seen,2020,https://boxd.it/ns\r\n")
        for name in ("diary.csv", "reviews.csv", "profile.csv"):
            zf.writestr(f"{top}/{name}", "Date,Name\r\n")
    rows, report = read_letterboxd(z)
    assert rows == [
        ExportRow(2, "Heat", 1995, 4.0, True, day(2024, 2, 1)),
        ExportRow(3, "Alien", 1979, 2.5, False, day(2024, 2, 2)),
        ExportRow(4, "Brazil", 1985, None, None, day(2024, 1, 5)),
        ExportRow(2, "Not Seen", 2020, None, None, day(2024, 1, 1), watchlist=True),  # a list of its own
    ]
    assert (report.source, report.read, report.bad) == ("letterboxd (ratings.csv + watched.csv + watchlist.csv)", 6, [])
    assert report.files == [  # every file of the export is named: read, or not read and why
        f"read {top}/ratings.csv", f"read {top}/watched.csv", f"read {top}/watchlist.csv",
        f"not read: {top}/deleted/ratings.csv (deleted or orphaned entries)",
        f"not read: {top}/diary.csv (your diary: the same films as watched.csv, by date)",
        f"not read: {top}/profile.csv (your profile)", f"not read: {top}/reviews.csv (review texts)"]
    assert sniff(z) == "letterboxd"
    # The same export unzipped into a folder reads the same.
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "unzipped")
    assert read_letterboxd(tmp_path / "unzipped")[0] == rows
    assert sniff(tmp_path / "unzipped") == "letterboxd"


def test_letterboxd_watched_csv_alone_and_watchlist_alone(tmp_path):
    f = write(tmp_path / "watched.csv", LB_WATCHED, "2023-07-01,Oppenheimer,2023,https://boxd.it/opp", crlf=False)
    rows, report = read_letterboxd(f)
    assert rows == [ExportRow(2, "Oppenheimer", 2023, None, None, day(2023, 7, 1))]
    assert report.source == "letterboxd (watched.csv)"
    w = write(tmp_path / "watchlist.csv", LB_WATCHED, "2023-07-01,Dune,2021,https://boxd.it/dune")
    rows, report = read_letterboxd(w)
    assert rows == [ExportRow(2, "Dune", 2021, None, None, day(2023, 7, 1), watchlist=True)]
    assert report.files == ["read watchlist.csv"]


def test_letterboxd_zip_without_ratings_or_damaged(tmp_path):
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("profile.csv", "Date Joined,Username\r\n")
    with pytest.raises(RecchatError, match="no ratings.csv or watched.csv in the zip"):
        read_letterboxd(z)
    assert sniff(z) is None
    broken = tmp_path / "broken.zip"
    broken.write_bytes(z.read_bytes()[:40])
    with pytest.raises(RecchatError, match="cannot read the zip"):
        read_letterboxd(broken)


# --- IMDb ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("old", [False, True], ids=["current", "old"])
def test_imdb_ratings_current_and_old_header(tmp_path, old):
    f = write(
        tmp_path / "ratings.csv",
        IMDB_OLD if old else IMDB_NEW,
        imdb_line("tt0111161", "10", "2023-03-04", "The Shawshank Redemption", old=old),
        imdb_line("tt0903747", "9", "2023-03-05", "Breaking Bad", "TV Series", "2008", old=old),
        imdb_line("tt0133093", "7", "2023-03-06", '"Matrix, The"', "movie", "1999", old=old),
        imdb_line("tt0000001", "6", "", '"Six ""Out"" of Ten"', "tvMovie", "", old=old),
        imdb_line("tt0000002", "8", "2023-03-07", "Some Episode", "TV Episode", old=old),
        imdb_line("tt0000003", "8", "2023-03-07", "A Video", "Video", old=old),
    )
    rows, report = read_imdb(f)
    assert rows == [
        ExportRow(2, "The Shawshank Redemption", 1994, 10.0, True, day(2023, 3, 4), imdb_id=111161),
        ExportRow(4, "Matrix, The", 1999, 7.0, True, day(2023, 3, 6), imdb_id=133093),
        ExportRow(5, 'Six "Out" of Ten', None, 6.0, False, 0.0, imdb_id=1),
        ExportRow(7, "A Video", 1994, 8.0, True, day(2023, 3, 7), imdb_id=3),
    ]
    assert bad(report) == ["ratings.csv:3: not a film: TV Series", "ratings.csv:6: not a film: TV Episode"]
    assert (report.source, report.read) == ("imdb (ratings.csv)", 6)


def test_imdb_columns_found_by_name_and_bad_rows(tmp_path):
    f = write(
        tmp_path / "imdb.csv",
        "Title,Year,Title Type,Date Rated,Your Rating,Const",  # any order
        "Heat,1995,Movie,2020-01-01,0,tt0113277",  # 2
        "Heat,1995,Movie,2020-01-01,11,tt0113277",  # 3
        "Heat,1995,Movie,2020-01-01,7.5,tt0113277",  # 4
        "Heat,1995,Movie,2020-01-01,good,tt0113277",  # 5
        "Heat,1995,Movie,2020-01-01,,tt0113277",  # 6
        "Heat,1995,Movie,2020-01-01,8,nm0000001",  # 7
        "Heat,1995,Movie,2021-06-01,9,tt0113277",  # 8: the later date, kept
        "Heat,1995,Movie,2020-01-01,5,tt0113277",  # 9
        crlf=False,
    )
    rows, report = read_imdb(f)
    assert rows == [ExportRow(8, "Heat", 1995, 9.0, True, day(2021, 6, 1), imdb_id=113277)]
    assert bad(report) == [
        "imdb.csv:2: rating 0 outside 1-10",
        "imdb.csv:3: rating 11 outside 1-10",
        "imdb.csv:4: rating 7.5 is not a whole number",
        "imdb.csv:5: non-numeric rating 'good'",
        "imdb.csv:6: not rated (empty Your Rating)",
        "imdb.csv:7: bad Const 'nm0000001'",
        "imdb.csv:9: duplicate of line 8",
    ]


# --- Goodreads -----------------------------------------------------------------------------------


def test_goodreads_isbns_stars_shelves_dates(tmp_path):
    f = write(
        tmp_path / "goodreads_library_export.csv",
        GR,
        gr_line("2767052", '"The Hunger Games (The Hunger Games, #1)"', "Suzanne Collins", '"=""0439023483"""',
                '"=""9780439023481"""', "4", "read", read="2019/05/21"),
        gr_line("1", "Rated Three", "A. Author", '=""', '=""', "3", "read", opy="", yp="1999"),
        gr_line("2", "Read No Stars", "B. Author", '="080442957X"', '=""', "0", "read", opy="-800"),
        gr_line("3", "Wanted", "C. Author", '=""', '=""', "0", "to-read"),
        gr_line("4", "Reading Now", "D. Author", '=""', '=""', "0", "currently-reading"),
        gr_line("5", "Too Many Stars", "E. Author", '=""', '=""', "6", "read"),
        gr_line("6", "Half Star", "E. Author", '=""', '=""', "2.5", "read"),
        gr_line("7", "Bad Date", "E. Author", '=""', '=""', "4", "read", read="21/05/2019"),
        gr_line("1", "Rated Three", "A. Author", '=""', '=""', "5", "read", added="2019/01/01"),  # older: dropped
    )
    rows, report = read_goodreads(f)
    assert rows == [
        ExportRow(2, "The Hunger Games (The Hunger Games, #1)", 2008, 4.0, True, day(2019, 5, 21),
                  isbn="9780439023481", author="Suzanne Collins"),
        ExportRow(3, "Rated Three", 1999, 3.0, False, day(2020, 1, 2), author="A. Author"),
        ExportRow(4, "Read No Stars", -800, None, None, day(2020, 1, 2), isbn="080442957X", author="B. Author"),
    ]
    assert bad(report) == [
        "goodreads_library_export.csv:5: on to-read, not rated",
        "goodreads_library_export.csv:6: on currently-reading, not rated",
        "goodreads_library_export.csv:7: rating 6 outside 0-5",
        "goodreads_library_export.csv:8: rating 2.5 is not a whole number",
        "goodreads_library_export.csv:9: bad Date Read '21/05/2019'",
        "goodreads_library_export.csv:10: duplicate of line 3",
    ]
    assert (report.source, report.read) == ("goodreads (goodreads_library_export.csv)", 9)


# --- all three -----------------------------------------------------------------------------------

READERS = {"letterboxd": read_letterboxd, "imdb": read_imdb, "goodreads": read_goodreads}
HEADERS = {"letterboxd": LB_RATINGS, "imdb": IMDB_NEW, "goodreads": GR}


@pytest.mark.parametrize("service", READERS)
def test_empty_and_header_only_exports(tmp_path, service):
    for lines in [(), ("",), (HEADERS[service],), (HEADERS[service], "", "")]:
        rows, report = READERS[service](write(tmp_path / "ratings.csv", *lines, bom=True))
        assert (rows, report.read, report.bad) == ([], 0, [])


@pytest.mark.parametrize("service", READERS)
def test_wrong_service_is_a_one_line_error(tmp_path, service):
    for other, header in {**HEADERS, "unknown": "a,b,c"}.items():
        if other == service:
            continue
        f = write(tmp_path / f"{other}.csv", header)
        with pytest.raises(RecchatError) as e:
            READERS[service](f)
        msg = str(e.value)
        assert "\n" not in msg
        assert dict(letterboxd="not a Letterboxd", imdb="not an IMDb", goodreads="not a Goodreads")[service] + " export" in msg
        assert "expected header columns " + {"letterboxd": "Date, Name, Year, Letterboxd URI",
                                              "imdb": "Const, Your Rating", "goodreads": "Book Id, Title"}[service] in msg
        if other != "unknown":
            assert "it looks like a" in msg


def test_cp1252_fallback_and_unbalanced_quote(tmp_path):
    f = write(tmp_path / "ratings.csv", LB_RATINGS, "2024-01-02,Amélie,2001,https://boxd.it/am,4", encoding="cp1252")
    rows, report = read_letterboxd(f)
    assert [r.title for r in rows] == ["Amélie"]
    assert report.source == "letterboxd (ratings.csv; ratings.csv not UTF-8, read as cp1252)"
    g = write(tmp_path / "r2.csv", LB_RATINGS, '2024-01-02,"Open Quote,2001,https://boxd.it/o,4', "2024-01-03,X,2001,u,4")
    rows, report = read_letterboxd(g)
    # the quote swallowed line 3 into line 2's record: line 2 is the bad row, line 3 is read again on its own
    assert [(r.line, r.title) for r in rows] == [(3, "X")]
    assert bad(report) == ["r2.csv:2: missing field 'Year' (unbalanced quotes?)"]


def test_sniff(tmp_path):
    for service, header in HEADERS.items():
        assert sniff(write(tmp_path / f"{service}.csv", header, bom=True)) == service
    assert sniff(write(tmp_path / "old.csv", IMDB_OLD)) == "imdb"
    assert sniff(write(tmp_path / "watched.csv", LB_WATCHED)) == "letterboxd"
    assert sniff(write(tmp_path / "other.csv", "userId,movieId,rating,timestamp")) is None
    assert sniff(write(tmp_path / "empty.csv")) is None
    with pytest.raises(RecchatError, match="file not found"):
        sniff(tmp_path / "missing.csv")
    with pytest.raises(RecchatError, match="file not found"):
        read_imdb(tmp_path / "missing.csv")
