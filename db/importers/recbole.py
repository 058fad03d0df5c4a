"""Any RecBole atomic dataset: `NAME.inter` (+ `NAME.item`), tab-separated with typed headers (`item_id:token`).

Field names differ per dataset (ML-100K's `movie_title`, BookCrossing's `book_title`, Yelp's
`business_id` and `stars`), so the fields are found by role from the header: the user and item
keys, a rating, a time, and the item's title, year, genres and creators. An `.inter` without a
rating field is implicit feedback: every interaction is imported as a like.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from ..errors import RecchatError
from ..prompt import book_name
from .catalog_data import CatalogData, RatingRow, write_catalog
from .io import decoded_lines, lines_any
from .ml100k import import_ml100k
from .report import ImportReport
from .writer import ItemRecord

# Field roles, by name (first match wins); names are compared without their `:type`.
RATING_FIELDS = ("rating", "stars", "score", "overall")
TIME_FIELDS = ("timestamp", "time", "date", "unixreviewtime")
TITLE_FIELDS = ("movie_title", "title", "book_title", "item_name", "name", "app_name", "business_name")
YEAR_FIELDS = ("release_year", "year", "publication_year", "year_of_publication", "publish_year")
GENRE_FIELDS = ("class", "genre", "genres", "categories", "category", "tags")
CREATOR_FIELDS = ("book_author", "author", "authors", "artist", "director", "brand", "developer")


@dataclass(frozen=True)
class Header:
    names: list[str]

    @classmethod
    def parse(cls, line: str, label: str) -> "Header":
        fields = line.split("\t")
        if not all(":" in f for f in fields):
            raise RecchatError(f"{label}: not a RecBole atomic file (header fields look like item_id:token)")
        return cls([f.split(":", 1)[0].strip().lower() for f in fields])

    def find(self, candidates: tuple[str, ...]) -> int | None:
        for c in candidates:
            if c in self.names:
                return self.names.index(c)
        return None


def _locate(path: Path) -> tuple[Path, Path | None]:
    if path.is_file() and path.suffix == ".inter":
        inter = path
    elif path.is_dir():
        found = sorted(path.glob("*.inter"))
        if not found:
            raise RecchatError(f"{path}: no .inter file (a RecBole atomic dataset is NAME.inter with NAME.item)")
        inter = path / f"{path.name}.inter" if (path / f"{path.name}.inter").exists() else found[0]
    elif not path.exists():
        raise RecchatError(f"file not found: {path}")
    else:
        raise RecchatError(f"{path}: expected a RecBole dataset folder or its .inter file")
    item = inter.with_suffix(".item")
    return inter, item if item.exists() else None


def _keys(inter: Header, item: Header | None, label: str) -> tuple[int, int, str]:
    """The user and item key columns of the .inter file, and the item key's name."""
    user = next((k for k, n in enumerate(inter.names) if n == "user_id"), None)
    if user is None:
        user = next((k for k, n in enumerate(inter.names) if n.startswith("user")), None)
    item_key = item.names[0] if item else ("item_id" if "item_id" in inter.names else None)
    if item_key is None:
        item_key = next((n for n in inter.names if n.endswith("_id") and not n.startswith(("user", "review"))), None)
    if user is None or item_key not in inter.names:
        raise RecchatError(f"{label}: cannot tell the user and item fields from the header {inter.names}")
    return user, inter.names.index(item_key), item_key


def _parse_items(file: Path, header: Header, domain: str, dataset: str, report: ImportReport) -> dict[str, ItemRecord]:
    title, year, genres, creators = (header.find(f) for f in (TITLE_FIELDS, YEAR_FIELDS, GENRE_FIELDS, CREATOR_FIELDS))
    items: dict[str, ItemRecord] = {}
    for lineno, line in lines_any(file.name, file.read_bytes(), report, skip_header=True):
        f = line.split("\t")
        if len(f) < len(header.names):
            f += [""] * (len(header.names) - len(f))
        get = lambda k: f[k].strip() if k is not None else ""  # noqa: E731
        sid, name = get(0), get(title)
        if not sid:
            report.skip(file, lineno, "empty item id")
            continue
        y = int(get(year)) if get(year).isdigit() and 0 < int(get(year)) < 3000 else None
        name = name or sid
        author = get(creators)
        shown = book_name(name, author) if domain == "book" else (f"{name} ({y})" if y else name)
        items[sid] = ItemRecord(domain, dataset, sid, shown, name, y, author, ", ".join(get(genres).split()))
    return items


