"""The one import loop for catalogs with ratings: every format reads into `CatalogData`, `write_catalog` writes it.

A reader parses the items whole (a few MB even for ML-32M's 87,585 movies) and hands the ratings over
as a stream, so a 32M-line file goes through in bounded memory; the write is one transaction, so a
failed or killed import leaves the store as it was.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import sqlite_utils

from .report import ImportReport
from .writer import FEEDBACK_BATCH, ItemRecord, writing


@dataclass(frozen=True)
class RatingRow:
    line: int  # in the ratings file, for the report
    user: str  # the source's user id
    item: str  # the source's item id
    rating: float | None  # None: implicit feedback (an interaction without a rating), imported as a like
    ts: float


@dataclass(frozen=True)
class ItemLinks:
    imdb: int | None = None
    tmdb: int | None = None


@dataclass
class CatalogData:
    """What a reader hands the loop. `liked_above`: a rating above this is a like (TALLRec's rule)."""

    dataset: str
    ratings_file: str  # its name, for the report
    user_prefix: str  # store user names are `{user_prefix}{source id}` ("ml100k-196")
    liked_above: float
    items: dict[str, ItemRecord]
    ratings: Callable[[], AbstractContextManager[Iterator[RatingRow]]]
    links: dict[str, ItemLinks] = field(default_factory=dict)
    rating_range: tuple[float, float] | None = None  # ratings outside it are counted bad rows
    ratings_bytes: int = 0  # the ratings file's size: a large one is written with its indexes rebuilt at the end


BULK_BYTES = 50 * 2**20  # about 2M ratings: past this, rebuilding two indexes once beats updating them per row


def write_catalog(db: sqlite_utils.Database, data: CatalogData, report: ImportReport,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    """Write items, links and ratings in one transaction; re-importing the same files adds nothing.

    Ratings of unknown items and out-of-range ratings become counted bad rows (`report.skip`) in the
    reader's stream; duplicates of an (user, item, time) event are ignored by the store's unique key."""
    lo, hi = data.rating_range or (float("-inf"), float("inf"))
    with writing(db, bulk=data.ratings_bytes > BULK_BYTES) as w, data.ratings() as rows:
        ids = {sid: w.item(rec) for sid, rec in data.items.items()}
        for sid, link in data.links.items():
            if sid in ids:
                w.link(ids[sid], link.imdb, link.tmdb)
        n = 0
        for r in rows:
            n += 1
            if progress and n % FEEDBACK_BATCH == 0:
                progress(FEEDBACK_BATCH)
            item = ids.get(r.item)
            if item is None:
                report.skip(data.ratings_file, r.line, f"unknown item id {r.item!r}")
                continue
            if r.rating is not None and not lo <= r.rating <= hi:
                report.skip(data.ratings_file, r.line, f"rating {r.rating:g} outside {lo:g}-{hi:g}")
                continue
            uid = w.user(f"{data.user_prefix}{r.user}", data.dataset, r.user)
            liked = True if r.rating is None else r.rating > data.liked_above
            w.feedback(uid, item, liked, r.rating, "import", r.ts)
    report.added = w.added
    first_seen = {f: k for k, f in reversed(list(enumerate(b.file for b in report.bad)))}
    report.bad.sort(key=lambda b: (first_seen[b.file], b.line))  # reader's and loop's skips in file order
    return report
