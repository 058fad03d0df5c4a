"""The stacked reranker: the LLM's Yes-No logit and collaborative features, one fit per model.

Two heads, each a standardised logistic regression on the same kind of inputs, because measured
on ML-100K one regression cannot serve both questions (docs/results.md):
- `like`: P(like | the user rates it), fitted on TALLRec validation samples; shown as P(like) and
  scored by AUC/GAUC. Rated items are already chosen, so popularity gets a negative weight here.
- `rank`: P(the item is among the user's next likes | retrieved), fitted on the hidden last ratings
  of a set of fit users (engine.evaluation.holdout); it orders the list and is scored by NDCG@10.
Both are fitted on users neither the LLM nor the collaborative model saw. Stored as JSON under the
model's identity (db.gguf_check.model_identity: weights, tokenizer and prompt settings, not where the
file was built) so a calibration fitted for one model is never used for another; the shipped default
model's stack ships in `engine/stacks/`. The stack without the LLM (same inputs minus the logit)
is what a model without its own stack falls back to, and the ablation the evaluation reports.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from db.fileio import write_json_atomic
from db.paths import data_dir
from db.samples import DEFAULT_DATASET
from engine.collab.model import CollabModel

COLLAB_FEATURES = ("ease_liked", "ease_disliked", "like_share", "like_share_all", "item_like_rate", "log_popularity",
                   "ease_all")
FEATURES = ("llm_logit", *COLLAB_FEATURES)
SHIPPED_DIR = Path(__file__).resolve().parent / "stacks"
NO_LLM = "no-llm"  # file stem of the stack without the LLM
RATED = "history_rated"  # table column: how many ratings the user's whole history holds
SHORT_BELOW = 10  # histories shorter than a TALLRec window get the short-history like head


Table = dict[str, np.ndarray]  # feature name -> one value per target
SHARE_PRIOR = 5.0  # pseudo-ratings at the catalog's like-rate in a user's like-share (chosen on validation: docs/calibration.md)


def shrunk_share(liked: int, rated: int, prior: float) -> float:
    """A user's like-share with SHARE_PRIOR pseudo-ratings at `prior`: one like is weak evidence (0.63 at a
    0.55 prior, not 1.0), ten of ten is strong (0.85)."""
    return (liked + SHARE_PRIOR * prior) / (rated + SHARE_PRIOR)


def feature_table(model: CollabModel, liked: list[int], disliked: list[int], targets: list[int], *,
                  all_liked: list[int] | None = None, all_disliked: list[int] | None = None,
                  ease_from: list[int] | None = None) -> Table:
    """Every stack input but the LLM's, per target. `liked`/`disliked`: the window a prompt shows (the
    newest ratings: recency counts); `all_liked`/`all_disliked`: the user's whole history before now
    (default: the window). The whole history's like-share lifted test AUC 0.778 -> 0.784 (docs/results.md).
    `ease_from`: the items `ease_all` is EASE from (default `all_liked`; "more like X" passes X)."""
    n = len(liked) + len(disliked)
    all_liked = liked if all_liked is None else all_liked
    all_disliked = disliked if all_disliked is None else all_disliked
    ease_from = all_liked if ease_from is None else ease_from
    n_all = len(all_liked) + len(all_disliked)
    ease = model.user_scores(ease_from)
    cols = model.columns(targets)
    return {
        "ease_liked": model.affinity(liked, targets),
        "ease_disliked": model.affinity(disliked, targets),
        "like_share": np.full(len(targets), shrunk_share(len(liked), n, model.global_rate)),
        "like_share_all": np.full(len(targets), shrunk_share(len(all_liked), n_all, model.global_rate)),
        "item_like_rate": model.like_rate(targets),
        "log_popularity": model.popularity(targets),
        "ease_all": np.where(cols >= 0, ease[np.maximum(cols, 0)], 0.0) / max(1, len(ease_from)),
        RATED: np.full(len(targets), float(n_all)),  # not an input: which like head answers (Reranker.p_like)
    }


def concat_tables(tables: list[Table]) -> Table:
    """Row-wise concatenation of feature tables (per user or per sample) into one."""
    keys = tables[0].keys() if tables else ()
    return {k: np.concatenate([t[k] for t in tables]) for k in keys}


def weights_text(weights: dict[str, float]) -> str:
    """'llm_logit -0.012  ease_liked -0.068 ...': how the CLI prints a head's weights."""
    return "  ".join(f"{k} {v:+.3f}" for k, v in weights.items())


