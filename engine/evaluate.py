"""`engine eval`: score a TALLRec split with the LLM, compute metrics and baselines, store the run."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from db.fileio import atomic_path, file_sha256, write_json_atomic
from db.item_stats import like_share
from db.store import transaction
from db.types import Sample

from .baselines import FeatureLR
from .hybrid import HybridLR
from .metrics import classification_metrics
from .scorer import Score, Scorer


@dataclass
class EvalResult:
    model: str
    data: str
    metrics: dict
    baselines: dict[str, dict]
    seconds: float
    hybrid: dict | None = None  # metrics of the LLM-logit + features LR, when a fit split was given
    ranking: dict | None = None  # HR@5 / NDCG@10 of the LLM and item-only rankers (engine.ranking)
    stacks: dict[str, dict] = field(default_factory=dict)  # served stack, stack without LLM, EASE alone
    prompt_format: str = "alpaca"  # how the prompts were written (db.prompt.PROMPT_FORMATS)
    hybrid_model: HybridLR | None = field(repr=False, default=None)
    scores: list[float] = field(repr=False, default_factory=list)
    labels: list[int] = field(repr=False, default_factory=list)
    logits: list[float] = field(repr=False, default_factory=list)  # logit(Yes) - logit(No) per sample
    users: list[int | None] = field(repr=False, default_factory=list)

    def to_json(self) -> dict:
        out = {"model": self.model, "data": self.data, "prompt_format": self.prompt_format, **self.metrics, "baselines": self.baselines,
               "seconds": self.seconds, "roc": roc_points(self.labels, self.scores)}
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


def score_samples(scorer: Scorer, samples: list[Sample], progress: Callable[[int], None] | None = None) -> list[Score]:
    return scorer.score([scorer.prompt(s.instruction, s.input) for s in samples], progress=progress)


def evaluate(scorer: Scorer, samples: list[Sample], train: list[Sample] | None, data_name: str,
             progress: Callable[[int], None] | None = None, fit: list[Sample] | None = None) -> EvalResult:
    """Score `samples`; baselines from `train`; with `fit` (labelled, unseen in training) also the hybrid LR."""
    t0 = time.perf_counter()
    raw = score_samples(scorer, samples, progress)
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
        model = HybridLR(train, fit, [r.logit for r in score_samples(scorer, fit, progress)])
        hybrid = classification_metrics(labels, model.predict(samples, logits), users)
        hybrid.update(fit_n=len(fit), coefficients=model.coefficients())
    return EvalResult(str(scorer.path), data_name, classification_metrics(labels, scores, users), baselines,
                      seconds, hybrid=hybrid, scores=scores, labels=labels, hybrid_model=model,
                      logits=logits, users=users, prompt_format=scorer.format.name)


def stack_metrics(db: sqlite_utils.Database, samples: list[Sample], logits: list[float], model_sha256: str,
                  held_out: list[Sample] | None = None) -> dict[str, dict]:
    """The served stack's P(like), the stack without the LLM and EASE alone, on `samples`.

    Collaborative statistics leave out the evaluated users (and `held_out`'s), so no sample's own
    label reaches its features. A stack appears only if one is installed for this model / without LLM.
    """
    from db.prompt import sample_domain

    from .stack import find_stack, with_logits
    from .stack_fit import collab_without, sample_refs, sample_table

    domain = sample_domain(samples[0].input)
    labels, users = [s.label for s in samples], [s.user_id for s in samples]
    table = with_logits(sample_table(collab_without(db, domain, samples, held_out or []), sample_refs(db, samples)), logits)
    out = {"ease_alone": classification_metrics(labels, list(table["ease_liked"]), users)}
    for name, sha in (("served_stack", model_sha256), ("stack_without_llm", None)):
        stack = find_stack(sha, domain)
        if stack is not None:
            out[name] = {**classification_metrics(labels, list(stack.like.predict_table(table)), users),
                         "weights": stack.like.weights(), "fitted_on": stack.fitted_on}
    return out


def store_run(db: sqlite_utils.Database, result: EvalResult, k: int | None) -> int:
    with transaction(db):
        cur = db.execute(
            "INSERT INTO eval_runs (model_path, model_sha256, dataset, k, metrics) VALUES (?, ?, ?, ?, ?)",
            [result.model, file_sha256(Path(result.model)), result.data, k, json.dumps(result.to_json())],
        )
    return cur.lastrowid


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
    ax.set_title(Path(result.data).name)
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
