"""A person's own rating history as exported by Letterboxd, IMDb and Goodreads, parsed into `ExportRow`s.

No database and no linking here (another module links rows to the catalog): each reader returns the
rows on the service's own scale plus an ImportReport counting the bad rows, so a bad row is a report
line, never a traceback. A file that is not that service's export at all is a one-line RecchatError.

All three: UTF-8 with or without BOM, else the whole file is read as cp1252 (what Excel on Windows
saves; it names that in report.source); RFC 4180 quoting, with line numbers the physical line where
the record starts; blank lines ignored; the same title twice keeps the later one by date.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from ..errors import RecchatError
from .io import read_bytes
from .report import ImportReport

LETTERBOXD_LIKED_ABOVE = 3.0  # 0.5-5 half stars, the TALLRec/MovieLens rule (rating > 3): 3.5 and up is a like
IMDB_LIKED_ABOVE = 6  # 1-10: 7/10 ≈ 3.5/5, the first like on the 5-star rule; 6/10 = 3/5 is a dislike there too
GOODREADS_LIKED_ABOVE = 3  # 1-5 stars, the same rule as Letterboxd: 4 and 5 are likes

LETTERBOXD_WATCHED = ("Date", "Name", "Year", "Letterboxd URI")  # watched.csv; ratings.csv adds Rating
LETTERBOXD_RATING = "Rating"
IMDB_COLUMNS = ("Const", "Your Rating", "Date Rated", "Title", "Title Type", "Year")  # old exports lack Original Title
IMDB_FILM_TYPES = frozenset({"Movie", "movie", "TV Movie", "tvMovie", "Video", "video"})  # old and new export spellings
GOODREADS_COLUMNS = (
    "Book Id", "Title", "Author", "ISBN", "ISBN13", "My Rating", "Year Published",
    "Original Publication Year", "Date Read", "Date Added", "Exclusive Shelf",
)
# Letterboxd's import format (what people write by hand or export from other tools, and what
# engine.sources.export writes): Title, Year, imdbID, and for ratings Rating and WatchedDate.
LETTERBOXD_IMPORT = ("Title", "Year", "imdbID")
LABELS = {"letterboxd": "Letterboxd", "letterboxd-import": "Letterboxd", "imdb": "IMDb", "goodreads": "Goodreads"}
_REQUIRED = {"letterboxd": LETTERBOXD_WATCHED, "imdb": IMDB_COLUMNS, "goodreads": GOODREADS_COLUMNS,
             "letterboxd-import": LETTERBOXD_IMPORT}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError)
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_YEAR = re.compile(r"-?[0-9]{1,4}")  # Goodreads dates ancient books BC: the Odyssey is -800
_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")  # Letterboxd, IMDb: 2019-05-21; Goodreads: 2019/05/21


@dataclass(frozen=True)
class ExportRow:
    line: int  # 1-based physical line where the CSV record starts, for the report
    title: str
    year: int | None
    rating: float | None  # on the service's own scale; None = no rating (seen / read only)
    liked: bool | None  # the service's scale mapped to like/dislike; None when rating is None
    ts: float  # Unix seconds (UTC midnight) of the row's date, so a re-import gives the same ts; 0.0 when no date
    imdb_id: int | None = None  # "tt0111161" -> 111161
    isbn: str = ""  # ISBN-13 or ISBN-10 digits (X allowed last in an ISBN-10), "" when absent
    author: str = ""
    watchlist: bool = False  # on the person's watchlist (not seen): a list of its own, never a rating


class _Bad(Exception):
    """A row's fault, as the reason the report gives for skipping it."""


# --- reading CSV ---------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, bool]:
    """(text, fell back to cp1252): one undecodable byte means the file as a whole was not saved as UTF-8."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        # cp1252 leaves 5 bytes undefined; they become U+FFFD rather than stopping the import.
        return data.removeprefix(b"\xef\xbb\xbf").decode("cp1252", errors="replace"), True


def _records(text: str, offset: int = 0) -> Iterator[tuple[int, int, list[str], str]]:
    """(first line, last line, fields, CSV error or "") per non-blank record; lines count from `offset` + 1.

    Newlines inside quotes are counted, so line numbers stay the physical lines an editor shows."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = offset + reader.line_num + 1
        try:
            fields, error = next(reader), ""
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a field over csv's size limit: the row's fault, not the file's
            fields, error = [], str(e)
        if error or any(f.strip() for f in fields):
            yield start, offset + reader.line_num, fields, error


def _service_of(header: list[str]) -> str | None:
    return next((key for key, cols in _REQUIRED.items() if set(cols) <= set(header)), None)