def with_logits(table: Table, logits) -> Table:
    return {**table, "llm_logit": np.asarray(logits, dtype=np.float64)}


def matrix(table: Table, features: tuple[str, ...]) -> np.ndarray:
    return np.column_stack([np.asarray(table[f], dtype=np.float64) for f in features])


@dataclass
class Stack:
    """Weights of a standardised LR; `predict` is sigmoid(((x - mean) / scale) . coef + intercept)."""

    features: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @property
    def uses_llm(self) -> bool:
        return "llm_logit" in self.features

    @classmethod
    def fit(cls, X: np.ndarray, y: list[int], features: tuple[str, ...]) -> "Stack":
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        if len(set(y)) < 2:
            raise ValueError("the fit data needs both likes and dislikes")
        scaler = StandardScaler().fit(X)
        lr = LogisticRegression(max_iter=1000).fit(scaler.transform(X), y)
        scale = [float(s) if s > 0 else 1.0 for s in scaler.scale_]
        return cls(tuple(features), [float(m) for m in scaler.mean_], scale, [float(c) for c in lr.coef_[0]],
                   float(lr.intercept_[0]))

    def logit(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(self.features))
        return ((X - self.mean) / self.scale) @ np.asarray(self.coef) + self.intercept

    def predict(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(X)))

    def predict_table(self, table: Table) -> np.ndarray:
        return self.predict(matrix(table, self.features))

    def weights(self) -> dict[str, float]:
        """Weight per standard deviation of each input: how much each signal counts, comparable across inputs."""
        return {f: round(c, 4) for f, c in zip(self.features, self.coef)}

    # --------------------------------------------------------------- files
    def to_json(self) -> dict:
        d = asdict(self)
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Stack":
        s = cls(tuple(d["features"]), d["mean"], d["scale"], d["coef"], d["intercept"])
        n = len(s.features)
        if not (len(s.mean) == len(s.scale) == len(s.coef) == n) or not set(s.features) <= set(FEATURES):
            raise ValueError("malformed stack file")
        if any(not math.isfinite(v) for v in [*s.mean, *s.scale, *s.coef, s.intercept]):
            raise ValueError("non-finite weights")
        return s


@dataclass
class Reranker:
    """What ranks for one model: the like head (shown), the rank head (orders), and what they were fitted on."""

    like: Stack
    rank: Stack | None
    domain: str = "movie"
    model_id: str | None = None  # the model identity (db.gguf_check.model_identity); None: without the LLM
    fitted_on: dict = field(default_factory=dict)  # data, users, command
    collab: str = "ease"  # the collaborative model its features came from (engine.collab.model.KINDS)
    dataset: str | None = None  # the catalog it was fitted on (None: the domain's default, ml-100k / bookcrossing)
    short: Stack | None = None  # P(like) for histories under SHORT_BELOW ratings, fitted on cut windows

    def __post_init__(self) -> None:
        self.dataset = self.dataset or DEFAULT_DATASET[self.domain]

    def p_like(self, table: Table) -> np.ndarray:
        """P(like) per row: the short-history head where the user has rated fewer than SHORT_BELOW titles.

        Why two heads: one head fitted on cut and full windows alike lost 0.015 AUC on full windows, and
        the full-window head read one like as near certainty (docs/calibration.md)."""
        p = self.like.predict_table(table)
        if self.short is None or RATED not in table:
            return p
        short = np.asarray(table[RATED]) < SHORT_BELOW
        if short.any():
            p = np.where(short, self.short.predict_table(table), p)
        return p

    @property
    def uses_llm(self) -> bool:
        return any(h is not None and h.uses_llm for h in (self.like, self.rank, self.short))

    def to_json(self) -> dict:
        return {"model_id": self.model_id, "domain": self.domain, "collab": self.collab, "dataset": self.dataset,
                "fitted_on": self.fitted_on,
                "like": self.like.to_json(), "rank": self.rank.to_json() if self.rank else None,
                "short": self.short.to_json() if self.short else None}

    @classmethod
    def from_json(cls, d: dict) -> "Reranker":
        rank = Stack.from_json(d["rank"]) if d.get("rank") else None
        short = Stack.from_json(d["short"]) if d.get("short") else None
        return cls(Stack.from_json(d["like"]), rank, d.get("domain", "movie"), d.get("model_id"), d.get("fitted_on", {}),
                   d.get("collab", "ease"), d.get("dataset"), short)

    def save(self, folder: Path | None = None) -> Path:
        path = (folder or user_stacks_dir()) / stack_file(self.model_id, self.domain, self.collab, self.dataset)
        write_json_atomic(path, self.to_json())
        return path


