"""The one import loop for catalogs with ratings: every format reads into `CatalogData`, `write_catalog` writes it.

A reader parses the items whole (a few MB even for ML-32M's 87,585 movies) and hands the ratings over
as a stream, so a 32M-line file goes through in bounded memory; the write is one transaction, so a
failed or killed import leaves the store as it was.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import sqlite_utils

from .report import ImportReport
from .writer import FEEDBACK_BATCH, ItemRecord, is_bulk, writing


@dataclass(frozen=True)
class RatingRow:
    line: int  # in the ratings file, for the report
    user: str  # the source's user id
    item: str  # the source's item id
    rating: float | None  # None: implicit feedback (an interaction without a rating), imported as a like
    ts: float


@dataclass(frozen=True)
class RatingBlock:
    """Many well-formed numeric rating lines parsed at once (a MovieLens ratings.csv chunk): per-row Python
    objects cost more than SQLite's insert at ML-32M's 32M rows."""

    lines: np.ndarray  # line numbers, for the report
    users: np.ndarray  # int64 source user ids
    items: np.ndarray  # int64 source item ids
    ratings: np.ndarray  # float64
    ts: np.ndarray  # float64


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
    ratings: Callable[[], AbstractContextManager[Iterator[RatingRow | RatingBlock]]]
    links: dict[str, ItemLinks] = field(default_factory=dict)
    rating_range: tuple[float, float] | None = None  # ratings outside it are counted bad rows
    ratings_bytes: int = 0  # the ratings file's size: a large one is written with its indexes rebuilt at the end
    tags: dict[str, dict[str, float]] = field(default_factory=dict)  # source item id -> tag -> times applied
    genome: dict[str, dict[str, float]] = field(default_factory=dict)  # source item id -> tag -> relevance


def write_catalog(db: sqlite_utils.Database, data: CatalogData, report: ImportReport,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    """Write items, links and ratings in one transaction; re-importing the same files adds nothing.

    Ratings of unknown items and out-of-range ratings become counted bad rows (`report.skip`) in the
    reader's stream; duplicates of an (user, item, time) event are ignored by the store's unique key."""
    lo, hi = data.rating_range or (float("-inf"), float("inf"))
    with writing(db, bulk=is_bulk(db, data.ratings_bytes)) as w, data.ratings() as rows:
        ids = {sid: w.item(rec) for sid, rec in data.items.items()}
        for sid, link in data.links.items():
            if sid in ids:
                w.link(ids[sid], link.imdb, link.tmdb)
        for source, by_item in (("tags", data.tags), ("genome", data.genome)):
            w.tags(source, ((ids[sid], tags) for sid, tags in by_item.items() if sid in ids))
        blocks = _BlockWriter(w, data, ids, report, lo, hi)
        n = 0
        for r in rows:
            if isinstance(r, RatingBlock):
                blocks.write(r)
                if progress:
                    progress(len(r.lines))
                continue
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


class _BlockWriter:
    """Writes RatingBlocks: the same checks and rows as the per-line loop, on arrays."""

    def __init__(self, w, data: CatalogData, ids: dict[str, int], report: ImportReport, lo: float, hi: float):
        self.w, self.data, self.report, self.lo, self.hi = w, data, report, lo, hi
        numeric = sorted((int(sid), sid_id) for sid, sid_id in ids.items() if sid.isdigit())
        # sorted source ids and their store ids, searched (a dense table indexed by source id took 1.5 GB
        # and 11 s of page zeroing for BookCrossing's ISBN-10s read as numbers)
        self.source_ids = np.array([k for k, _ in numeric], dtype=np.int64)
        self.store_ids = np.array([v for _, v in numeric], dtype=np.int64)

    def store_items(self, items: np.ndarray) -> np.ndarray:
        """Store id of each source item id, -1 for ids the catalog does not hold."""
        if not len(self.source_ids):
            return np.full(len(items), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.source_ids, items), len(self.source_ids) - 1)
        return np.where(self.source_ids[pos] == items, self.store_ids[pos], -1)

    def write(self, b: RatingBlock) -> None:
        store_items = self.store_items(b.items)
        ok_item = store_items >= 0
        ok_rating = (b.ratings >= self.lo) & (b.ratings <= self.hi)
        finite = np.isfinite(b.ratings) & np.isfinite(b.ts)
        for k in np.flatnonzero(~(ok_item & ok_rating & finite)):
            line = int(b.lines[k])
            if not finite[k]:
                reason = "rating or timestamp is NaN"
            elif not ok_item[k]:
                reason = f"unknown item id {str(int(b.items[k]))!r}"
            else:
                reason = f"rating {b.ratings[k]:g} outside {self.lo:g}-{self.hi:g}"
            self.report.skip(self.data.ratings_file, line, reason)
        good = ok_item & ok_rating & finite
        users = b.users[good]
        uniq, inverse = np.unique(users, return_inverse=True)
        prefix, dataset = self.data.user_prefix, self.data.dataset
        store_users = np.array([self.w.user(f"{prefix}{u}", dataset, str(u)) for u in uniq.tolist()], dtype=np.int64)
        ratings = b.ratings[good]
        self.w.feedback_many(zip(store_users[inverse].tolist(), store_items[good].tolist(),
                                 (ratings > self.data.liked_above).astype(np.int64).tolist(), ratings.tolist(),
                                 b.ts[good].tolist()))
