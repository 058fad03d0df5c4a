"""Every GroupLens MovieLens release, the release told by its files: 100K, 1M, 10M and the CSV releases
(20M, 25M, 32M, latest, latest-small), from a folder or the GroupLens zip.

What each keeps: the movie's source id, its IMDb and TMDb ids (links.csv), genres normalised across
releases (ML-100K/1M's "Children's" and the CSV releases' "Children" are one genre; "(no genres
listed)" is none), the five most-applied tags as the item's text and every tag with its count in the
store's knowledge (db/knowledge.py), the tag genome where the release has one (relevance >= GENOME_MIN),
half-star ratings as they are, and
liked = rating > 3 (the TALLRec movie protocol). The release name is the dataset (`items.source`,
`users.dataset`), so `engine data split movie --dataset ml-latest-small` and the chat's catalog
choice (db.catalogs) name it.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
import sqlite_utils

from ..errors import RecchatError
from .catalog_data import CatalogData, ItemLinks, RatingBlock, RatingRow, write_catalog
from .io import decoded_lines, lines_any, split_ratings
from .ml100k import import_ml100k
from .report import ImportReport
from .writer import ItemRecord

LIKED_ABOVE = 3  # TALLRec movie protocol: rating > 3 is a like (3.5 and up on the half-star releases)
TOP_TAGS = 5  # most-applied tags kept as an item's text
GENOME_MIN = 0.3  # genome relevance kept in the store: about a tenth of the scores, every strong tag of a film
CSV_RELEASES = ("ml-20m", "ml-25m", "ml-32m", "ml-latest", "ml-latest-small")
RELEASES = ("ml-100k", "ml-1m", "ml-10m", *CSV_RELEASES)
GENRE_ALIASES = {"Children": "Children's", "(no genres listed)": ""}  # one spelling across releases
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:[-–]\d{0,4})?\)\s*$")
_README_NAME = re.compile(rb"This dataset \((ml-[\w-]+)\)")


def normalise_genres(raw: str) -> str:
    out: list[str] = []
    for g in raw.split("|"):
        g = GENRE_ALIASES.get(g.strip(), g.strip())
        if g and g not in out:
            out.append(g)
    return ", ".join(out)


def movie_record(dataset: str, source_id: str, name: str, genres: str, text: str = "") -> ItemRecord:
    """`name` as the release writes it ("Seven (a.k.a. Se7en) (1995)"); the title without the year."""
    name = " ".join(name.split())  # a quoted newline or tab in a title would break the prompt's lines
    m = _TITLE_YEAR.match(name)
    title, year = (m.group("title"), int(m.group("year"))) if m else (name, None)
    return ItemRecord("movie", dataset, source_id, name, title, year, "", genres, text)


# ------------------------------------------------------------------ files
@dataclass
class Bundle:
    """The files of a release, in a folder or a zip, found by base name wherever they sit inside."""

    path: Path
    members: dict[str, str]  # base name -> path inside the folder or zip

    @classmethod
    def open(cls, path: Path) -> "Bundle":
        if not path.exists():
            raise RecchatError(f"file not found: {path}")
        if path.is_dir():
            return cls(path, {p.name: str(p.relative_to(path)) for p in sorted(path.rglob("*")) if p.is_file()})
        try:
            with zipfile.ZipFile(path) as zf:
                return cls(path, {Path(n).name: n for n in zf.namelist() if not n.endswith("/")})
        except (zipfile.BadZipFile, OSError) as e:
            raise RecchatError(f"{path}: not a MovieLens folder or a readable zip ({e})") from None

    def has(self, *names: str) -> bool:
        return all(n in self.members for n in names)

    @contextmanager
    def stream(self, name: str) -> Iterator[BinaryIO]:
        try:
            if self.path.is_dir():
                with open(self.path / self.members[name], "rb") as f:
                    yield f
            else:
                with zipfile.ZipFile(self.path) as zf, zf.open(self.members[name]) as f:
                    yield f
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as e:
            raise RecchatError(f"{self.path}: {name} is damaged or truncated ({e})") from None

    def read(self, name: str) -> bytes:
        with self.stream(name) as f:
            return f.read()

    def size(self, name: str) -> int:
        """Uncompressed bytes of a member (how large an import is coming)."""
        if self.path.is_dir():
            return (self.path / self.members[name]).stat().st_size
        with zipfile.ZipFile(self.path) as zf:
            return zf.getinfo(self.members[name]).file_size

    def label(self, name: str) -> str:
        return Path(self.members[name]).name


def detect_release(bundle: Bundle) -> str:
    """Which release the files are, from the files themselves (a README names the CSV releases)."""
    if bundle.has("u.data", "u.item") or bundle.has("ml-100k.inter"):
        return "ml-100k"
    if bundle.has("ratings.dat", "movies.dat"):
        return "ml-1m" if bundle.has("users.dat") else "ml-10m"
    if bundle.has("ratings.csv", "movies.csv"):
        if bundle.has("README.txt") and (m := _README_NAME.search(bundle.read("README.txt")[:4000])):
            return m.group(1).decode()
        stem = bundle.path.name.removesuffix(".zip")
        if stem in CSV_RELEASES:
            return stem
        raise RecchatError(f"{bundle.path}: a MovieLens CSV release, but its README does not say which; "
                           f"name the folder after it ({', '.join(CSV_RELEASES)})")
    raise RecchatError(f"{bundle.path}: not a MovieLens release (expected u.data + u.item, ratings.dat + movies.dat, "
                       "or ratings.csv + movies.csv)")


def check_named(bundle: Bundle, release: str, named: str | None) -> None:
    """A zip called ml-25m.zip (or --release ml-25m) that holds another release is refused, not imported."""
    stem = bundle.path.name.removesuffix(".zip")
    for wanted, how in ((named, "--release"), (stem if stem in RELEASES else None, "its name")):
        if wanted and wanted != release:
            raise RecchatError(f"{bundle.path} holds {release}, not {wanted} as {how} says")


# ------------------------------------------------------------------ readers
def _dat_items(bundle: Bundle, dataset: str, report: ImportReport, tags: dict[str, str]) -> dict[str, ItemRecord]:
    items = {}
    data = bundle.read("movies.dat")
    for lineno, line in lines_any(bundle.label("movies.dat"), data, report):
        f = line.split("::")
        if len(f) != 3:
            report.skip(bundle.label("movies.dat"), lineno, f"expected 3 ::-separated fields, got {len(f)}")
            continue
        items[f[0]] = movie_record(dataset, f[0], f[1], normalise_genres(f[2]), tags.get(f[0], ""))
    return items


def _dat_ratings(bundle: Bundle, report: ImportReport) -> Callable:
    label = bundle.label("ratings.dat")

    @contextmanager
    def ratings() -> Iterator[Iterator[RatingRow | RatingBlock]]:
        with bundle.stream("ratings.dat") as f:
            yield numeric_ratings(f, "::", label, report, header=False)
    return ratings


CHUNK = 8 << 20  # bytes of a ratings file parsed at once


def numeric_ratings(f: BinaryIO, sep: str, label: str, report: ImportReport, header: bool) -> Iterator[RatingRow | RatingBlock]:
    """`user sep item sep rating sep time` lines, a chunk at a time: a chunk of well-formed numbers is parsed by
    numpy in one call (RatingBlock); a chunk holding anything else goes line by line, so each bad line is
    counted where it is."""
    lineno, rest = 0, b""
    if header:
        first = f.readline()
        lineno += 1 if first else 0
    while True:
        chunk = f.read(CHUNK)
        data = rest + chunk
        if not data:
            return
        cut = data.rfind(b"\n") + 1 if chunk else len(data)
        body, rest = data[:cut], data[cut:]
        if not body:
            continue
        n = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        block = _parse_block(body, sep, n, lineno)
        if block is not None:
            report.read += n
            yield block
        else:
            lines = decoded_lines(Path(label), body.split(b"\n"), "utf-8", report, first_line=lineno + 1)
            yield from split_ratings(lines, sep, label, report)
        lineno += n
        if not chunk:
            return


def _parse_block(body: bytes, sep: str, n: int, first_line: int) -> RatingBlock | None:
    """The block's rows as arrays, or None if any line is not four plain numbers (then it goes line by line)."""
    text = body.rstrip(b"\n").replace(b"\r", b"").replace(sep.encode(), b",").replace(b"\n", b",")
    if not text or b",," in text or text.startswith(b",") or text.endswith(b","):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(text, dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if len(flat) != 4 * n:
        return None
    rows = flat.reshape(n, 4)
    users, items = rows[:, 0], rows[:, 1]
    if not (np.all(users == np.floor(users)) and np.all(items == np.floor(items))):
        return None
    return RatingBlock(np.arange(first_line + 1, first_line + n + 1), users.astype(np.int64), items.astype(np.int64),
                       rows[:, 2].copy(), rows[:, 3].copy())


def _csv_rows(bundle: Bundle, name: str, report: ImportReport, width: int) -> Iterator[tuple[int, list[str]]]:
    """Rows of a quoted CSV file (titles and tags hold commas, quotes and newlines), header skipped."""
    label = bundle.label(name)
    text = bundle.read(name).decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    for row in reader:
        if not row:
            continue
        report.read += 1
        if len(row) < width:
            report.skip(label, reader.line_num, f"expected {width} comma-separated fields, got {len(row)}")
            continue
        yield reader.line_num, row


def _tag_counts(bundle: Bundle, report: ImportReport, file: str, sep: str | None = None) -> dict[str, Counter]:
    """How many times each tag (case-folded, whitespace collapsed) was applied to each movie."""
    if not bundle.has(file):
        return {}
    counts: dict[str, Counter] = defaultdict(Counter)
    if sep:  # ML-10M tags.dat: user::movie::tag::ts
        for lineno, line in lines_any(bundle.label(file), bundle.read(file), report):
            f = line.split(sep)
            if len(f) >= 3 and (tag := clean_tag(f[2])):
                counts[f[1]][tag] += 1
    else:
        for _, row in _csv_rows(bundle, file, report, 3):
            if tag := clean_tag(row[2]):
                counts[row[1]][tag] += 1
    return counts


def clean_tag(raw: str) -> str:
    return " ".join(raw.split()).lower()


def tags_text(counts: Counter) -> str:
    """An item's text: its most-applied tags, most applied first: "tags: dark comedy, quirky"."""
    return "tags: " + ", ".join(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS])