def _header_cells(fields: list[str]) -> list[str]:
    return [f.strip().lstrip("\ufeff") for f in fields]


def _not_export(where: str, service: str, expected: str, header: list[str]) -> RecchatError:
    other = _service_of(header)
    hint = f" (it looks like a {LABELS[other]} export)" if other and other != service else ""
    return RecchatError(f"{where}: not {'an' if service == 'imdb' else 'a'} {LABELS[service]} export{hint}: expected header columns {expected}")


def _rows(
    where: str, name: str, text: str, service: str, expected: str, report: ImportReport
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, column -> stripped value) per data row of a file whose header names the service's columns.

    Rows with missing or extra fields are counted skips: a shifted row would put a title in the rating."""
    records = _records(text)
    first = next(records, None)
    if first is None:
        return  # an empty file: nothing to read, nothing wrong
    header = _header_cells(first[2])
    if not set(_REQUIRED[service]) <= set(header):
        raise _not_export(where, service, expected, header)
    lines = None
    while (record := next(records, None)) is not None:
        start, end, fields, error = record
        report.read += 1
        if error:
            report.skip(name, start, f"bad CSV: {error}")
        elif len(fields) != len(header) or (end > start and _swallowed(fields, len(header))):
            report.skip(name, start, _count_reason(header, fields, end > start))
            if end > start:  # an unbalanced quote swallowed the lines after it: read them again, on their own
                lines = lines or text.splitlines(keepends=True)
                records = _records("".join(lines[start:]), offset=start)
        elif any("\x00" in f for f in fields):
            report.skip(name, start, "undecodable bytes (NUL)")
        else:
            yield start, {h: f.strip() for h, f in zip(header, fields)}


def _swallowed(fields: list[str], width: int) -> bool:
    """A quoted field holding whole rows of the file (an unbalanced quote ran on until another quote), not a
    title with a line break: some line inside it has as many commas as a row."""
    return any(line.count(",") >= width - 1 for f in fields if "\n" in f for line in f.splitlines()[1:])


def _count_reason(header: list[str], fields: list[str], multiline: bool) -> str:
    quotes = " (unbalanced quotes?)" if multiline else ""
    if multiline and len(fields) == len(header):
        return "a quote runs on over the next lines (unbalanced quotes?)"
    if len(fields) < len(header):
        return f"missing field {header[len(fields)]!r}{quotes}"
    return f"expected {len(header)} fields, got {len(fields)} (an unquoted comma?){quotes}"


# --- fields --------------------------------------------------------------------------------------


def _text(f: dict[str, str], col: str) -> str:
    value = " ".join(f[col].split())  # a newline inside a quoted title is a line break, not part of the name
    if not value:
        raise _Bad(f"empty {col}")
    return value


def _year(f: dict[str, str], col: str) -> int | None:
    raw = f[col]
    if not raw:
        return None
    if not _YEAR.fullmatch(raw):
        raise _Bad(f"bad {col} {raw!r}")
    return int(raw)


def _ts(f: dict[str, str], col: str) -> float:
    raw = f[col]
    if not raw:
        return 0.0
    m = _DATE.fullmatch(raw)
    try:
        if not m:
            raise ValueError
        return datetime(*map(int, m.groups()), tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise _Bad(f"bad {col} {raw!r}") from None


def _number(f: dict[str, str], col: str, low: float, high: float, step: float) -> float | None:
    """A rating in [low, high] on the service's step (1 or 0.5); None when empty (not rated)."""
    raw = f[col]
    if not raw:
        return None
    if not _NUMBER.fullmatch(raw):
        raise _Bad(f"non-numeric rating {raw!r}")
    value = float(raw)
    if not low <= value <= high:
        raise _Bad(f"rating {raw} outside {low:g}-{high:g}")
    if (value / step) % 1:
        raise _Bad(f"rating {raw} is not a {'half star' if step < 1 else 'whole number'}")
    return value


def _liked(rating: float | None, above: float) -> bool | None:
    return None if rating is None else rating > above


def _isbn(raw: str) -> str:
    """Goodreads writes ISBNs as ="0439023483" (so Excel keeps the zeros) and ="" when there is none."""
    value = raw.strip().lstrip("=").strip('"').replace("-", "").replace(" ", "").upper()
    if re.fullmatch(r"[0-9]{13}|[0-9]{9}[0-9X]", value):
        return value
    return ""


# --- keeping one row per title -------------------------------------------------------------------