def user_stacks_dir() -> Path:
    return data_dir() / "stacks"


def stack_stem(model_id: str | None) -> str:
    return model_id or NO_LLM


def stack_file(model_id: str | None, domain: str, collab: str = "ease", dataset: str | None = None) -> str:
    """One file per model, domain, collaborative model and catalog (EASE's on the default catalog keep the
    name they shipped with)."""
    on = "" if dataset in (None, DEFAULT_DATASET[domain]) else f"-on-{dataset}"
    return f"{stack_stem(model_id)}-{domain}{'' if collab == 'ease' else '-' + collab}{on}.json"


def find_stack(model_id: str | None, domain: str, collab: str = "ease", dataset: str | None = None) -> Reranker | None:
    """The stack fitted for exactly this model and collaborative model (user folder first, then shipped);
    None if there is none.

    A file is trusted only if it names the same model identity and collaborative model inside, so a
    copied or renamed file cannot carry another model's calibration (ALS's features are not EASE's).
    """
    for folder in (user_stacks_dir(), SHIPPED_DIR):
        path = folder / stack_file(model_id, domain, collab, dataset)
        if not path.exists():
            continue
        try:
            stack = Reranker.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if stack.model_id == model_id and stack.domain == domain and stack.collab == collab \
                and stack.dataset == (dataset or DEFAULT_DATASET[domain]):
            return stack
    return None


@dataclass(frozen=True)
class StackChoice:
    """What the engine ranks by for a model, and the sentence that says so."""

    stack: Reranker | None
    note: str


def choose_stack(model_id: str, model_name: str, domain: str, collab: str = "ease",
                 dataset: str | None = None) -> StackChoice:
    """`collab`: the collaborative model serving (EASE, or ALS on a large catalog); a stack is only used
    with the collaborative model its features were computed from. `dataset`: the catalog served; a stack
    fitted on another catalog serves only as a stated fallback (its weights were calibrated there)."""
    default = DEFAULT_DATASET[domain]
    dataset = dataset or default
    fit_cmd = f"engine stack fit {'--no-llm' if model_id == NO_LLM else f'--model {model_name}'} --data valid.json"
    if dataset != default:
        fit_cmd += f" --dataset {dataset}"
    for on in dict.fromkeys([dataset, default]):
        where = "" if on == dataset else f" (fitted on {on}: none is fitted on {dataset} yet; `{fit_cmd}`)"
        own = find_stack(model_id, domain, collab, on)
        if own is not None:
            w = own.like.weights().get("llm_logit", 0.0)
            return StackChoice(own, f"ranking by the stack fitted for {model_name} (LLM weight in P(like): "
                                    f"{w:+.2f} per SD){where}")
        fallback = find_stack(None, domain, collab, on)
        named = f"{model_name} with {collab.upper()}" if collab != "ease" else model_name
        if fallback is not None and model_id == NO_LLM:
            return StackChoice(fallback, f"ranking by the collaborative stack without the LLM{where}")
        if fallback is not None:
            return StackChoice(fallback, f"{named} has no fitted stack: ranking by the collaborative stack without "
                                         f"the LLM (its P(Yes) shown beside){where or f'; fit one with `{fit_cmd}`'}")
    named = f"{model_name} with {collab.upper()}" if collab != "ease" else model_name
    return StackChoice(None, f"{named} has no fitted stack and none without the LLM is installed: ranking by "
                             f"retrieval, P(Yes) shown; fit one with `{fit_cmd}`")
