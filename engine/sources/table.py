"""Every import source as one row: its name, what PATH is, how its files are recognised, its like rule and
the function that runs it. `engine data import NAME`'s commands, their `--help`, `engine data sources`
and the table in docs/data.md are all generated from `SOURCES`.

Two loops serve every row: catalogs with ratings go through `db.importers.catalog_data.write_catalog`,
a person's history through `engine.sources.history.import_history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import sqlite_utils

from db.catalogs import use_catalog
from db.importers import import_bookcrossing, import_ml100k, import_tallrec
from db.importers.imdb_datasets import DEFAULT_MIN_VOTES, import_imdb_datasets
from db.importers.movielens import RELEASES, import_movielens
from db.importers.recbole import import_recbole

from .history import import_history

Progress = Callable[[int], None]
OnFile = Callable[[str, int], None]


@dataclass(frozen=True)
class ImportArgs:
    """What a command hands its source's runner (options a source does not take stay None)."""

    db: sqlite_utils.Database
    path: Path
    progress: Progress | None = None
    user: str | None = None
    dataset: str | None = None
    domain: str | None = None
    release: str | None = None
    liked_above: float | None = None
    min_votes: int | None = None
    on_file: OnFile | None = None  # a source reading several large files names each as it starts (a bar per file)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "catalog": items and everyone's ratings; "history": one person's ratings; "items": names only
    reads: str  # what PATH is
    detect: str  # how the files are told apart
    liked: str  # the like/dislike rule
    options: tuple[str, ...]  # which of ImportArgs' options the command offers
    run: Callable[[ImportArgs], object]


def _movielens(a: ImportArgs):
    return import_movielens(a.db, a.path, release=a.release, progress=a.progress)


def _imdb_datasets(a: ImportArgs):
    use_catalog(a.db, "movie", a.dataset)  # the catalog to enrich and add to: --dataset, else the active one
    return import_imdb_datasets(a.db, a.path, DEFAULT_MIN_VOTES if a.min_votes is None else a.min_votes,
                                progress=a.progress, on_file=a.on_file)


SOURCES: tuple[Source, ...] = (
    Source("movielens", "catalog",
           "a MovieLens release: the GroupLens zip or its folder, or a release name to fetch (" + ", ".join(RELEASES) + ")",
           "its files: u.data/u.item or ml-100k.inter (100K), ratings.dat + users.dat (1M), ratings.dat + tags.dat "
           "(10M), ratings.csv + movies.csv with the release named in README.txt (20M, 25M, 32M, latest, latest-small)",
           "rating > 3 (half stars: 3.5 and up), the TALLRec movie protocol", ("release",), _movielens),
    Source("ml-100k", "catalog", "MovieLens-100K: a GroupLens folder or zip (u.data, u.item) or RecBole atomic files; "
           "without PATH the cached copy, fetched first if needed", "u.data + u.item, or ml-100k.inter + ml-100k.item",
           "rating > 3, the TALLRec movie protocol", (), lambda a: import_ml100k(a.db, a.path, progress=a.progress)),
    Source("recbole", "catalog", "any RecBole atomic dataset: a folder holding NAME.inter (and NAME.item), or the .inter file",
           "typed headers (item_id:token, rating:float, timestamp:float, title:token_seq); fields found by role, "
           "whatever the dataset calls them",
           "rating > --liked-above (default 3 on a 5-point scale, half the top rating otherwise); an .inter without "
           "ratings is implicit feedback, imported as likes", ("domain", "dataset", "liked_above"),
           lambda a: import_recbole(a.db, a.path, a.domain or "movie", a.dataset, a.liked_above, a.progress)),
    Source("bookcrossing", "catalog", "BookCrossing: the folder with BX-Books.csv and BX-Book-Ratings.csv",
           "BX-Books.csv + BX-Book-Ratings.csv (;-separated, ISO-8859-1)", "rating > 5, the TALLRec book protocol",
           (), lambda a: import_bookcrossing(a.db, a.path)),
    Source("imdb-datasets", "catalog",
           "the folder holding IMDb's non-commercial datasets (title.basics, title.ratings, title.crew, "
           "title.principals, name.basics; .tsv.gz or .tsv), as `engine data fetch imdb-datasets` downloads them",
           "the five file names and their headers (tab-separated, \\N for missing); films linked by IMDb id "
           "through the active catalog's links",
           f"- (no ratings: the catalog's films get runtime, IMDb rating and votes, directors, writers and cast; "
           f"films it lacks are added from --min-votes votes up, default {DEFAULT_MIN_VOTES:,})",
           ("dataset", "min_votes"), _imdb_datasets),
    Source("tallrec", "items", "a TALLRec JSON split (its samples carry no user ids: only the items they name join)",
           "a JSON list of {instruction, input, output}", "-", ("domain",),
           lambda a: import_tallrec(a.db, a.path, a.domain or "movie")),
    Source("letterboxd", "history", "your Letterboxd export: the zip (ratings.csv, watched.csv, watchlist.csv) or one "
           "of its files; or a CSV in Letterboxd's import format (Title, Year, imdbID, Rating)",
           "header Date,Name,Year,Letterboxd URI,Rating (or Title,Year,imdbID); linked by IMDb id, else title and "
           "year (±1), to the movie catalog",
           "rating > 3 of 5 (3.5 and up); watched without a rating = seen (not recommended again); watchlist.csv "
           "and unrated import rows = the watchlist", ("user", "dataset"),
           lambda a: import_history(a.db, "letterboxd", a.path, a.user, a.dataset)),
    Source("imdb", "history", "your IMDb ratings export (ratings.csv), or its watchlist export",
           "header Const,Your Rating,Date Rated,Title,...; linked by IMDb id through links.csv, else title and year",
           "rating > 6 of 10 (7 and up); TV series and episodes skipped", ("user", "dataset"),
           lambda a: import_history(a.db, "imdb", a.path, a.user, a.dataset)),
    Source("goodreads", "history", "your Goodreads library export (goodreads_library_export.csv)",
           "header Book Id,Title,Author,...,My Rating,...; linked by ISBN, else title and author, to the book catalog",
           "rating > 3 of 5 (4 and up); 0 stars on the read shelf = seen; to-read rows skipped", ("user", "dataset"),
           lambda a: import_history(a.db, "goodreads", a.path, a.user, a.dataset)),
)


def source(name: str) -> Source:
    return next(s for s in SOURCES if s.name == name)


def sources_markdown() -> str:
    """The table docs/data.md shows (a test checks the file holds it as generated)."""
    rows = ["| source | kind | PATH | recognised by | liked |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{s.name}` | {s.kind} | {s.reads} | {s.detect} | {s.liked} |" for s in SOURCES]
    return "\n".join(rows)