def _latest(
    keyed: list[tuple[Hashable, ExportRow]], name: str, report: ImportReport
) -> list[tuple[Hashable, ExportRow]]:
    """One row per key, the later by date (then by line); the others are skips naming the kept line."""
    groups: dict[Hashable, list[ExportRow]] = {}
    for key, row in keyed:
        groups.setdefault(key, []).append(row)
    kept = []
    for key, rows in groups.items():
        best = max(rows, key=lambda r: (r.ts, r.line))
        kept.append((key, best))
        for r in rows:
            if r is not best:
                report.skip(name, r.line, f"duplicate of line {best.line}")
    return sorted(kept, key=lambda kr: kr[1].line)


_RowParser = Callable[[int, dict[str, str]], tuple[Hashable, ExportRow]]  # raises _Bad for a bad row


def _parse(
    where: str, name: str, data: bytes, service: str, expected: str, report: ImportReport, parse_row: _RowParser
) -> tuple[list[tuple[Hashable, ExportRow]], bool]:
    """(kept (key, row) pairs of one file in line order, whether it was read as cp1252)."""
    text, fallback = _decode(data)
    first_bad = len(report.bad)
    keyed = []
    for line, f in _rows(where, name, text, service, expected, report):
        try:
            keyed.append(parse_row(line, f))
        except _Bad as e:
            report.skip(name, line, str(e))
    kept = _latest(keyed, name, report)
    report.bad[first_bad:] = sorted(report.bad[first_bad:], key=lambda b: b.line)  # duplicates come last otherwise
    return kept, fallback


def _source(service: str, names: list[str], cp1252: list[str]) -> str:
    note = f"; {', '.join(cp1252)} not UTF-8, read as cp1252" if cp1252 else ""
    return f"{service} ({' + '.join(names)}{note})"


def _refuse_zip(path: Path, data: bytes, service: str) -> None:
    if data.startswith(b"PK\x03\x04"):
        raise RecchatError(f"{path}: a zip archive; expected {LABELS[service]}'s CSV export (unzip it first)")


# --- Letterboxd ----------------------------------------------------------------------------------

_LETTERBOXD_EXPECTED = f"{', '.join(LETTERBOXD_WATCHED)} (and {LETTERBOXD_RATING} in ratings.csv)"


def _letterboxd_row(line: int, f: dict[str, str]) -> tuple[Hashable, ExportRow]:
    name, year, ts = _text(f, "Name"), _year(f, "Year"), _ts(f, "Date")
    # An empty Rating (diary.csv, watched.csv) is a film seen but not rated.
    rating = _number(f, LETTERBOXD_RATING, 0.5, 5, 0.5) if LETTERBOXD_RATING in f else None
    uri = f["Letterboxd URI"]
    key = ("uri", uri) if uri else ("name", name.casefold(), year)
    return key, ExportRow(line, name, year, rating, _liked(rating, LETTERBOXD_LIKED_ABOVE), ts)


def _shallowest(names: list[str], base: str) -> str | None:
    """The export's own ratings.csv, not one in a deleted/ or orphaned/ folder deeper down."""
    found = [n for n in names if n.rsplit("/", 1)[-1] == base and not n.startswith("__MACOSX/")]
    return min(found, key=lambda n: (n.count("/"), n), default=None)


LETTERBOXD_READ = ("ratings.csv", "watched.csv", "watchlist.csv")
# What else a Letterboxd export holds, and why it is not read (the report names every file).
LETTERBOXD_NOT_READ = {
    "diary.csv": "your diary: the same films as watched.csv, by date", "reviews.csv": "review texts",
    "profile.csv": "your profile", "comments.csv": "comments", "likes/films.csv": "films you hearted (not a rating)",
    "likes/lists.csv": "lists you liked", "likes/reviews.csv": "reviews you liked",
}


def _export_members(path: Path, names: list[str], what: str) -> list[str]:
    """ratings.csv, watched.csv and watchlist.csv of an unpacked or zipped export (some may be absent, not the
    first two together)."""
    members = [m for m in (_shallowest(names, base) for base in LETTERBOXD_READ) if m]
    if not [m for m in members if not m.endswith("watchlist.csv")]:
        raise RecchatError(f"{path}: no ratings.csv or watched.csv in the {what}; expected a Letterboxd export")
    return members


def _not_read(names: list[str], read: list[str]) -> list[str]:
    """Every other file of the export, and why it is not read."""
    out = []
    for n in sorted(names):
        if n in read or n.endswith("/") or n.startswith("__MACOSX/"):
            continue
        base = n.split("/", 1)[-1] if "/" in n and not n.startswith(("likes/", "lists/", "deleted/", "orphaned/")) else n
        why = LETTERBOXD_NOT_READ.get(base) or ("a list of yours" if base.startswith("lists/") else
                                                "deleted or orphaned entries" if base.startswith(("deleted/", "orphaned/"))
                                                else "not a ratings file")
        out.append(f"{n} ({why})")
    return out


