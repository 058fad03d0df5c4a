"""IMDb's non-commercial datasets (https://datasets.imdbws.com/, for personal and non-commercial use) into the
store: facts, directors, writers and cast for the active movie catalog's films, and the films it lacks.

Five gzipped TSV files (or the same files uncompressed), streamed in blocks of lines in bytes and split on tabs:
IMDb does not quote (a `"` is an ordinary character) and writes `\\N` for missing. In order:
1. title.ratings: votes and rating per title, as numpy arrays sorted by the tconst number (1.5M rows);
2. title.basics (11M rows): kept are every title the catalog links through `item_links.imdb` (ENRICHED,
   whatever its type or votes) and the titles of type `movie`, not adult, with numVotes >= min_votes that
   the catalog lacks (ADDED to it as films without ratings: source id the tconst, an item_links row);
3. title.crew: directors and writers of the kept titles, in list order;
4. title.principals (90M rows): filtered to the kept tconsts on the first field before anything is split
   or held; actor/actress/self are the cast in IMDb's billing order, director/writer join the crew;
5. name.basics (14M rows): only the people the kept titles reference.
Everything is parsed first, in memory proportional to the kept titles, then written in one transaction:
a re-import updates and adds (facts and an item's roles replaced, people upserted by IMDb number), never
duplicates, and a failed import leaves the store as it was.
"""

from __future__ import annotations

import gzip
import io
import zlib
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
import sqlite_utils

from ..catalogs import scope
from ..errors import RecchatError
from ..imdb import DATASETS, ROLES, CatalogFilm, catalog_films, people_ids, replace_roles, update_item, write_facts, write_people
from .report import ImportReport
from .writer import ItemRecord, writing

# A film about ten thousand IMDb users rated is one people name in a chat; the films they name first in 2026
# (Oppenheimer, Dune: Part Two, Parasite, Everything Everywhere All at Once) have hundreds of thousands of
# votes, far above it. Every film added is a title the chat's linker indexes and a row every request
# filters, and it comes without ratings of its own (the collaborative model only borrows its content
# neighbours' columns): the bar keeps the additions to widely seen films. In IMDb's May 2013 data 4,634 of 210,371 movies with 5+ votes (2.2 %) had
# 10,000 votes or more (turingmachine.org, 2013-05-24); today's share is not measured here. --min-votes
# lowers it for a history of rarer films.
DEFAULT_MIN_VOTES = 10_000

NULL = b"\\N"
COLUMNS = {
    "title.ratings": ("tconst", "averageRating", "numVotes"),
    "title.basics": ("tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear",
                     "runtimeMinutes", "genres"),
    "title.crew": ("tconst", "directors", "writers"),
    "title.principals": ("tconst", "ordering", "nconst", "category", "job", "characters"),
    "name.basics": ("nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"),
}
DIRECTOR, WRITER, CAST = range(3)  # codes of db.imdb.ROLES
CATEGORIES = {b"actor": CAST, b"actress": CAST, b"self": CAST, b"director": DIRECTOR, b"writer": WRITER}
# IMDb's genres in the catalog's (MovieLens') spelling. Family films are MovieLens' Children's; the genres
# MovieLens has no word for (Biography, History, Sport, Music, News, Short, Adult, the TV show kinds) are
# dropped rather than added, so the chat's genre words stay the catalog's: "Music" is not "Musical".
GENRES = {g: g for g in ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
                         "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")}
GENRES["Family"] = "Children's"
BLOCK = 4 << 20  # bytes of a file split into lines at once

Progress = Callable[[int], None]
OnFile = Callable[[str, int], None]


@dataclass
class ImdbReport(ImportReport):
    """An import's report, with what it enriched and changed beside what it added."""

    dataset: str = ""
    min_votes: int = DEFAULT_MIN_VOTES
    enriched: int = 0  # titles the catalog already held
    updated: dict[str, int] = field(default_factory=dict)

    def summary_lines(self, max_bad: int = 20) -> list[str]:
        lines = super().summary_lines(max_bad)
        changed = ", ".join(f"{n} {what}" for what, n in self.updated.items() if n) or "nothing"
        lines[-1] += (f"; enriched {self.enriched:,} films of {self.dataset} (films it lacked added from "
                      f"{self.min_votes:,} votes); updated {changed}")
        return lines


