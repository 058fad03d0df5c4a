"""Features of TALLRec samples for the stack, and the fit behind `engine stack fit` and `engine eval`.

Samples name items by prompt text; ids come from the sample (`engine data split` writes them) or
from the store's catalog by name. The collaborative model used here is fitted without the users
whose samples are fitted or evaluated, so no sample's own label reaches its features.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from db.prompt import build_input, item_label, parse_input, sample_domain
from db.scoring import score_samples
from db.snapshot import DomainSnapshot
from db.types import Sample
from engine.collab.model import CollabModel
from engine.rank.stack import COLLAB_FEATURES, FEATURES, Reranker, Stack, Table, concat_tables, feature_table, matrix

from . import holdout


@dataclass(frozen=True)
class SampleRef:
    """A sample as item ids: the liked and disliked items its prompt shows, its target, and the user's
    whole history before the target (from the store; the window when the sample has no user)."""

    liked: list[int]
    disliked: list[int]
    target: int
    all_liked: list[int] | None = None
    all_disliked: list[int] | None = None


def prior_history(snap: DomainSnapshot, samples: list[Sample]) -> dict[tuple[int, int], list[tuple[int, bool]]]:
    """(user, target) -> the user's ratings before the target in time (ties by row id), as the store holds them."""
    out = {}
    for s in samples:
        events = snap.timelines.get(s.user_id) if s.user_id is not None and s.item_id is not None else None
        if events is None:
            continue
        k = next((j for j, h in enumerate(events) if h.item_id == s.item_id), None)
        if k is not None:
            out[(s.user_id, s.item_id)] = [(h.item_id, h.liked) for h in events[:k]]
    return out


def shown_names(snap: DomainSnapshot) -> tuple[dict[str, int], dict[int, set[str]]]:
    """How prompts name the catalog's items (name, or item text), both ways; a name two items share
    means the lower id."""
    names: dict[str, int] = {}
    by_id: dict[int, set[str]] = {}
    for i, item in snap.items.items():
        shown = {item.name, item_label(item.name, item.genres)}
        by_id[i] = shown
        for n in shown:
            names.setdefault(n, i)
    return names, by_id


def sample_refs(snap: DomainSnapshot, samples: list[Sample]) -> list[SampleRef]:
    """Item ids of each sample; an item the catalog does not hold (or another domain's) gets id -1."""
    names, by_id = shown_names(snap)
    prior = prior_history(snap, samples)
    out = []
    for s in samples:
        domain = sample_domain(s.input)
        known = names if domain == snap.domain else {}
        p = parse_input(domain, s.input)
        if s.history and all(h in by_id for h in s.history):
            liked_names = set(p.liked)
            liked = [h for h in s.history if by_id[h] & liked_names]
            disliked = [h for h in s.history if not by_id[h] & liked_names]
        else:
            liked = [known.get(n, -1) for n in p.liked]
            disliked = [known.get(n, -1) for n in p.disliked]
        target = s.item_id if s.item_id is not None else known.get(p.target, -1)
        before = prior.get((s.user_id, s.item_id))
        if before is None:
            out.append(SampleRef(liked, disliked, target))
        else:
            out.append(SampleRef(liked, disliked, target, [i for i, ok in before if ok], [i for i, ok in before if not ok]))
    return out


CUT_LENGTHS = (1, 2, 3, 5)  # history lengths a chat produces, besides full 10-rating windows


@dataclass(frozen=True)
class CutSamples:
    """Samples as a person with only their k most recent ratings would be asked: the window and the
    whole history are those k (the chat after k ratings). `samples` carry the re-rendered prompts."""

    k: int
    samples: list[Sample]
    refs: list[SampleRef]


def cut_samples(snap: DomainSnapshot, samples: list[Sample], lengths: tuple[int, ...]) -> list[CutSamples]:
    """Samples with ids (`engine data split` writes them) cut to their last k ratings, for each k in `lengths`
    (each prompt parsed once); samples without ids are left out."""
    _, by_id = shown_names(snap)
    cuts = [CutSamples(k, [], []) for k in lengths]
    for s in samples:
        if not s.history or any(h not in by_id for h in s.history) or s.item_id is None:
            continue
        domain = sample_domain(s.input)
        p = parse_input(domain, s.input)
        liked_names = set(p.liked)
        shown = set(p.liked) | set(p.disliked)
        names = {h: min(by_id[h] & shown or by_id[h]) for h in s.history}
        for c in cuts:
            cut = s.history[-c.k:]
            liked = [h for h in cut if names[h] in liked_names]
            disliked = [h for h in cut if names[h] not in liked_names]
            text = build_input(domain, [names[h] for h in liked], [names[h] for h in disliked], p.target)
            c.samples.append(replace(s, input=text, history=cut))
            c.refs.append(SampleRef(liked, disliked, s.item_id, liked, disliked))
    return cuts