def _ratings(file: Path, user: int, item: int, rating: int | None, time: int | None,
             report: ImportReport) -> Callable:
    @contextmanager
    def ratings() -> Iterator[Iterator[RatingRow]]:
        with open(file, "rb") as f:
            yield _rows(decoded_lines(file, f, "utf-8", report, skip_header=True))

    def _rows(lines: Iterator[tuple[int, str]]) -> Iterator[RatingRow]:
        width = max(k for k in (user, item, rating, time) if k is not None) + 1
        for lineno, line in lines:
            f = line.split("\t")
            if len(f) < width:
                report.skip(file, lineno, f"expected {width} tab-separated fields, got {len(f)}")
                continue
            try:
                r = float(f[rating]) if rating is not None else None
                ts = float(f[time]) if time is not None and f[time].strip() else 0.0
            except ValueError:
                report.skip(file, lineno, "non-numeric rating or time")
                continue
            if (r is not None and r != r) or ts != ts:
                report.skip(file, lineno, "rating or time is NaN")
                continue
            yield RatingRow(lineno, f[user].strip(), f[item].strip(), r, ts)
    return ratings


def _max_rating(file: Path, column: int) -> float:
    best = 0.0
    with open(file, "rb") as f:
        next(f, None)
        for raw in f:
            parts = raw.split(b"\t")
            try:
                best = max(best, float(parts[column]))
            except (ValueError, IndexError):
                continue
    return best


def import_recbole(db: sqlite_utils.Database, path: str | Path, domain: str = "movie", dataset: str | None = None,
                   liked_above: float | None = None, progress: Callable[[int], None] | None = None) -> ImportReport:
    """`liked_above` default: 3 on a 5-point scale (TALLRec's movie rule), half the top rating otherwise."""
    inter_file, item_file = _locate(Path(path))
    dataset = dataset or inter_file.stem
    if dataset == "ml-100k" and domain == "movie":  # the one importer of ML-100K, so its users keep their names
        return import_ml100k(db, inter_file.parent, progress=progress)
    report = ImportReport(f"recbole ({dataset})")
    with open(inter_file, "rb") as f:
        first = f.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    inter = Header.parse(first, inter_file.name)
    item_header = None
    if item_file:
        item_header = Header.parse(item_file.read_bytes().split(b"\n", 1)[0].decode("utf-8-sig", "replace").rstrip("\r"),
                                   item_file.name)
    user_col, item_col, _ = _keys(inter, item_header, inter_file.name)
    rating_col, time_col = inter.find(RATING_FIELDS), inter.find(TIME_FIELDS)
    if item_header:
        items = _parse_items(item_file, item_header, domain, dataset, report)
    else:  # no .item file: the ids are the items
        items = {}
        with open(inter_file, "rb") as f:
            next(f, None)
            for raw in f:
                parts = raw.decode("utf-8", "replace").rstrip("\r\n").split("\t")
                if len(parts) > item_col and parts[item_col].strip():
                    sid = parts[item_col].strip()
                    items.setdefault(sid, ItemRecord(domain, dataset, sid, sid, sid))
    if liked_above is None:
        top = _max_rating(inter_file, rating_col) if rating_col is not None else 0.0
        liked_above = 3.0 if top <= 5 else top / 2
    data = CatalogData(dataset, inter_file.name, f"{dataset}-", liked_above, items,
                       _ratings(inter_file, user_col, item_col, rating_col, time_col, report))
    return write_catalog(db, data, report, progress)