@dataclass(slots=True)
class Title:
    tconst: str
    imdb: int
    kind: str
    title: str
    year: int | None
    runtime: int | None
    genres: str
    items: tuple[int, ...]  # the catalog's items with this IMDb id; empty: a film to add


@dataclass
class Votes:
    """title.ratings, sorted by the tconst number."""

    imdb: np.ndarray  # int64
    votes: np.ndarray  # int64
    rating: np.ndarray  # float64

    def of(self, imdb: int) -> tuple[int | None, float | None]:
        k = int(np.searchsorted(self.imdb, imdb))
        if k < len(self.imdb) and self.imdb[k] == imdb:
            return int(self.votes[k]), round(float(self.rating[k]), 1)
        return None, None


@dataclass
class Roles:
    """Crew and principals rows of the kept titles, as compact columns (millions of rows at IMDb's size)."""

    title: array = field(default_factory=lambda: array("i"))  # index into the kept titles
    role: array = field(default_factory=lambda: array("b"))
    person: array = field(default_factory=lambda: array("q"))  # nconst number
    ordering: array = field(default_factory=lambda: array("i"))
    principal: array = field(default_factory=lambda: array("b"))  # 0: title.crew, 1: title.principals
    line: array = field(default_factory=lambda: array("q"))

    def add(self, title: int, role: int, person: int, ordering: int, principal: int, line: int) -> None:
        self.title.append(title)
        self.role.append(role)
        self.person.append(person)
        self.ordering.append(ordering)
        self.principal.append(principal)
        self.line.append(line)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(getattr(self, k), dtype=getattr(self, k).typecode).astype(np.int64)
                for k in ("title", "role", "person", "ordering", "principal", "line")}


@dataclass
class People:
    imdb: array = field(default_factory=lambda: array("q"))
    names: list[str] = field(default_factory=list)
    births: list[int | None] = field(default_factory=list)


# ------------------------------------------------------------------ files
def dump_files(folder: Path) -> dict[str, Path]:
    """Each dataset's file in `folder`: NAME.tsv.gz, else NAME.tsv; a one-line error naming what is missing."""
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent  # one of the files was named: its folder holds the rest
    if not folder.is_dir():
        raise RecchatError(f"folder not found: {folder}")
    found, missing = {}, []
    for name in DATASETS:
        path = next((p for p in (folder / f"{name}.tsv.gz", folder / f"{name}.tsv") if p.is_file()), None)
        if path is None:
            partial = (folder / f"{name}.tsv.gz.part").is_file()
            missing.append(f"{name}.tsv.gz" + (" (only a partial download)" if partial else ""))
        found[name] = path
    if missing:
        raise RecchatError(f"{folder} lacks {', '.join(missing)}: `engine data fetch imdb-datasets --cache {folder}` "
                           f"downloads them (resuming a partial one), or put IMDb's files there by hand")
    return found


def dump_date(paths) -> str:
    """The dump's date: the newest file's modification day (a fetched file keeps the server's Last-Modified)."""
    newest = max(p.stat().st_mtime for p in paths)
    return datetime.fromtimestamp(newest, timezone.utc).date().isoformat()


