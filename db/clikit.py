"""Click pieces shared by the `engine`, `trainer` and `chat` commands: one-line errors and the --db option."""

from __future__ import annotations

import sqlite3

import click

from .errors import RecchatError
from .paths import default_db_path


class Group(click.Group):
    """Turns RecchatError (and a locked or broken SQLite file) into `Error: <one line>` and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RecchatError as e:
            raise click.ClickException(str(e)) from None
        except sqlite3.Error as e:
            raise click.ClickException(f"database error: {e}") from None


db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"SQLite store (default: $RECCHAT_DB or {default_db_path()}).",
)


catalog_option = click.option(
    "--dataset",
    "dataset",
    default=None,
    metavar="NAME",
    help="Catalog to use when the store holds several (e.g. ml-latest-small; default: $RECCHAT_DATASET, else "
         "the domain's largest; `engine data catalogs` lists them).",
)
