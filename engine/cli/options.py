"""Options and helpers the `engine` command groups share: --model, the catalog line, a prompt progress bar."""

from __future__ import annotations

from contextlib import contextmanager

import click

from db.catalogs import use_catalog

MODEL_HELP = ("GGUF file, or the URL of an OpenAI-compatible server (http://HOST:PORT/v1, e.g. engine serve) "
              "(default: SmolLM2-135M-Instruct rec-tuned with the shipped adapter, built on first use).")
model_option = click.option("--model", "model_path", default=None, metavar="GGUF|URL", help=MODEL_HELP)


@contextmanager
def progress_bar(label: str, total: int | None, unit: str = "prompt"):
    """A tqdm bar on stderr; yields its update(n) for the library code to call."""
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit=unit, dynamic_ncols=True) as bar:
        yield bar.update


def say_catalog(db, domain: str, dataset: str | None) -> None:
    """Name the catalog a command works on when there was a choice (several in the store, or --dataset)."""
    picked = use_catalog(db, domain, dataset)
    if picked.others or dataset is not None:
        click.echo(picked.describe(), err=True)
