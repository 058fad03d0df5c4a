"""Features of TALLRec samples for the stack, and the fit behind `engine stack fit` and `engine eval`.

Samples name items by prompt text; ids come from the sample (`engine data split` writes them) or
from the store's catalog by name. The collaborative model used here is fitted without the users
whose samples are fitted or evaluated, so no sample's own label reaches its features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlite_utils

from db.prompt import item_label, parse_input, sample_domain
from db.types import Sample

from .collab import CollabModel, catalog_items, read_feedback
from .stack import COLLAB_FEATURES, FEATURES, Stack, Table, feature_table, matrix


@dataclass(frozen=True)
class SampleRef:
    """A sample as item ids: the liked and disliked items its prompt shows, its target, and the user's
    whole history before the target (from the store; the window when the sample has no user)."""

    liked: list[int]
    disliked: list[int]
    target: int
    all_liked: list[int] | None = None
    all_disliked: list[int] | None = None


def prior_history(db: sqlite_utils.Database, samples: list[Sample]) -> dict[tuple[int, int], list[tuple[int, bool]]]:
    """(user, target) -> the user's ratings before the target in time (ties by row id), as the store holds them."""
    users = sorted({s.user_id for s in samples if s.user_id is not None and s.item_id is not None})
    if not users:
        return {}
    marks = ",".join("?" * len(users))
    rows = db.execute(f"""SELECT user_id, item_id, liked FROM current_feedback WHERE user_id IN ({marks})
                          ORDER BY user_id, ts, id""", users).fetchall()
    per_user: dict[int, list[tuple[int, bool]]] = {}
    for u, i, liked in rows:
        per_user.setdefault(u, []).append((i, bool(liked)))
    out = {}
    for s in samples:
        events = per_user.get(s.user_id)
        if events is None:
            continue
        k = next((j for j, (i, _) in enumerate(events) if i == s.item_id), None)
        if k is not None:
            out[(s.user_id, s.item_id)] = events[:k]
    return out


def sample_refs(db: sqlite_utils.Database, samples: list[Sample]) -> list[SampleRef]:
    """Item ids of each sample; an item the catalog does not hold gets id -1 (no collaborative signal)."""
    names: dict[str, dict[str, int]] = {}  # per domain: the name or item-text label a prompt shows -> id
    by_id: dict[int, set[str]] = {}
    prior = prior_history(db, samples)
    out = []
    for s in samples:
        domain = sample_domain(s.input)
        if domain not in names:
            names[domain] = {}
            for i, item in catalog_items(db, domain).items():  # a name two items share means the lower id
                shown = {item.name, item_label(item.name, item.genres)}
                by_id[i] = shown
                for n in shown:
                    names[domain].setdefault(n, i)
        p = parse_input(domain, s.input)
        if s.history and all(h in by_id for h in s.history):
            liked_names = set(p.liked)
            liked = [h for h in s.history if by_id[h] & liked_names]
            disliked = [h for h in s.history if not by_id[h] & liked_names]
        else:
            liked = [names[domain].get(n, -1) for n in p.liked]
            disliked = [names[domain].get(n, -1) for n in p.disliked]
        target = s.item_id if s.item_id is not None else names[domain].get(p.target, -1)
        before = prior.get((s.user_id, s.item_id))
        if before is None:
            out.append(SampleRef(liked, disliked, target))
        else:
            out.append(SampleRef(liked, disliked, target, [i for i, ok in before if ok], [i for i, ok in before if not ok]))
    return out


def sample_table(model: CollabModel, refs: list[SampleRef]) -> Table:
    """Feature table of TALLRec samples (one row each); the prompt's window is all the history they carry."""
    rows = [feature_table(model, r.liked, r.disliked, [r.target], r.all_liked, r.all_disliked) for r in refs]
    keys = rows[0].keys() if rows else ()
    return {k: np.concatenate([row[k] for row in rows]) for k in keys}


def collab_without(db: sqlite_utils.Database, domain: str, *sample_sets: list[Sample],
                   items: set[int] = frozenset()) -> CollabModel:
    """The collaborative model fitted on every user except those with samples in `sample_sets`, and
    without any rating of `items` (the held-out items of a cold-item split)."""
    users = {s.user_id for samples in sample_sets for s in samples if s.user_id is not None}
    feedback = read_feedback(db, domain).without_users(users)
    return CollabModel.fit(feedback.without_items(set(items)) if items else feedback)


def fit_head(table: Table, labels: list[int], features: tuple[str, ...]) -> Stack:
    return Stack.fit(matrix(table, features), labels, features)


def fit_reranker(db: sqlite_utils.Database, domain: str, fit: list[Sample], exclude: list[Sample],
                 logits: list[float] | None, scorer=None, model_id: str | None = None, rank_users: int = 100,
                 n_candidates: int = 50, seed: int = 0, progress=None, fitted_on: dict | None = None):
    """Both heads for one model (`logits`/`scorer` given) or without the LLM (both None).

    like head: `fit` samples (labels from the split), features from a collaborative model without
    the users of `fit` and `exclude` (the test split). rank head: `rank_users` users of the fit half
    of the hold-out partition (engine.holdout), features from a model without anyone's hidden ratings.
    """
    from . import holdout
    from .stack import Reranker

    with_llm = logits is not None
    like_features = FEATURES if with_llm else COLLAB_FEATURES
    table = sample_table(collab_without(db, domain, fit, exclude), sample_refs(db, fit))
    if with_llm:
        table["llm_logit"] = np.asarray(logits, dtype=np.float64)
    like = fit_head(table, [s.label for s in fit], like_features)

    split = holdout.holdout_split(db, domain)
    fit_half, _ = holdout.partition(split.users, seed)
    users = holdout.sample_users(fit_half, rank_users, seed)
    items = catalog_items(db, domain)
    model = CollabModel.fit(split.train)
    rank_table, labels = holdout.rank_rows(model, users, split.catalog, items, scorer if with_llm else None, domain,
                                           n_candidates, progress)
    rank = fit_head(rank_table, labels, like_features) if len(set(labels)) == 2 else None
    info = {"like_samples": len(fit), "rank_users": len(users), "rank_rows": len(labels), "seed": seed,
            **(fitted_on or {})}
    return Reranker(like, rank, domain, model_id if with_llm else None, info)