def sample_table(model: CollabModel, refs: list[SampleRef]) -> Table:
    """Feature table of TALLRec samples (one row each); the prompt's window is all the history they carry."""
    return concat_tables([feature_table(model, r.liked, r.disliked, [r.target], all_liked=r.all_liked,
                                        all_disliked=r.all_disliked)
                          for r in refs])


def collab_without(snap: DomainSnapshot, *sample_sets: list[Sample], items: set[int] = frozenset()) -> CollabModel:
    """The collaborative model fitted on every user except those with samples in `sample_sets`, and
    without any rating of `items` (the held-out items of a cold-item split)."""
    users = {s.user_id for samples in sample_sets for s in samples if s.user_id is not None}
    feedback = snap.ratings.without_users(users)
    return CollabModel.fit(feedback.without_items(set(items)) if items else feedback)


def fit_head(table: Table, labels: list[int], features: tuple[str, ...]) -> Stack:
    return Stack.fit(matrix(table, features), labels, features)


def fit_reranker(snap: DomainSnapshot, fit: list[Sample], exclude: list[Sample], *, logits: list[float] | None,
                 scorer=None, model_id: str | None = None, rank_users: int = 100, n_candidates: int = 50,
                 seed: int = 0, progress=None, fitted_on: dict | None = None,
                 cut_lengths: tuple[int, ...] = CUT_LENGTHS, cut_progress=None) -> Reranker:
    """Both heads for one model (`logits`/`scorer` given) or without the LLM (both None).

    like head: `fit` samples (labels from the split), features from a collaborative model without
    the users of `fit` and `exclude` (the test split). short head: the same samples cut to each of
    `cut_lengths` ratings (the LLM scores their prompts too); the like head alone read one like as
    near certainty (docs/calibration.md). rank head: `rank_users` users of the fit half of the
    hold-out partition (engine.evaluation.holdout), features from a model without anyone's hidden ratings.
    """
    with_llm = logits is not None
    like_features = FEATURES if with_llm else COLLAB_FEATURES
    collab = collab_without(snap, fit, exclude)
    table = sample_table(collab, sample_refs(snap, fit))
    if with_llm:
        table["llm_logit"] = np.asarray(logits, dtype=np.float64)
    like = fit_head(table, [s.label for s in fit], like_features)
    cut_tables, cut_labels = [], []
    for cut in cut_samples(snap, fit, cut_lengths):  # every history length under a window that the chat shows
        if not cut.samples:
            continue
        t = sample_table(collab, cut.refs)
        if with_llm:
            if scorer is None:
                raise ValueError("cut histories need the scorer for their LLM logits")
            t["llm_logit"] = np.asarray([r.logit for r in score_samples(scorer, cut.samples, progress=cut_progress)])
        cut_tables.append(t)
        cut_labels += [s.label for s in cut.samples]
    short = fit_head(concat_tables(cut_tables), cut_labels, like_features) if len(set(cut_labels)) == 2 else None

    split = holdout.holdout_split(snap)
    fit_half, _ = holdout.partition(split.users, seed)
    users = holdout.sample_users(fit_half, rank_users, seed)
    model = CollabModel.fit(split.train)
    rank_table, labels = holdout.rank_rows(model, users, split.catalog, snap.items,
                                           scorer=scorer if with_llm else None, domain=snap.domain,
                                           n_candidates=n_candidates, progress=progress)
    rank = fit_head(rank_table, labels, like_features) if len(set(labels)) == 2 else None
    info = {"like_samples": len(fit), "short_rows": len(cut_labels), "cut_lengths": list(cut_lengths),
            "rank_users": len(users), "rank_rows": len(labels), "seed": seed,
            **(fitted_on or {})}
    return Reranker(like, rank, snap.domain, model_id if with_llm else None, info, collab=model.kind,
                    dataset=snap.dataset, short=short)