def _letterboxd_files(path: Path, report: ImportReport) -> list[tuple[str, str, bytes]]:
    """(where, file name, bytes) of ratings.csv, watched.csv, watchlist.csv from a zip or folder, or the one CSV
    given; the report lists what else the export holds."""
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        members = _export_members(path, [n for n in names if n.endswith(".csv")], "folder")
        report.files = [f"read {m}" for m in members] + [f"not read: {n}" for n in _not_read(names, members)]
        return [(str(path / m), m.rsplit("/", 1)[-1], read_bytes(path / m)) for m in members]
    data = read_bytes(path)
    if not data.startswith(b"PK\x03\x04"):
        report.files = [f"read {path.name}"]
        return [(str(path), path.name, data)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            members = _export_members(path, names, "zip")
            report.files = [f"read {m}" for m in members] + [f"not read: {n}" for n in _not_read(names, members)]
            return [(f"{path}:{m}", m.rsplit("/", 1)[-1], zf.read(m)) for m in members]
    except _ZIP_ERRORS as e:
        raise RecchatError(f"{path}: cannot read the zip: {e}") from None


def read_letterboxd(path: Path) -> tuple[list[ExportRow], ImportReport]:
    """Letterboxd's export zip (ratings.csv + watched.csv + watchlist.csv), its folder, or one of those files.

    From the files a film appears once: its rated row, else its watched row (rating None, seen), else its
    watchlist row. The files overlap by design (every rated film is watched), so that merge is not a skip."""
    report = ImportReport("letterboxd")
    files = _letterboxd_files(Path(path), report)
    rows: list[ExportRow] = []
    seen: set[Hashable] = set()
    cp1252 = []
    for where, name, data in files:
        parse_row = _letterboxd_watchlist_row if name == "watchlist.csv" else _letterboxd_row
        service = "letterboxd"
        if _is_import_format(data):  # Title, Year, imdbID(, Rating): a list, or ratings, to import
            service, parse_row = "letterboxd-import", _letterboxd_import_row
        keyed, fallback = _parse(where, name, data, service, _LETTERBOXD_EXPECTED, report, parse_row)
        if fallback:
            cp1252.append(name)
        # Across files either the URI or the (Name, Year) matches (within one, _latest matched the URI).
        film_keys = [{key, ("name", row.title.casefold(), row.year)} for key, row in keyed]
        rows.extend(row for (_, row), keys in zip(keyed, film_keys) if not keys & seen)
        seen.update(*film_keys)
    report.source = _source("letterboxd", [name for _, name, _ in files], cp1252)
    return rows, report


def _is_import_format(data: bytes) -> bool:
    first = next(_records(_decode(data)[0]), None)
    header = set(_header_cells(first[2])) if first else set()
    return set(LETTERBOXD_IMPORT) <= header and "Letterboxd URI" not in header


def _letterboxd_import_row(line: int, f: dict[str, str]) -> tuple[Hashable, ExportRow]:
    """Letterboxd's import format: a rated row is a rating (on its 0.5-5 scale), a row without one a film
    to watch (a list read back lands on the watchlist)."""
    title, year = _text(f, "Title"), _year(f, "Year")
    raw = f.get("imdbID", "").strip()
    if raw and not re.fullmatch(r"(?:tt)?[0-9]+", raw):
        raise _Bad(f"bad imdbID {raw!r}")
    imdb_id = int(raw.removeprefix("tt")) if raw else None
    rating = _number(f, "Rating", 0.5, 5, 0.5) if f.get("Rating", "").strip() else None
    ts = _ts(f, "WatchedDate") if f.get("WatchedDate", "").strip() else 0.0
    key = ("imdb", imdb_id) if imdb_id else ("name", title.casefold(), year)
    return key, ExportRow(line, title, year, rating, _liked(rating, LETTERBOXD_LIKED_ABOVE), ts, imdb_id=imdb_id,
                          watchlist=rating is None)


def _letterboxd_watchlist_row(line: int, f: dict[str, str]) -> tuple[Hashable, ExportRow]:
    key, row = _letterboxd_row(line, {**f, LETTERBOXD_RATING: ""} if LETTERBOXD_RATING in f else f)
    return key, ExportRow(row.line, row.title, row.year, None, None, row.ts, watchlist=True)


# --- IMDb ----------------------------------------------------------------------------------------


def _imdb_row(line: int, f: dict[str, str]) -> tuple[Hashable, ExportRow]:
    const = f["Const"]
    if not re.fullmatch(r"tt[0-9]+", const):
        raise _Bad(f"bad Const {const!r}")
    kind = f["Title Type"]
    if kind not in IMDB_FILM_TYPES:
        raise _Bad(f"not a film: {kind}" if kind else "empty Title Type")
    title, year, ts = _text(f, "Title"), _year(f, "Year"), _ts(f, "Date Rated")
    rating = _number(f, "Your Rating", 1, 10, 1)
    imdb_id = int(const[2:])
    if rating is None and "Position" in f:  # the watchlist export: the ratings columns, plus its order
        return imdb_id, ExportRow(line, title, year, None, None, _ts(f, "Created") if "Created" in f else ts,
                                  imdb_id=imdb_id, watchlist=True)
    if rating is None:
        raise _Bad("not rated (empty Your Rating)")
    return imdb_id, ExportRow(line, title, year, rating, _liked(rating, IMDB_LIKED_ABOVE), ts, imdb_id=imdb_id)


def read_imdb(path: Path) -> tuple[list[ExportRow], ImportReport]:
    """IMDb's ratings.csv, found by column name: the current export and older ones without Original Title."""
    path = Path(path)
    data = read_bytes(path)
    _refuse_zip(path, data, "imdb")
    report = ImportReport("imdb")
    keyed, fallback = _parse(str(path), path.name, data, "imdb", ", ".join(IMDB_COLUMNS), report, _imdb_row)
    report.source = _source("imdb", [path.name], [path.name] if fallback else [])
    report.files = [f"read {path.name}" + (" (a watchlist)" if keyed and all(r.watchlist for _, r in keyed) else "")]
    return [row for _, row in keyed], report


# --- Goodreads -----------------------------------------------------------------------------------


def _goodreads_row(line: int, f: dict[str, str]) -> tuple[Hashable, ExportRow]:
    title, author = _text(f, "Title"), " ".join(f["Author"].split())  # the title keeps its "(Series, #1)"
    stars = _number(f, "My Rating", 0, 5, 1)
    if stars is None:
        raise _Bad("empty My Rating")
    shelf = f["Exclusive Shelf"]
    rating = stars or None  # 0 stars is Goodreads' "not rated"
    if rating is None and shelf != "read":
        raise _Bad(f"on {shelf or 'no shelf'}, not rated")
    year = _year(f, "Original Publication Year")
    if year is None:
        year = _year(f, "Year Published")
    ts = _ts(f, "Date Read") or _ts(f, "Date Added")
    isbn = _isbn(f["ISBN13"]) or _isbn(f["ISBN"])
    key = ("id", f["Book Id"]) if f["Book Id"] else ("title", title.casefold(), author.casefold())
    row = ExportRow(line, title, year, rating, _liked(rating, GOODREADS_LIKED_ABOVE), ts, isbn=isbn, author=author)
    return key, row


def read_goodreads(path: Path) -> tuple[list[ExportRow], ImportReport]:
    """Goodreads' goodreads_library_export.csv: rated books, and 0-star books on the read shelf as read."""
    path = Path(path)
    data = read_bytes(path)
    _refuse_zip(path, data, "goodreads")
    report = ImportReport("goodreads")
    expected = ", ".join(GOODREADS_COLUMNS)
    keyed, fallback = _parse(str(path), path.name, data, "goodreads", expected, report, _goodreads_row)
    report.source = _source("goodreads", [path.name], [path.name] if fallback else [])
    return [row for _, row in keyed], report


# --- sniffing ------------------------------------------------------------------------------------


def _service_of_data(data: bytes) -> str | None:
    first = next(_records(_decode(data)[0]), None)
    found = _service_of(_header_cells(first[2])) if first else None
    return "letterboxd" if found == "letterboxd-import" else found


def sniff(path: Path) -> str | None:
    """"letterboxd", "imdb" or "goodreads" from the header (of a Letterboxd zip's or folder's CSVs too), else None.

    A missing or unreadable path is a RecchatError, as in the readers."""
    path = Path(path)
    data = b"" if path.is_dir() else read_bytes(path)
    if not (path.is_dir() or data.startswith(b"PK\x03\x04")):
        return _service_of_data(data)
    try:
        files = _letterboxd_files(path, ImportReport("letterboxd"))
    except RecchatError:  # not a Letterboxd zip or folder
        return None
    return "letterboxd" if all(_service_of_data(d) == "letterboxd" for _, _, d in files) else None