def _genome(bundle: Bundle, report: ImportReport) -> dict[str, dict[str, float]]:
    """The tag genome (ML-20M, ML-25M, ml-latest): each movie's tags of relevance >= GENOME_MIN. The scores
    file lists every tag for every scored movie (15M lines in ML-25M); it is streamed, not read whole."""
    if not bundle.has("genome-scores.csv", "genome-tags.csv"):
        return {}
    names = {row[0]: clean_tag(row[1]) for _, row in _csv_rows(bundle, "genome-tags.csv", report, 2)}
    out: dict[str, dict[str, float]] = defaultdict(dict)
    label = bundle.label("genome-scores.csv")
    with bundle.stream("genome-scores.csv") as f:
        lines = io.TextIOWrapper(f, encoding="utf-8", errors="replace", newline="")
        next(lines, None)
        for lineno, line in enumerate(lines, 2):
            parts = line.rstrip("\r\n").split(",")
            try:
                movie, tag, relevance = parts[0], names[parts[1]], float(parts[2])
            except (IndexError, KeyError, ValueError):
                if line.strip():
                    report.skip(label, lineno, "expected movieId,tagId,relevance with a known tagId")
                continue
            if relevance >= GENOME_MIN:
                out[movie][tag] = round(relevance, 4)
    return out


