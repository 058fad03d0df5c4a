"""`engine data import NAME`: one command per row of the sources table, and the fit a new catalog's first
answer needs (split from engine/cli/data.py, which keeps fetch, splits, exports and the listings)."""

from __future__ import annotations

from pathlib import Path

import click

from db import open_db
from db.clikit import Group, db_option
from db.fetch import cached_ml100k, default_ml100k_dir, fetch_ml100k
from db.importers import ImportReport
from db.importers.imdb_datasets import DEFAULT_MIN_VOTES
from db.importers.movielens import RELEASES
from db.types import DOMAINS
from engine.sources.table import SOURCES

from .progress import FileBars, fetch_release_with_bar


def _print_report(report: ImportReport) -> None:
    *bad, summary = report.summary_lines()
    for line in bad:
        click.echo(line, err=True)
    click.echo(summary)


@click.group("import", cls=Group)
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
            with FileBars() as bars:
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
        return fetch_release_with_bar(wanted)
    if not path.exists():
        raise click.ClickException(f"file not found: {path}")
    return path


for _src in SOURCES:
    data_import.add_command(_import_command(_src))
