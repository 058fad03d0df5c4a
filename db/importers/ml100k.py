"""MovieLens-100K in either layout: GroupLens (`u.data`, `u.item`; folder or zip) or RecBole atomic files."""

from __future__ import annotations

import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, ContextManager, Iterator

import sqlite_utils

from ..errors import RecchatError
from .io import decoded_lines, read_bytes, split_ratings
from .report import ImportReport
from .catalog_data import CatalogData, RatingRow, write_catalog
from .writer import ItemRecord

DATASET = "ml-100k"
GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]
LIKED_ABOVE = 3  # TALLRec movie protocol: rating > 3 is a like
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def movie_item(source_id: str, name: str, year: int | None, genres: list[str]) -> ItemRecord:
    m = _TITLE_YEAR.match(name)
    title = m.group("title") if m else name
    if year is None and m:
        year = int(m.group("year"))
    return ItemRecord("movie", DATASET, source_id, name, title, year, "", ", ".join(genres))


@dataclass
class Source:
    """The two files of one layout: the items read whole (a few MB at most), the ratings opened as a stream."""

    layout: str
    items: tuple[Path, bytes]
    ratings_name: Path
    open_ratings: Callable[[], ContextManager[BinaryIO]]


@contextmanager
def _zip_member(path: Path, member: str) -> Iterator[BinaryIO]:
    with zipfile.ZipFile(path) as zf, zf.open(member) as f:
        yield f


def _open_file(path: Path) -> ContextManager[BinaryIO]:
    try:
        return open(path, "rb")
    except OSError as e:
        raise RecchatError(f"cannot read {path}: {e.strerror or e}") from None


def _files(path: Path) -> Source:
    """Which layout `path` holds and its files."""
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = {Path(n).name: n for n in zf.namelist()}
            if "u.data" in names and "u.item" in names:
                items = (Path(names["u.item"]), zf.read(names["u.item"]))
                return Source("grouplens", items, Path(names["u.data"]), lambda: _zip_member(path, names["u.data"]))
        raise RecchatError(f"{path}: zip has no u.data and u.item")
    if path.is_dir():
        for layout, ratings, items in (("grouplens", "u.data", "u.item"), ("recbole", "ml-100k.inter", "ml-100k.item")):
            if (path / ratings).exists():
                return Source(layout, (path / items, read_bytes(path / items)), path / ratings,
                              lambda f=path / ratings: _open_file(f))
        raise RecchatError(f"{path}: not an ML-100K folder (expected u.data + u.item or ml-100k.inter + ml-100k.item)")
    if not path.exists():
        raise RecchatError(f"file not found: {path}")
    raise RecchatError(f"{path}: not an ML-100K folder or zip")


def _parse_items(layout: str, file: Path, data: bytes, report: ImportReport) -> dict[str, ItemRecord]:
    items: dict[str, ItemRecord] = {}
    if layout == "grouplens":
        for lineno, line in decoded_lines(file, data, "iso-8859-1", report):
            f = line.split("|")
            if len(f) < 5 + len(GENRES):
                report.skip(file, lineno, f"expected {5 + len(GENRES)} |-separated fields, got {len(f)}")
                continue
            flags = f[5 : 5 + len(GENRES)]
            genres = [g for g, flag in zip(GENRES, flags) if flag.strip() == "1" and g != "unknown"]
            items[f[0]] = movie_item(f[0], f[1], None, genres)
    else:
        for lineno, line in decoded_lines(file, data, "utf-8", report, skip_header=True):
            f = line.split("\t")
            if len(f) < 4:
                report.skip(file, lineno, f"expected 4 tab-separated fields, got {len(f)}")
                continue
            year = int(f[2]) if f[2].isdigit() else None
            items[f[0]] = movie_item(f[0], f"{f[1]} ({f[2]})", year, f[3].split())
    return items


def _parse_ratings(layout: str, file: Path, lines: BinaryIO, report: ImportReport) -> Iterator[RatingRow]:
    """The ratings as they are read: one line in memory at a time."""
    yield from split_ratings(decoded_lines(file, lines, "utf-8", report, skip_header=layout == "recbole"), "\t",
                             file, report)


def import_ml100k(db: sqlite_utils.Database, path: str | Path,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import in one transaction, streaming the ratings file (any size in bounded memory).

    `progress`: called with the number of ratings read since the last call (every FEEDBACK_BATCH)."""
    src = _files(Path(path))
    report = ImportReport(f"ml-100k ({src.layout})")
    items = _parse_items(src.layout, *src.items, report)

    @contextmanager
    def ratings() -> Iterator[Iterator[RatingRow]]:
        with src.open_ratings() as lines:
            yield _parse_ratings(src.layout, src.ratings_name, lines, report)

    data = CatalogData(DATASET, src.ratings_name.name, "ml100k-", LIKED_ABOVE, items, ratings)
    return write_catalog(db, data, report, progress)