class Tsv:
    """One dataset file read line by line in bytes: its header checked, its columns found by name."""

    def __init__(self, path: Path, dataset: str, report: ImportReport, progress: Progress | None):
        self.path, self.dataset, self.report, self.progress = path, dataset, report, progress
        self.label = path.name
        self.at: dict[str, int] = {}
        self.width = 0

    @contextmanager
    def open(self) -> Iterator["Tsv"]:
        with open(self.path, "rb") as raw:
            self._raw = raw
            stream: BinaryIO = (io.BufferedReader(gzip.GzipFile(fileobj=raw), 1 << 20)  # type: ignore[arg-type]
                                if self.path.name.endswith(".gz") else raw)
            self._stream = stream
            with self._damaged():
                self._header(stream.readline())
            yield self

    def _header(self, first: bytes) -> None:
        if not first:
            raise RecchatError(f"{self.label} is empty: not IMDb's {self.dataset}")
        names = first.decode("utf-8", "replace").rstrip("\r\n").split("\t")
        expected = COLUMNS[self.dataset]
        lacking = [c for c in expected if c not in names]
        if lacking:
            raise RecchatError(f"{self.label}: not IMDb's {self.dataset} (its header lacks {', '.join(lacking)}; "
                               f"expected {' '.join(expected)})")
        if names[0] != expected[0]:  # the readers filter on the first field before splitting a line
            raise RecchatError(f"{self.label}: its first column is {names[0]!r}, not IMDb's {expected[0]}")
        self.at = {c: names.index(c) for c in expected}
        self.width = max(self.at.values()) + 1

    @contextmanager
    def _damaged(self):
        try:
            yield
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise RecchatError(f"{self.label} is damaged or truncated ({e}); download it again "
                               f"(`engine data fetch imdb-datasets`)") from None

    def blocks(self) -> Iterator[tuple[int, list[bytes]]]:
        """(number of the first line, lines without their ends) a few MB at a time: the readers' loops run over
        plain lists (a readline per line took a quarter more: 0.45 against 0.33 µs a principals line here)."""
        done, lineno, rest = 0, 2, b""
        with self._damaged():
            while True:
                data = self._stream.read(BLOCK)
                if not data:
                    break
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                yield lineno, lines
                lineno += len(lines)
                if self.progress:
                    now = self._raw.tell()
                    self.progress(now - done)
                    done = now
        if rest:
            yield lineno, [rest]
            lineno += 1
        self.report.read += lineno - 2

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, line) for every line after the header; chained in C over the blocks, so a line costs
        no Python frame until a reader's loop looks at it."""
        return chain.from_iterable(enumerate(block, first) for first, block in self.blocks())

    def split(self, lineno: int, line: bytes) -> list[bytes] | None:
        """The line's fields, or None (a counted bad row) when it has too few."""
        f = line.rstrip(b"\r\n").split(b"\t")
        if len(f) < self.width:
            if line.strip():
                self.report.skip(self.label, lineno, f"expected {self.width} tab-separated fields, got {len(f)}")
            return None
        return f


def first_field(line: bytes) -> bytes:
    return line.rstrip(b"\r\n").split(b"\t", 1)[0][:20]


def _text(raw: bytes) -> str:
    return " ".join(raw.decode("utf-8").split())  # a tab cannot occur; stray newlines or doubled spaces fold


def _number(raw: bytes) -> int | None:
    return None if raw == NULL else int(raw)


def catalog_genres(raw: bytes) -> str:
    """IMDb's comma-separated genres in the catalog's spelling, alphabetical as MovieLens lists them."""
    if raw == NULL:
        return ""
    return ", ".join(sorted({GENRES[g] for g in raw.decode("ascii", "replace").split(",") if g in GENRES}))


