"""`engine recommend`, `engine ask` and `engine rate`: the request path and the chat without a screen."""

from __future__ import annotations

import click

from db import open_db
from db.catalogs import scope, use_catalog
from db.clikit import catalog_option, db_option
from db.types import DOMAINS

from .among import AMONG_HELP
from .options import model_option, say_catalog

among_option = click.option("--among", "among_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                            help=AMONG_HELP)


@click.command("recommend")
@db_option
@click.option("--user", "user_name", required=True,
              help="User name (e.g. ml100k-196); an unknown user has no history and gets popular picks.")
@click.option("--query", default=None, help="Full-text filter over title, creators and genres.")
@click.option("--year-min", type=int, default=None, help="Only items from this year on.")
@click.option("--year-max", type=int, default=None, help="Only items up to this year.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@click.option("--top", type=click.IntRange(1, 500), default=5, show_default=True, help="How many to show.")
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="How many of the learned ranker's candidates are kept (the LLM scores only the rows shown).")
@among_option
@click.option("--with", "with_users", multiple=True, metavar="NAME",
              help="Someone watching too (repeat for more): one list for everyone, each row with every member's P(like).")
@click.option("--strategy", type=click.Choice(["average", "fair", "least-misery"]), default="average", show_default=True,
              help="How a group's scores combine (bench/groups.py chose the average).")
@click.option("--popularity", type=click.Choice(["low", "any", "high"]), default="any", show_default=True,
              help="low: hidden gems, half the list from the catalog's less-rated half (the best of them by the same order); "
                   "high: popular picks preferred (a preference, not a filter).")
@click.option("--min-ratings", type=click.IntRange(0), default=0, show_default=True,
              help="Only items with at least this many ratings in the store.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write the list: .csv (Letterboxd's list import: Title, Year, imdbID), .json or .md.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@model_option
@catalog_option
def recommend_cmd(db_path, user_name, query, year_min, year_max, domain, top, candidates, among_file, with_users,
                  strategy, popularity, min_ratings, export_path, as_json, model_path, dataset) -> None:
    """Rank unrated items for a user (or a group, --with) by the learned ranker: P(like) orders the list (the
    ranker's score, calibrated; Match draws it, the first row full); P(Yes) is the LLM's own.

    Candidates come from several channels (the collaborative model, content, recent popularity...). A cached
    collaborative model is used at once; when 5 % of the store changed since its fit (RECCHAT_REFIT_SHARE) a
    background process refits it for next time.
    """
    import json

    from db.users import clean_name, find_user
    from engine.collab.cache import load_or_fit
    from engine.llm.backends import open_scorer
    from engine.rank.recommend import recommend
    from engine.rank.retrieval import Query
    from pathlib import Path

    from db.catalog import imdb_ids_of
    from engine.rank.group import recommend_group
    from engine.rank.served import serving_order
    from engine.sources.export import list_rows, write_list

    from .among import read_among

    if year_min is not None and year_max is not None and year_min > year_max:
        raise click.UsageError(f"--year-min {year_min} is after --year-max {year_max}: the range is empty")
    db = open_db(db_path, create=False)
    say_catalog(db, domain, dataset)
    among = read_among(db, among_file, domain) if among_file else None  # before the model: a bad line costs nothing
    uid = find_user(db, clean_name(user_name))
    scorer = open_scorer(model_path)
    if uid is None:
        click.echo(f"no user named {user_name.strip()!r} in the store: ranking for someone with no history", err=True)
    collab = load_or_fit(db, domain, log=lambda m: click.echo(m, err=True))
    order = serving_order(db, domain, collab, scope(db, domain))
    click.echo(order.note, err=True)
    query = Query(query, year_min, year_max, domain=domain, among=among, popularity=popularity, min_ratings=min_ratings)
    if with_users:
        people = [(user_name.strip(), uid)] + [(n, find_user(db, clean_name(n))) for n in with_users]
        recs = recommend_group(db, scorer, order, people, query, top=top, n_candidates=candidates,
                               strategy=strategy)
    else:
        recs = recommend(db, scorer, order, uid, query=query, top=top, n_candidates=candidates)
    if export_path:
        target = write_list(Path(export_path), list_rows([r.item for r in recs], imdb_ids_of(db, [r.item.id for r in recs]),
                                                         [r.p_like for r in recs]))
        click.echo(f"wrote {len(recs)} films to {target}", err=True)
    if as_json:
        click.echo(json.dumps([{"id": r.item.id, "name": r.item.name, "p_like": round(r.p_like, 6),
                                "p_yes": round(r.p_yes, 6), "match": round(r.match, 6), "prior": r.prior,
                                **({"members": {n: round(p, 6) for n, p in r.members}} if r.members else {})}
                               for r in recs], indent=1, ensure_ascii=False))
        return
    if not recs:
        click.echo("no candidates match (everything matching is rated, or the filter is too narrow)")
        return
    width = max(len(r.item.name) for r in recs)
    top_match = max(r.match for r in recs) or 1.0
    members = "  " + " ".join(f"{n[:10]:>10}" for n, _ in recs[0].members) if recs[0].members else ""
    click.echo(f"{'':>3} {'':<{width}}  Match       P(like)  P(Yes){members}")
    for rank, r in enumerate(recs, 1):
        bar = "#" * round(max(0.0, r.match / top_match) * 10)
        each = "  " + " ".join(f"{p:>10.3f}" for _, p in r.members) if r.members else ""
        click.echo(f"{rank:>2}. {r.item.name:<{width}}  {bar:<10}  {r.p_like:.3f}    {r.p_yes:.3f}{each}")


@click.command("ask")
@db_option
@click.option("--user", "user_name", required=True, help="Who is asking (created on first use, as in the chat).")
@click.option("--chat", "chat_id", type=click.IntRange(1), default=None,
              help="Continue this chat and what it established (its id is printed after each run); default: a new chat.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="How many of the learned ranker's candidates are kept (the LLM scores only the rows shown).")
@among_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message instead of text.")
@model_option
@catalog_option
@click.argument("messages", nargs=-1, required=True)
def ask_cmd(db_path, user_name, chat_id, domain, candidates, among_file, as_json, model_path, dataset,
            messages) -> None:
    """Say MESSAGES to the chat, in order, without the screen: each reply and its ranked list.

    The same code as `chat` (engine.chat): titles found in what you type, liked or not, genres,
    years and refinements accumulate over the chat. Example:

      engine ask --user me "I loved Fargo and Pulp Fiction but hated Titanic" "something older"
    """
    import json

    from db.errors import RecchatError
    from engine.chat.session import ChatSession

    name = user_name.strip()
    if not name:
        raise click.ClickException("--user is empty")
    try:
        among = among_ids(db_path, among_file, domain, dataset) if among_file else None
        opening = scorer_ahead(model_path)
        session = ChatSession(db_path, name, model_path, domain, dataset, candidates, among=among, chat=chat_id,
                              new_chat=chat_id is None, scorer_factory=opening.result)
    except RecchatError as e:
        raise click.ClickException(str(e)) from None
    try:
        for text in messages:
            reply = session.handle(text)
            ranking = None
            if reply.plan is not None and reply.plan.candidates:
                for ranking in session.rank(reply.plan):
                    pass
            if reply.explain_item is not None:
                reply.text = session.why(reply.explain_item).sentence()
            items = ranking.items if ranking else []
            if as_json:
                click.echo(json.dumps({"chat": session.chat_id, "message": text, "reply": reply.text,
                                       "state": session.state.to_json(),
                                       "items": [{"id": r.item.id, "name": r.item.name, "p_like": round(r.p_like, 6),
                                                  "p_yes": round(r.p_yes, 6)} for r in items]}, ensure_ascii=False))
                continue
            click.echo(f"> {text}")
            click.echo(reply.text)
            for rank, r in enumerate(items, 1):
                click.echo(f"{rank:>3}. {r.item.name}  P(like) {r.p_like:.3f}")
        if not as_json:
            chat = (f"chat {session.chat_id}: continue with --chat {session.chat_id}" if session.chat_id is not None
                    else "the chat is created once the store frees")
            click.echo(f"({chat}; {session.catalog_note}; {session.order_note})", err=True)
    except RecchatError as e:
        raise click.ClickException(str(e)) from None
    finally:
        kept = session.close()  # a last write of what waits for the store; what it still refuses stays on disk
        if kept:
            click.echo(kept, err=True)


def scorer_ahead(model_path):
    """The LLM opened in a thread while the chat opens and reads the first message (llama.cpp loads
    without holding the GIL): half a second off a first answer. Its error, if any, comes with `.result()`."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.llm.backends import open_scorer

    pool = ThreadPoolExecutor(1, thread_name_prefix="open-scorer")
    opening = pool.submit(open_scorer, model_path)
    pool.shutdown(wait=False)
    return opening


def among_ids(db_path, among_file: str, domain: str, dataset: str | None) -> tuple[int, ...]:
    """The --among file read on the chat's catalog before the chat opens: a bad line creates no user or chat."""
    from .among import read_among

    db = open_db(db_path, create=False)
    try:
        use_catalog(db, domain, dataset)
        return read_among(db, among_file, domain)
    finally:
        db.conn.close()


@click.command("rate")
@db_option
@click.option("--user", "user_name", required=True, help="An existing user's name (see --create).")
@click.option("--item", "item_ref", required=True, help="Item id or exact title (close matches are listed otherwise).")
@click.option("--like/--dislike", "liked", required=True, help="Your verdict.")
@click.option("--domain", type=click.Choice(DOMAINS), default=None, help="Restrict title lookup to one domain.")
@click.option("--create", is_flag=True, help="Create the user if there is none of that name (a typo is refused without it).")
@catalog_option
def rate_cmd(db_path, user_name, item_ref, liked, domain, create, dataset) -> None:
    """Record a like or dislike (appended; the latest rating wins)."""
    from db.catalog import resolve_item
    from db.feedback import record_feedback
    from db.users import get_or_create_user, require_user

    db = open_db(db_path)
    if dataset is not None:
        domain = domain or "movie"
        use_catalog(db, domain, dataset)
    item = resolve_item(db, item_ref, domain)
    uid = (get_or_create_user(db, user_name) if create
           else require_user(db, user_name, hint=" (add --create to make a new user)"))
    record_feedback(db, uid, item.id, liked, source="cli")
    click.echo(f"{user_name} {'likes' if liked else 'dislikes'} {item.name} [id {item.id}]")
