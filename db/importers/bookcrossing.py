"""BookCrossing CSV dump: `BX-Books.csv` + `BX-Book-Ratings.csv`, `;`-separated, quoted, ISO-8859-1."""

from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import RecchatError
from ..prompt import book_name
from .io import decoded_lines, read_bytes
from .report import ImportReport
from .catalog_data import CatalogData, RatingRow, write_catalog
from .writer import ItemRecord

DATASET = "bookcrossing"
LIKED_ABOVE = 5  # TALLRec book protocol: rating > 5 is a like
ENCODING = "iso-8859-1"


def _fields(line: str) -> list[str]:
    # The dump escapes inner quotes as \" ; csv handles that with escapechar.
    return next(csv.reader([line], delimiter=";", quotechar='"', escapechar="\\"), [])


def _locate(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        books, ratings = path / "BX-Books.csv", path / "BX-Book-Ratings.csv"
    elif path.name == "BX-Book-Ratings.csv":
        books, ratings = path.with_name("BX-Books.csv"), path
    elif path.exists():
        raise RecchatError(f"{path}: expected the BookCrossing folder holding BX-Books.csv and BX-Book-Ratings.csv")
    else:
        raise RecchatError(f"file not found: {path}")
    for f in (books, ratings):
        if not f.exists():
            raise RecchatError(f"file not found: {f}")
    return books, ratings


def _parse_books(file: Path, report: ImportReport) -> dict[str, ItemRecord]:
    items = {}
    for lineno, line in decoded_lines(file, read_bytes(file), ENCODING, report, skip_header=True):
        f = _fields(line)
        if len(f) < 4:
            report.skip(file, lineno, f"expected at least 4 ;-separated fields, got {len(f)}")
            continue
        isbn, title, author, year = (x.strip() for x in f[:4])
        if not isbn or not title:
            report.skip(file, lineno, "empty ISBN or title")
            continue
        y = int(year) if year.isdigit() and int(year) > 0 else None
        publisher = f[4].strip() if len(f) > 4 else ""
        items[isbn] = ItemRecord("book", DATASET, isbn, book_name(title, author), title, y, author, "", publisher)
    return items


def _parse_ratings(file: Path, report: ImportReport) -> Iterator[RatingRow]:
    for lineno, line in decoded_lines(file, read_bytes(file), ENCODING, report, skip_header=True):
        f = _fields(line)
        if len(f) < 3:
            report.skip(file, lineno, f"expected 3 ;-separated fields, got {len(f)}")
            continue
        user, isbn, raw = (x.strip() for x in f[:3])
        try:
            rating = float(raw)
        except ValueError:
            report.skip(file, lineno, f"non-numeric rating {raw!r}")
            continue
        # The dump has no timestamps; ts 0 keeps file order (ties break on insertion id).
        yield RatingRow(lineno, user, isbn, rating, 0.0)


def import_bookcrossing(db: sqlite_utils.Database, path: str | Path) -> ImportReport:
    books_file, ratings_file = _locate(Path(path))
    report = ImportReport("bookcrossing")
    items = _parse_books(books_file, report)
    rows = list(_parse_ratings(ratings_file, report))  # the whole file parsed before the write begins

    @contextmanager
    def ratings() -> Iterator[Iterator[RatingRow]]:
        yield iter(rows)

    data = CatalogData(DATASET, ratings_file.name, "bx-", LIKED_ABOVE, items, ratings, rating_range=(0, 10))
    return write_catalog(db, data, report)