def film_name(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


# ------------------------------------------------------------------ readers
def read_ratings(tsv: Tsv) -> Votes:
    at = tsv.at
    t, v, r = at["tconst"], at["numVotes"], at["averageRating"]
    imdb, votes, rating = array("q"), array("q"), array("d")
    for lineno, line in tsv.lines():
        f = tsv.split(lineno, line)
        if f is None:
            continue
        try:
            if not f[t].startswith(b"tt"):
                raise ValueError
            n, nv, nr = int(f[t][2:]), int(f[v]), float(f[r])
        except ValueError:
            shown = " ".join(x.decode("utf-8", "replace") for x in f[:3])
            tsv.report.skip(tsv.label, lineno, f"expected a tconst, a rating and votes, got {shown[:60]!r}")
            continue
        imdb.append(n)
        votes.append(nv)
        rating.append(nr)
    order = np.argsort(np.frombuffer(imdb, dtype=np.int64), kind="stable")
    return Votes(np.frombuffer(imdb, dtype=np.int64)[order], np.frombuffer(votes, dtype=np.int64)[order],
                 np.frombuffer(rating, dtype=np.float64)[order])


def read_basics(tsv: Tsv, catalog: dict[int, tuple[int, ...]], popular: set[int]) -> list[Title]:
    """The titles the catalog links (any type) and the popular films it lacks; never an adult film added."""
    at = tsv.at
    c_type, c_title, c_adult = at["titleType"], at["primaryTitle"], at["isAdult"]
    c_year, c_runtime, c_genres = at["startYear"], at["runtimeMinutes"], at["genres"]
    titles: list[Title] = []
    seen: set[int] = set()
    for lineno, line in tsv.lines():
        try:
            n = int(line[2:line.find(b"\t")])  # the filter reads the first field only: most lines end here
        except ValueError:
            if line.strip():
                tsv.report.skip(tsv.label, lineno, f"bad tconst {first_field(line)!r}")
            continue
        items = catalog.get(n)
        if items is None and n not in popular:
            continue
        f = tsv.split(lineno, line)
        if f is None or n in seen or not f[0].startswith(b"tt"):
            continue
        if items is None and (f[c_type] != b"movie" or f[c_adult] == b"1"):
            continue
        try:
            title = Title(f[0].decode("ascii"), n, f[c_type].decode("ascii"), _text(f[c_title]), _number(f[c_year]),
                          _number(f[c_runtime]), catalog_genres(f[c_genres]), items or ())
        except (UnicodeDecodeError, ValueError) as e:
            tsv.report.skip(tsv.label, lineno, f"unreadable title ({e.__class__.__name__}: {e})"[:160])
            continue
        if not title.title:
            tsv.report.skip(tsv.label, lineno, "empty primaryTitle")
            continue
        seen.add(n)
        titles.append(title)
    return titles


def _person(raw: bytes) -> int:
    if not raw.startswith(b"nm"):
        raise ValueError(f"bad nconst {raw[:20]!r}")
    return int(raw[2:])


def kept_rows(tsv: Tsv, kept: dict[bytes, int]):
    """(line number, kept title's index, fields) of the lines whose tconst is kept: the others are never split."""
    for lineno, line in tsv.lines():
        k = kept.get(line[:line.find(b"\t")])
        if k is not None and (f := tsv.split(lineno, line)) is not None:
            yield lineno, k, f


def read_crew(tsv: Tsv, kept: dict[bytes, int], roles: Roles) -> None:
    at = tsv.at
    columns = ((at["directors"], DIRECTOR), (at["writers"], WRITER))
    for lineno, k, f in kept_rows(tsv, kept):
        try:
            people = [(role, position, _person(nm)) for col, role in columns if f[col] != NULL
                      for position, nm in enumerate(f[col].split(b","), 1)]
        except ValueError as e:
            tsv.report.skip(tsv.label, lineno, str(e))
            continue
        for role, position, person in people:
            roles.add(k, role, person, position, 0, lineno)


def read_principals(tsv: Tsv, kept: dict[bytes, int], roles: Roles) -> None:
    """The 90M-line file: a line is split only when its tconst is a kept title's."""
    at = tsv.at
    c_order, c_person, c_category = at["ordering"], at["nconst"], at["category"]
    for lineno, k, f in kept_rows(tsv, kept):
        role = CATEGORIES.get(f[c_category])
        if role is None:
            continue  # producer, composer, editor...: not a role the store keeps
        try:
            roles.add(k, role, _person(f[c_person]), int(f[c_order]), 1, lineno)
        except ValueError as e:
            tsv.report.skip(tsv.label, lineno, f"bad nconst or ordering ({e})"[:160])


def read_names(tsv: Tsv, wanted: set[int]) -> People:
    at = tsv.at
    c_name, c_birth = at["primaryName"], at["birthYear"]
    people = People()
    for lineno, line in tsv.lines():
        try:
            n = int(line[2:line.find(b"\t")])
        except ValueError:
            if line.strip():
                tsv.report.skip(tsv.label, lineno, f"bad nconst {first_field(line)!r}")
            continue
        if n not in wanted:
            continue
        f = tsv.split(lineno, line)
        if f is None:
            continue
        try:
            name, birth = _text(f[c_name]), _number(f[c_birth])
        except (UnicodeDecodeError, ValueError) as e:
            tsv.report.skip(tsv.label, lineno, f"unreadable name ({e.__class__.__name__})")
            continue
        wanted.discard(n)  # a person once, as the file first lists them
        people.imdb.append(n)
        people.names.append(name or f"nm{n:07d}")
        people.births.append(birth)
    return people


# ------------------------------------------------------------------ roles
@dataclass(frozen=True)
class RoleRows:
    """The kept titles' roles, one per (title, role, person), ordered and with the person's store id."""

    title: np.ndarray
    role: np.ndarray
    person_id: np.ndarray
    ordering: np.ndarray

    def tuples(self, items: list[tuple[int, ...]], chunk: int = 100_000) -> Iterator[tuple[int, str, int, int]]:
        """(item id, role, person id, ordering) for each of a title's items, a chunk of Python ints at a time
        (whole lists of millions of ints would take hundreds of MB)."""
        for k in range(0, len(self.title), chunk):
            s = slice(k, k + chunk)
            for t, r, p, o in zip(self.title[s].tolist(), self.role[s].tolist(), self.person_id[s].tolist(),
                                  self.ordering[s].tolist()):
                for item in items[t]:
                    yield item, ROLES[r], p, o


def settle_roles(a: dict[str, np.ndarray], ids: dict[str, np.ndarray], report: ImportReport,
                 labels: tuple[str, str]) -> RoleRows:
    """Drop the rows of people name.basics lacks (counted bad rows); one row per (title, role, person), the
    crew's first; cast keeps IMDb's billing order, directors and writers are numbered 1.. in title.crew's
    order, then those only title.principals names, in its order."""
    k = np.searchsorted(ids["imdb"], a["person"])
    k = np.minimum(k, max(len(ids["imdb"]) - 1, 0))
    known = (ids["imdb"][k] == a["person"]) if len(ids["imdb"]) else np.zeros(len(a["person"]), bool)
    for j in np.flatnonzero(~known):
        report.skip(labels[int(a["principal"][j])], int(a["line"][j]), f"nm{int(a['person'][j]):07d} is not in name.basics")
    a = {name: col[known] for name, col in a.items()}
    person_id = ids["id"][k[known]]
    first = np.lexsort((a["ordering"], a["principal"], person_id, a["role"], a["title"]))
    t, r, p = a["title"][first], a["role"][first], person_id[first]
    new = np.ones(len(t), bool)
    new[1:] = (t[1:] != t[:-1]) | (r[1:] != r[:-1]) | (p[1:] != p[:-1])
    keep = first[new]
    t, r, p, o, src = a["title"][keep], a["role"][keep], person_id[keep], a["ordering"][keep], a["principal"][keep]
    order = np.lexsort((o, src, r, t))
    t, r, p, o = t[order], r[order], p[order], o[order]
    start = np.ones(len(t), bool)
    start[1:] = (t[1:] != t[:-1]) | (r[1:] != r[:-1])
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(t)), 0)) if len(t) else np.zeros(0, np.int64)
    position = np.arange(len(t)) - group_start + 1
    return RoleRows(t, r, p, np.where(r == CAST, o, position))


