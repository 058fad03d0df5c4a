"""`chat`: open the Textual app on the store, as a user, with a model."""

from __future__ import annotations

import getpass

import click

from db.clikit import catalog_option, db_option


def _default_user() -> str:
    try:
        return getpass.getuser() or "me"
    except Exception:  # no login name in some containers
        return "me"


@click.command(cls=click.Command, context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option("--user", "user_name", default=None,
              help="Who is chatting (created if new; default: your login name). ML-100K users are ml100k-<id>.")
@click.option("--model", "model_path", default=None, metavar="GGUF|URL",
              help="GGUF file, or the URL of an OpenAI-compatible server (http://HOST:PORT/v1, e.g. engine serve) "
                   "(default: the rec-tuned SmolLM2 built on first use).")
@click.option("--domain", type=click.Choice(["movie", "book"]), default="movie", show_default=True)
@click.option("--candidates", type=click.IntRange(1, 500), default=50, show_default=True,
              help="Retrieved items the model scores per request.")
@click.option("--with", "with_users", multiple=True, metavar="NAME",
              help="Someone watching with you (repeat for more): one list for the people present, each row "
                   "with every member's P(like); '/with NAME' and 'just me' change it in the chat.")
@catalog_option
def chat(db_path, user_name, model_path, domain, candidates, with_users, dataset) -> None:
    """Chat with the recommender in the terminal.

    Ask ("something like Alien but funnier", "80s comedies, no horror", "show me 10"), rate the
    selected row with l / d, undo with u, ask "why <title>?", open stored evaluation runs with e.
    Import a catalog first: `engine data import ml-100k`.
    """
    from db.errors import RecchatError
    from db.gguf_check import check_gguf
    from engine.chat.session import ChatSession
    from engine.llm.http_scorer import is_url

    from .app import ChatApp

    try:
        if model_path is not None and not is_url(model_path):
            check_gguf(model_path)
        session = ChatSession(db_path, user_name or _default_user(), model_path, domain=domain, dataset=dataset,
                              n_candidates=candidates, with_users=tuple(with_users))
        if not session.store.has_catalog():
            raise RecchatError(f"the store has no {domain} items yet: run `engine data import ml-100k` first")
    except RecchatError as e:
        raise click.ClickException(str(e)) from None
    ChatApp(session).run()


def main() -> None:
    chat(prog_name="chat")
