"""`engine stack`: fit a model's stacked reranker, see its weights."""

from __future__ import annotations

from pathlib import Path

import click

from db import open_db
from db.clikit import Group, catalog_option, db_option
from db.types import DOMAINS

from .options import model_option, progress_bar, say_catalog


@click.group(cls=Group)
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
    from engine.rank.stack import SHORT_BELOW, weights_text

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
    from engine.collab.model import plan_fit
    from engine.evaluation.stack_fit import CUT_LENGTHS, fit_reranker

    fit = _read_split(data_path)
    exclude_path = exclude_path or (data_path.parent / "test.json")
    exclude = _read_split(exclude_path) if exclude_path.exists() else []
    db = open_db(db_path, create=False)
    say_catalog(db, domain, dataset)
    snap = read_domain(db, domain)
    plan_fit(len(snap.items), snap.ratings.n_ratings, snap.ratings.n_users)  # before minutes of scoring
    scorer = logits = sha = None
    if not no_llm:
        from db.scoring import score_samples
        from engine.llm.backends import open_scorer

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


@stack.command("fit-ranker")
@click.option("--people", type=click.IntRange(20), default=400, show_default=True,
              help="People of the hold-out split's fit half to learn from (the evaluated half is never read).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for ranker.txt and ranker.json (default: your rankers folder, rankers/<catalog>).")
@click.option("--domain", type=click.Choice(DOMAINS), default="movie", show_default=True)
@db_option
@catalog_option
def fit_ranker_cmd(people, seed, out_dir, domain, db_path, dataset) -> None:
    """Fit the learned ranker for this store's catalog (what orders the chat and `engine recommend`).

    Requests from each person's hidden last ratings (the fit half of eval-catalog's split): "for me",
    "something like X", a genre; LightGBM LambdaRank, settings and P(like) chosen on a quarter of them.
    Minutes on ml-latest-small; then `engine eval-catalog` measures it on the other half."""
    from db.knowledge import film_facts
    from db.snapshot import read_domain
    from engine.evaluation.ltr_holdout import fit_holdout_ranker
    from engine.rank.served import ranker_folder

    db = open_db(db_path, create=False)
    say_catalog(db, domain, dataset)
    snap = read_domain(db, domain)
    if not snap.ratings.n_ratings:
        raise click.ClickException(f"the store holds no {domain} ratings to learn from: import a catalog first")
    with progress_bar("requests' candidates", None, "request") as update:
        ranker, report = fit_holdout_ranker(snap, film_facts(db, domain), people=people, seed=seed,
                                            log=lambda m: click.echo(m, err=True), progress=update)
    folder = ranker.save(out_dir or ranker_folder(snap.dataset))
    click.echo(f"validation NDCG@10 {report['validation_ndcg@10']:.4f} (EASE on the same requests "
               f"{report['validation_ease_ndcg@10']:.4f}); settings {report['chosen']}; saved in {folder}")