# ------------------------------------------------------------------ import
def import_imdb_datasets(db: sqlite_utils.Database, folder: str | Path, min_votes: int = DEFAULT_MIN_VOTES,
                         progress: Progress | None = None, on_file: OnFile | None = None) -> ImdbReport:
    """Enrich the active movie catalog from IMDb's dump in `folder` and add the films it lacks from
    `min_votes` votes up, in one transaction. `progress(n)`: bytes of the current file read (compressed);
    `on_file(name, size)`: a file's reading starts (the CLI shows a bar per file)."""
    if min_votes < 0:
        raise RecchatError(f"--min-votes must be 0 or more, not {min_votes}")
    paths = dump_files(Path(folder))
    dataset = scope(db, "movie")
    if dataset is None:
        raise RecchatError("the store has no movie catalog to enrich: import one first "
                           "(`engine data import movielens ml-latest-small`)")
    report = ImdbReport("imdb-datasets", dataset=dataset, min_votes=min_votes)
    films = catalog_films(db, "movie")
    if not films:  # every film it holds would come back as "missing" and be added twice
        raise RecchatError(f"the movie catalog {dataset} links no IMDb ids (its release has no links.csv), so its "
                           f"films cannot be matched to IMDb's; import a release that has them (`engine data import "
                           f"movielens ml-latest-small`, ml-20m, ml-25m, ml-32m) and use it (--dataset NAME)")
    catalog: dict[int, tuple[int, ...]] = {}
    for film in films:
        catalog[film.imdb] = catalog.get(film.imdb, ()) + (film.item_id,)

    @contextmanager
    def reading(name: str) -> Iterator[Tsv]:
        tsv = Tsv(paths[name], name, report, progress)
        if on_file:
            on_file(tsv.label, paths[name].stat().st_size)
        with tsv.open():
            yield tsv

    with reading("title.ratings") as tsv:
        votes = read_ratings(tsv)
    popular = set(votes.imdb[votes.votes >= min_votes].tolist())
    with reading("title.basics") as tsv:
        titles = read_basics(tsv, catalog, popular)
    del popular
    kept = {t.tconst.encode("ascii"): k for k, t in enumerate(titles)}
    roles = Roles()
    with reading("title.crew") as tsv:
        read_crew(tsv, kept, roles)
    with reading("title.principals") as tsv:
        read_principals(tsv, kept, roles)
    del kept
    columns = roles.arrays()
    del roles
    with reading("name.basics") as tsv:
        people = read_names(tsv, set(np.unique(columns["person"]).tolist()))
    labels = (paths["title.crew"].name, paths["title.principals"].name)
    _write(db, titles, votes, columns, people, films, dump_date(paths.values()), labels, report)
    first_seen = {f: k for k, f in reversed(list(enumerate(b.file for b in report.bad)))}
    report.bad.sort(key=lambda b: (first_seen[b.file], b.line))
    return report


