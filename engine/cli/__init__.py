"""`engine`: data import and splits, recommendations, ratings and offline evaluation.

The entry point: one click group, each command group in a module of its own (they import what they
run inside each command, so `--help` and quick commands stay quick). May import every engine package.
"""

from __future__ import annotations

import click

from db.clikit import Group

from . import data, evaluate, recommend, serve, stack


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Conversational recommender engine: data, scoring and evaluation.

    Every command that touches the store takes --db PATH.
    """


for command in (data.data, recommend.recommend_cmd, recommend.ask_cmd, recommend.rate_cmd, evaluate.eval_cmd,
                evaluate.eval_catalog_cmd, stack.stack, serve.serve_cmd):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="engine")
