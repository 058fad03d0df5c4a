"""A person's own history (Letterboxd, IMDb, Goodreads) linked to the active catalog and written as their ratings.

Rows link by the strongest key the export carries: an IMDb id through MovieLens' links.csv, an ISBN
through BookCrossing's ids, then title and year (or author) through the chat's own title linker
(`TitleIndex.link`: one normaliser for what people type and what they export). A row is linked,
ambiguous (two plausible items: listed, not guessed) or not in the catalog; only linked rows are
written, in one transaction, so importing the same file again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from db.catalog import catalog_items, items_by_imdb, items_by_source_id
from db.catalogs import CatalogChoice, use_catalog
from db.errors import RecchatError
from db.feedback import rating_counts, write_history
from db.importers.exports import ExportRow, read_goodreads, read_imdb, read_letterboxd, sniff
from db.importers.report import ImportReport
from db.types import Item
from db.users import get_or_create_user
from engine.vocab.mentions import Link, TitleIndex

READERS: dict[str, tuple[str, Callable[[Path], tuple[list[ExportRow], ImportReport]]]] = {
    "letterboxd": ("movie", read_letterboxd),
    "imdb": ("movie", read_imdb),
    "goodreads": ("book", read_goodreads),
}


@dataclass(frozen=True)
class LinkedRow:
    row: ExportRow
    link: Link
    how: str  # "imdb id", "isbn", "title and year", "title and author"


@dataclass
class HistoryReport:
    parsed: ImportReport
    catalog: CatalogChoice
    rows: list[LinkedRow] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=dict)

    def of(self, status: str) -> list[LinkedRow]:
        return [r for r in self.rows if r.link.status == status]

    def summary_lines(self, max_rows: int = 20) -> list[str]:
        lines = list(self.parsed.files) + [str(b) for b in self.parsed.bad[:max_rows]]
        for r in self.of("ambiguous")[:max_rows]:
            lines.append(f"line {r.row.line}: {_shown(r.row)} is ambiguous: "
                         + "; ".join(f"{i.name} [id {i.id}]" for i in r.link.candidates))
        for r in self.of("missing")[:max_rows]:
            extra = f" ({r.link.why}: {'; '.join(i.name for i in r.link.candidates)})" if r.link.why else ""
            lines.append(f"line {r.row.line}: {_shown(r.row)} is not in the catalog{extra}")
        linked = self.of("linked")
        added = ", ".join(f"{n} {k}" for k, n in self.added.items() if n) or "nothing"
        lines.append(f"{self.parsed.source} → {self.catalog.dataset}: {len(self.rows)} rows: {len(linked)} linked, "
                     f"{len(self.of('ambiguous'))} ambiguous, {len(self.of('missing'))} not in the catalog; "
                     f"skipped {len(self.parsed.bad)} bad rows; added {added}")
        return lines


def _shown(row: ExportRow) -> str:
    return f"{row.title} ({row.year})" if row.year else row.title


def _isbn10(isbn: str) -> str | None:
    """ISBN-13 of the 978 range → its ISBN-10 (BookCrossing's ids); an ISBN-10 as it is."""
    if len(isbn) == 10:
        return isbn.upper()
    if len(isbn) == 13 and isbn.startswith("978") and isbn.isdigit():
        core = isbn[3:12]
        check = (11 - sum((10 - k) * int(d) for k, d in enumerate(core)) % 11) % 11
        return core + ("X" if check == 10 else str(check))
    return None


def link_rows(db: sqlite_utils.Database, domain: str, rows: list[ExportRow]) -> list[LinkedRow]:
    """Each row's item in the active catalog: exact ids first, then the title linker."""
    by_imdb = items_by_imdb(db, domain, [r.imdb_id for r in rows if r.imdb_id])
    isbns = {r.isbn: _isbn10(r.isbn) for r in rows if r.isbn}
    by_isbn = items_by_source_id(db, domain, sorted({v for v in isbns.values() if v} | set(isbns)))
    items = list(catalog_items(db, domain).values())
    counts = rating_counts(db, domain)
    index = TitleIndex.build(items, {i.id: float(counts.get(i.id, 0)) for i in items})
    out = []
    for r in rows:
        exact: Item | None = by_imdb.get(r.imdb_id) if r.imdb_id else None
        if exact is None and r.isbn:
            exact = by_isbn.get(r.isbn) or by_isbn.get(isbns.get(r.isbn) or "")
        if exact is not None:
            out.append(LinkedRow(r, Link("linked", exact, (exact,)), "imdb id" if r.imdb_id else "isbn"))
            continue
        link = index.link(r.title, r.year, r.author)
        out.append(LinkedRow(r, link, "title and author" if r.author else "title and year"))
    return out


def import_history(db: sqlite_utils.Database, service: str, path: Path, user: str,
                   dataset: str | None = None) -> HistoryReport:
    """Parse, link to the domain's active catalog (or `dataset`), write the linked rows as `user`'s ratings."""
    domain, reader = READERS[service]
    found = sniff(path) if path.is_file() and path.suffix.lower() == ".csv" else None
    if found and found != service:
        raise RecchatError(f"{path} is a {found} export, not {service}: run `engine data import {found} {path.name}`")
    rows, parsed = reader(path)
    catalog = use_catalog(db, domain, dataset)
    if catalog.info is None:
        raise RecchatError(f"the store has no {domain} catalog to link to: import one first "
                           f"(`engine data import movielens ml-latest-small`)")
    report = HistoryReport(parsed, catalog, link_rows(db, domain, rows))
    uid = get_or_create_user(db, user)
    linked = report.of("linked")
    ratings = [(r.link.item.id, r.row.liked, r.row.rating, r.row.ts) for r in linked if r.row.liked is not None]
    seen = [(r.link.item.id, r.row.ts) for r in linked if r.row.liked is None and not r.row.watchlist]
    watchlist = [(r.link.item.id, r.row.ts) for r in linked if r.row.watchlist]
    report.added = write_history(db, uid, ratings, seen, watchlist, source=service)
    return report
