"""`trainer`: LoRA rec-tuning, merge and GGUF export (commands land with the trainer issue)."""

from __future__ import annotations

import click

from db.clikit import Group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Rec-tune a LLaMA-family model with LoRA the TALLRec way, merge it and export a GGUF.

    Training commands (rec-tune, instruct-tune, export, plan) are not built yet.
    """


def main() -> None:
    cli(prog_name="trainer")
