"""`engine eval`: score a TALLRec split with the LLM, compute metrics and baselines, store the run.

The CLI only parses options and prints; reading the splits, scoring, the baselines, the stacks and
the ranking cases happen here (`EvalRequest` → `run_eval` → `EvalResult`, `report_lines`).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from db.errors import RecchatError
from db.fileio import atomic_path, check_writable, file_ref, write_json_atomic
from db.item_stats import ItemStats, like_share
from db.prompt import sample_domain
from db.sample_files import read_samples
from db.samples import read_cold_items, split_item_text
from db.scoring import Progress, Scorer, score_samples
from db.snapshot import DomainSnapshot
from db.types import Sample
from engine.rank.stack import find_stack, weights_text, with_logits

from .baselines import FeatureLR
from .hybrid import HybridLR
from .metrics import classification_metrics, fmt
from .sampled_ranking import build_cases, evaluate_ranking
from .stack_fit import collab_without, sample_refs, sample_table


@dataclass
class EvalResult:
    model: str
    data: str
    metrics: dict
    baselines: dict[str, dict]
    seconds: float
    hybrid: dict | None = None  # metrics of the LLM-logit + features LR, when a fit split was given
    ranking: dict | None = None  # HR@5 / NDCG@10 of the LLM and item-only rankers (engine.evaluation.sampled_ranking)
    stacks: dict[str, dict] = field(default_factory=dict)  # served stack, stack without LLM, EASE alone
    prompt_format: str = "alpaca"  # how the prompts were written (db.prompt.PROMPT_FORMATS)
    model_id: str = ""  # the scorer's identity (db.gguf_check.model_identity), also for a model served over HTTP
    cold_items: int = 0  # held-out items of a cold-item split, kept from the collaborative models
    skipped_rows: list[str] = field(default_factory=list)  # rows not computed, one line each: why, what enables them
    hybrid_model: HybridLR | None = field(repr=False, default=None)
    scores: list[float] = field(repr=False, default_factory=list)
    labels: list[int] = field(repr=False, default_factory=list)
    logits: list[float] = field(repr=False, default_factory=list)  # logit(Yes) - logit(No) per sample
    users: list[int | None] = field(repr=False, default_factory=list)

    def to_json(self) -> dict:
        out = {"model": self.model, "data": self.data, "prompt_format": self.prompt_format, **self.metrics, "baselines": self.baselines,
               "seconds": self.seconds, "roc": roc_points(self.labels, self.scores)}
        if self.cold_items:
            out["cold_items"] = self.cold_items
        if self.hybrid:
            out["hybrid"] = self.hybrid
        if self.ranking:
            out["ranking"] = self.ranking
        if self.stacks:
            out["stacks"] = self.stacks
        return out


def roc_points(labels: list[int], scores: list[float], max_points: int = 64) -> dict | None:
    """A thinned ROC curve stored with the run, so the chat can draw it without the raw scores."""
    from sklearn.metrics import roc_curve

    if len(set(labels)) < 2:
        return None
    fpr, tpr, _ = roc_curve(labels, scores)
    step = max(1, len(fpr) // max_points)
    keep = list(range(0, len(fpr), step))
    if keep[-1] != len(fpr) - 1:
        keep.append(len(fpr) - 1)
    return {"fpr": [round(float(fpr[k]), 4) for k in keep], "tpr": [round(float(tpr[k]), 4) for k in keep]}


def evaluate(scorer: Scorer, samples: list[Sample], train: list[Sample] | None, data_name: str, *,
             progress: Callable[[int], None] | None = None, fit: list[Sample] | None = None,
             stats: ItemStats | None = None) -> EvalResult:
    """Score `samples`; baselines from `train`; with `fit` (labelled, unseen in training) also the hybrid LR.

    `train` (or its `stats`, when the caller has them) also fills the notes of a model rec-tuned with them."""
    stats = stats or (ItemStats.from_samples(train) if train else None)
    t0 = time.perf_counter()
    raw = score_samples(scorer, samples, stats, progress)
    scores = [s.p_yes for s in raw]
    seconds = time.perf_counter() - t0
    labels = [s.label for s in samples]
    users = [s.user_id for s in samples]
    baselines = {"like_share": classification_metrics(labels, [like_share(s) for s in samples], users)}
    if train:
        baselines["feature_lr"] = classification_metrics(labels, FeatureLR(train).predict(samples), users)
    logits = [r.logit for r in raw]
    hybrid, model = None, None
    if train and fit:
        model = HybridLR(train, fit, [r.logit for r in score_samples(scorer, fit, stats, progress)])
        hybrid = classification_metrics(labels, model.predict(samples, logits), users)
        hybrid.update(fit_n=len(fit), coefficients=model.coefficients())
    return EvalResult(scorer.name, data_name, classification_metrics(labels, scores, users), baselines,
                      seconds, hybrid=hybrid, scores=scores, labels=labels, hybrid_model=model,
                      logits=logits, users=users, prompt_format=scorer.prompts.format.name,
                      model_id=scorer.identity)


COLLAB_ROWS = ("ease_alone", "served_stack", "stack_without_llm")


def collab_skip_lines(snap: DomainSnapshot, samples: list[Sample]) -> list[str]:
    """One line per row `engine eval` leaves out because the store cannot feed it, with the import that would."""
    imports = {"movie": "engine data import ml-100k", "book": "engine data import bookcrossing DIR"}[snap.domain]
    if not snap.ratings.n_ratings:
        why = f"the store holds no {snap.domain} ratings"
    elif all(r.target < 0 for r in sample_refs(snap, samples)):
        why = f"none of the samples' target items is in the store's {snap.domain} catalog"
    else:
        return []
    return [f"skipped {row}: {why}; `{imports}` enables it" for row in COLLAB_ROWS]


def stack_metrics(snap: DomainSnapshot, samples: list[Sample], logits: list[float], model_id: str,
                  held_out: list[Sample] | None = None, cold_items: set[int] = frozenset()) -> dict[str, dict]:
    """The served stack's P(like), the stack without the LLM and EASE alone, on `samples`.

    Collaborative statistics leave out the evaluated users (and `held_out`'s), so no sample's own
    label reaches its features; on a cold-item split no rating of a held-out item does either. A stack
    appears only if one is installed for this model / without LLM.
    """
    labels, users = [s.label for s in samples], [s.user_id for s in samples]
    refs = sample_refs(snap, samples)
    if not snap.ratings.n_ratings or all(r.target < 0 for r in refs):
        return {}  # nothing collaborative to compute on: `collab_skip_lines` says which rows and why
    model = collab_without(snap, samples, held_out or [], items=cold_items)
    table = with_logits(sample_table(model, refs), logits)
    out = {f"{model.kind}_alone": classification_metrics(labels, list(table["ease_liked"]), users)}
    for name, sha in (("served_stack", model_id), ("stack_without_llm", None)):
        stack = find_stack(sha, snap.domain, model.kind, snap.dataset)
        if stack is not None:
            out[name] = {**classification_metrics(labels, list(stack.p_like(table)), users),
                         "weights": stack.like.weights(), "fitted_on": stack.fitted_on}
    return out


@dataclass(frozen=True)
class EvalRequest:
    """What `engine eval` was asked: the split to score and what to measure beside the LLM."""

    data: Path
    train: Path | None = None  # default: train.json beside `data`
    limit: int | None = None
    fit: Path | None = None  # labelled split for the hybrid LR
    hybrid_limit: int = 1000
    ranking: bool = False
    outputs: tuple[Path | None, ...] = ()  # checked writable before minutes of scoring


@dataclass
class EvalInputs:
    samples: list[Sample]
    train: list[Sample] | None
    fit: list[Sample] | None
    skipped: list[str]  # one line per sample with a bad shape


def load_inputs(req: EvalRequest) -> EvalInputs:
    """Read and check every input first: a bad option fails in a second, not after the scoring."""
    if not req.data.exists():
        raise RecchatError(f"file not found: {req.data}")
    samples, bad = read_samples(req.data)
    samples = samples[: req.limit] if req.limit else samples
    if not samples:
        raise RecchatError(f"{req.data}: no usable samples")
    beside = req.data.parent / "train.json"
    train_path = req.train or (beside if beside.exists() else None)
    if train_path is not None and not train_path.exists():
        raise RecchatError(f"file not found: {train_path}")
    train = read_samples(train_path)[0] if train_path and train_path.resolve() != req.data.resolve() else None
    fit = None
    if req.fit:
        if not train:
            raise RecchatError("--hybrid-fit needs --train (item statistics come from training windows)")
        if not req.fit.exists():
            raise RecchatError(f"file not found: {req.fit}")
        fit = read_samples(req.fit)[0][: req.hybrid_limit]
        if req.fit.resolve() == req.data.resolve() or len({s.label for s in fit}) < 2:
            raise RecchatError(f"{req.fit}: the hybrid needs a different split with both labels")
    for out in req.outputs:
        if out:
            check_writable(out)
    return EvalInputs(samples, train, fit, bad)


ProgressBar = Callable[[str, int], "contextlib.AbstractContextManager[Progress]"]  # (label, total) -> update(n)


def check_prompts(scorer: Scorer, req: EvalRequest, inputs: EvalInputs) -> None:
    """The split must be written the way the model reads: notes need training statistics, item text a split with it."""
    if scorer.prompts.notes and not inputs.train:
        raise RecchatError(f"--notes needs --train: {scorer.name} reads collaborative notes, and like-rates come "
                           "from training windows")
    if split_item_text(req.data) != scorer.prompts.item_text:
        way = "with" if scorer.prompts.item_text else "without"
        raise RecchatError(f"{scorer.name} was rec-tuned on items named {way} their genres, and {req.data} is not: "
                           f"use a split made {way} engine data split --item-text")


def eval_domain(inputs: EvalInputs) -> str:
    """The domain whose store snapshot an evaluation reads (its samples' domain)."""
    return sample_domain(inputs.samples[0].input)


def run_eval(snap: DomainSnapshot, scorer: Scorer, req: EvalRequest, inputs: EvalInputs,
             bar: ProgressBar, log: Callable[[str], None] = lambda msg: None) -> EvalResult:
    """Score the split, the baselines, the hybrid, the ranking cases and the installed stacks, in one run,
    on one read of the store (`snap`, db.snapshot.read_domain)."""
    check_prompts(scorer, req, inputs)
    if scorer.prompts.notes:
        log("prompts carry collaborative notes (like-rates from the training split)")
    cases = []
    if req.ranking:
        cases = build_cases(snap, inputs.samples)
        if not cases:
            raise RecchatError(f"{req.data}: --ranking needs liked samples with user_id and item_id of "
                               "this store's catalog (write them with engine data split)")
    samples, fit = inputs.samples, inputs.fit
    stats = ItemStats.from_samples(inputs.train) if inputs.train else None
    with bar("scoring", len(samples) + len(fit or [])) as update:
        result = evaluate(scorer, samples, inputs.train, file_ref(req.data), progress=update, fit=fit, stats=stats)
    if cases:
        extra = {}
        if result.hybrid_model:
            hybrid = result.hybrid_model
            extra["hybrid"] = lambda req: np.asarray(hybrid.predict(req.samples, [s.logit for s in req.llm]))
        with bar("ranking", sum(len(c.samples) for c in cases)) as update:
            result.ranking = evaluate_ranking(cases, lambda ss: score_samples(scorer, ss, stats, update),
                                              inputs.train, extra)
    result.cold_items = len(cold := read_cold_items(req.data))
    result.stacks = stack_metrics(snap, samples, result.logits, scorer.identity, fit, cold)
    result.skipped_rows = collab_skip_lines(snap, samples)
    return result


def report_lines(result: EvalResult, with_train: bool) -> list[str]:
    """The table `engine eval` prints: the LLM beside every baseline and stack of the same run."""
    m = result.metrics
    rows = [("LLM P(Yes)", m)] + list(result.baselines.items())
    if result.hybrid:
        rows.append(("hybrid LR", result.hybrid))
    rows += list(result.stacks.items())
    lines = [f"{'scorer':<17} {'AUC':>7} {'GAUC':>7} {'logloss':>8} {'acc':>6}   n={m['n']}, "
             f"{result.seconds:.1f}s ({m['n'] / result.seconds:.1f} samples/s)"]
    lines += [f"{name:<17} {fmt(r['auc']):>7} {fmt(r['gauc']):>7} {fmt(r['logloss']):>8} {fmt(r['accuracy'], 3):>6}"
              for name, r in rows]
    if "served_stack" in result.stacks:
        lines.append("served stack weights per SD: " + weights_text(result.stacks["served_stack"]["weights"]))
    lines += result.skipped_rows
    if result.cold_items:
        lines.append(f"cold-item split: no rating of its {result.cold_items} held-out items reached the collaborative "
                     "models or the item statistics")
    if not with_train:
        lines.append("(feature_lr baseline needs --train: item statistics come from training windows only)")
    if result.ranking:
        rk = result.ranking
        lines.append(f"ranking: 1 liked item among {rk['negatives']} never-rated items, {rk['llm']['cases']} cases "
                     f"of {rk['users']} users")
        lines.append(f"{'scorer':<14} {'HR@5':>7} {'NDCG@10':>8} {'MRR':>7}")
        lines += [f"{name:<14} {fmt(r['hr@5']):>7} {fmt(r['ndcg@10']):>8} {fmt(r['mrr']):>7}"
                  for name, r in rk.items() if isinstance(r, dict)]
    return lines


def missing_stacks(result: EvalResult) -> list[str]:
    if result.skipped_rows:
        return []  # no store to compute them on: said by skipped_rows
    return [name for name in ("served_stack", "stack_without_llm") if name not in result.stacks]


def save_roc(result: EvalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    fpr, tpr, _ = roc_curve(result.labels, result.scores)
    ax.plot(fpr, tpr, label=f"LLM P(Yes), AUC {result.metrics['auc']:.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(result.data.split("@")[0])
    ax.legend(loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def write_json(result: EvalResult, path: Path) -> None:
    write_json_atomic(path, result.to_json())


def write_predictions(result: EvalResult, path: Path) -> None:
    """One JSON line per scored sample (index in the file, user, label, LLM logit and P(Yes)).

    Lets a researcher fit or compare rankers on the LLM's output without scoring again.
    """
    rows = [{"index": i, "user_id": u, "label": y, "logit": round(lg, 6), "p_yes": round(p, 6)}
            for i, (u, y, lg, p) in enumerate(zip(result.users, result.labels, result.logits, result.scores))]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