def _csv_links(bundle: Bundle, report: ImportReport) -> dict[str, ItemLinks]:
    if not bundle.has("links.csv"):
        return {}
    out = {}
    for _, row in _csv_rows(bundle, "links.csv", report, 2):
        imdb = int(row[1]) if row[1].strip().isdigit() else None
        tmdb = int(row[2]) if len(row) > 2 and row[2].strip().isdigit() else None
        if imdb is not None or tmdb is not None:
            out[row[0]] = ItemLinks(imdb, tmdb)
    return out


def _csv_ratings(bundle: Bundle, report: ImportReport) -> Callable:
    label = bundle.label("ratings.csv")

    @contextmanager
    def ratings() -> Iterator[Iterator[RatingRow | RatingBlock]]:
        with bundle.stream("ratings.csv") as f:  # no quoting in ratings.csv: numbers and commas only
            yield numeric_ratings(f, ",", label, report, header=True)
    return ratings


def read_movielens(bundle: Bundle, release: str, report: ImportReport) -> CatalogData:
    """The release's items, links, tags and genome read whole, its ratings as a stream (ML-1M/10M `.dat` or CSV)."""
    if release in ("ml-1m", "ml-10m"):
        counts = _tag_counts(bundle, report, "tags.dat", sep="::")
        tags = {m: tags_text(c) for m, c in counts.items()}
        return CatalogData(release, bundle.label("ratings.dat"), f"{release}-", LIKED_ABOVE,
                           _dat_items(bundle, release, report, tags), _dat_ratings(bundle, report),
                           rating_range=(0.5, 5.0), ratings_bytes=bundle.size("ratings.dat"),
                           tags={m: dict(c) for m, c in counts.items()})
    counts = _tag_counts(bundle, report, "tags.csv")
    items = {}
    for lineno, row in _csv_rows(bundle, "movies.csv", report, 3):
        text = tags_text(counts[row[0]]) if row[0] in counts else ""
        items[row[0]] = movie_record(release, row[0], row[1], normalise_genres(row[2]), text)
    return CatalogData(release, bundle.label("ratings.csv"), f"{release}-", LIKED_ABOVE, items,
                       _csv_ratings(bundle, report), links=_csv_links(bundle, report), rating_range=(0.5, 5.0),
                       ratings_bytes=bundle.size("ratings.csv"), tags={m: dict(c) for m, c in counts.items()},
                       genome=_genome(bundle, report))


def import_movielens(db: sqlite_utils.Database, path: str | Path, release: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import any MovieLens release in one transaction; `release` names what the caller expects."""
    bundle = Bundle.open(Path(path))
    found = detect_release(bundle)
    check_named(bundle, found, release)
    if found == "ml-100k":
        return import_ml100k(db, path, progress=progress)
    report = ImportReport(found)
    return write_catalog(db, read_movielens(bundle, found, report), report, progress)
