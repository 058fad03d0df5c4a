"""`engine eval` (a TALLRec split, the LLM beside the baselines) and `engine eval-catalog` (the full-catalog hold-out)."""

from __future__ import annotations

from pathlib import Path

import click

from db import open_db
from db.catalogs import use_catalog
from db.clikit import catalog_option, db_option
from db.prompt import PROMPT_FORMATS
from db.types import DOMAINS

from .options import model_option, progress_bar, say_catalog


@click.command("eval")
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
    from db.eval_runs import store_eval_run
    from db.snapshot import read_domain
    from engine.evaluation.split_eval import (
        EvalRequest,
        eval_domain,
        load_inputs,
        missing_stacks,
        report_lines,
        run_eval,
        save_roc,
        write_json,
        write_predictions,
    )
    from engine.llm.backends import open_scorer

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


@click.command("eval-catalog")
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
    """Full-catalog hold-out: Recall@10, NDCG@10, MRR of popularity, item-kNN, ALS, EASE, the served learned
    ranker and the previous pipeline.

    Each user's last ratings are hidden from every model; each ranks all items the user has not
    rated; the hidden liked items count. Same users, same split, one run.
    """
    from tqdm import tqdm

    from db.fileio import check_writable, write_json_atomic
    from db.snapshot import read_domain
    from engine.collab.model import plan_fit
    from db.knowledge import film_facts
    from engine.evaluation.catalog_eval import evaluate_catalog
    from engine.rank.served import choose_ranker

    try:
        lambdas = tuple(float(x) for x in ease_lambdas.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{ease_lambdas!r}: expected numbers separated by commas", param_hint="--ease-lambdas")
    if any(not (lam > 0) for lam in lambdas):
        raise click.BadParameter("every λ must be above 0", param_hint="--ease-lambdas")
    if json_out:
        check_writable(json_out)
    db = open_db(db_path, create=False)
    say_catalog(db, domain, dataset)
    snap = read_domain(db, domain)
    if not snap.ratings.n_ratings:
        raise click.ClickException(f"the store holds no {domain} ratings to hold out: import a catalog first "
                                   "(engine data import ml-100k, or engine data import movielens ml-latest-small)")
    # a catalog too large is one line before anything runs, not a killed process
    plan_fit(len(snap.items), snap.ratings.n_ratings, snap.ratings.n_users)
    scorer = None
    if not no_llm:
        from engine.llm.backends import open_scorer

        scorer = open_scorer(model_path)
    with tqdm(total=n_users, desc="ranking", unit="user", dynamic_ncols=True) as bar:
        report = evaluate_catalog(snap, scorer, n_users=n_users, last=last, candidates=candidates,
                                  seed=seed, progress=bar.update, log=lambda m: click.echo(m, err=True),
                                  ease_lambdas=lambdas, films=film_facts(db, domain),
                                  ranker=choose_ranker(snap.dataset).ranker)
    click.echo(report.table())
    if json_out:
        write_json_atomic(json_out, report.to_json())
        click.echo(f"metrics: {json_out}")