def _write(db: sqlite_utils.Database, titles: list[Title], votes: Votes, columns: dict[str, np.ndarray],
           people: People, films: list[CatalogFilm], date: str, labels: tuple[str, str], report: ImdbReport) -> None:
    by_item = {f.item_id: f for f in films}
    updated_items = 0
    with writing(db) as w:
        conn = w.conn
        for t in titles:
            name = film_name(t.title, t.year)
            if not t.items:
                item = w.item(ItemRecord("movie", report.dataset, t.tconst, name, t.title, t.year, "", t.genres))
                w.link(item, t.imdb, None)
                t.items = (item,)
                continue
            report.enriched += 1
            for item in t.items:
                old = by_item[item]
                # a film an earlier IMDb import added follows the newer dump; MovieLens' own names stay
                if old.source_id == t.tconst and (old.name, old.title, old.year, old.genres) != (name, t.title, t.year, t.genres):
                    update_item(conn, item, name, t.title, t.year, t.genres)
                    updated_items += 1
        facts = []
        for t in titles:
            n_votes, rating = votes.of(t.imdb)
            facts += [(item, t.runtime, rating, n_votes, date) for item in t.items]
        new_facts, changed_facts = write_facts(conn, facts)
        new_people, changed_people = write_people(conn, zip(people.imdb, people.names, people.births))
        imdb, ids = people_ids(conn)
        rows = settle_roles(columns, {"imdb": imdb, "id": ids}, report, labels)
        items = [t.items for t in titles]
        new_roles, changed_roles, removed_roles = replace_roles(conn, [i for its in items for i in its],
                                                                rows.tuples(items))
    report.added = {"items": w.added["items"], "links": w.added.get("links", 0), "item_facts": new_facts,
                    "people": new_people, "item_people": new_roles}
    report.updated = {"items": updated_items, "item_facts": changed_facts, "people": changed_people,
                      "item_people": changed_roles, "item_people removed": removed_roles}
