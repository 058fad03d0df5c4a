"""Requests to learn an order from, built from a hold-out split's fit half (engine.evaluation.holdout): each
person's last ratings hidden, the request made at their own time, their hidden likes what to rank first.

Why beside the temporal cuts (engine.evaluation.ltr_requests): a ranker fitted on "what people rate in the next
twelve months" alone learned that recent popularity is most of the answer, and on the hold-out protocol
(`engine eval-catalog`: each person's own next ratings) it ranked at half of EASE, on ml-latest-small and on
ML-100K. People with long histories asking for their own next film are a request the product serves too. The
evaluated half of the partition (the same seed as eval-catalog's) never reaches a fit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.collab.model import CollabModel
from engine.rank.channels import Sizes
from engine.rank.ltr import Params
from engine.rank.signals import Ask, Signals

from . import holdout, ltr_fit
from .holdout import HoldoutUser
from .ltr_requests import LtrRequest, neighbourhood

CUT = -1  # the catalogs index every hold-out request reads (one catalog: the split's)


def holdout_requests(users: list[HoldoutUser], films, near: Callable[[int], frozenset[int]] | None = None,
                     seed: int = 0) -> list[LtrRequest]:
    """Per person: "for me" (their visible history -> their hidden likes), "like X" (one hidden like as the seed
    -> the other hidden likes like it) and "genre" (a hidden like's genre asked for -> the hidden likes of it)."""
    rng = random.Random(f"holdout-{seed}")
    genres = {f.item_id: tuple(g for g in f.genres if g != "(no genres listed)") for f in films}
    out: list[LtrRequest] = []
    for hu in users:
        liked = tuple(h.item_id for h in hu.history if h.liked)
        disliked = tuple(h.item_id for h in hu.history if not h.liked)
        at = max((h.ts for h in hu.history), default=0.0) + 1.0
        rated = frozenset(h.item_id for h in hu.history)
        later = sorted(hu.relevant)
        out.append(LtrRequest(hu.user_id, "for me", CUT, Ask(liked, disliked, at=at), rated, frozenset(later)))
        if len(later) >= 2:
            x = rng.choice(later)
            like_x = near(x) if near is not None else None
            targets = frozenset(i for i in later if i != x and (like_x is None or i in like_x))
            if targets:
                out.append(LtrRequest(hu.user_id, "like X", CUT, Ask(liked, disliked, seeds=(x,), at=at),
                                      rated | {x}, targets, str(x)))
        shown = [i for i in later if genres.get(i)]
        if shown:
            g = rng.choice(sorted(genres[rng.choice(shown)]))
            out.append(LtrRequest(hu.user_id, "genre", CUT, Ask(liked, disliked, genres=(g,), at=at), rated,
                                  frozenset(i for i in later if g in genres.get(i, ())), g))
    return out


def at_request_time(base: Signals, events: tuple[np.ndarray, np.ndarray]) -> Callable[[LtrRequest], Signals]:
    """The split's signals with recency as of each request's own time (`events`: holdout.visible_events)."""
    return lambda r: base.as_of(*events, r.ask.at)


VALID_SHARE = 0.25  # of the fit half's people: what the settings are chosen on and P(like) calibrated on
GRID = ((15, 0.05), (31, 0.05), (15, 0.1))  # (leaves, learning rate), each at 100/200/400 trees
TREES = (100, 200, 400)


SIZES = Sizes(200, 100, 200, 100, 60)  # the channels' sizes at which candidates are built (bench/temporal.py's largest)


@dataclass
class HoldoutRows:
    rows: ltr_fit.Rows
    valid: np.ndarray  # per request: True for a validation person's
    people: int
    n_valid: int


def holdout_rows(snap, films, people: int, seed: int = 0, sizes: Sizes = SIZES,
                 progress: Callable[[int], None] | None = None) -> HoldoutRows:
    """Candidates and features of hold-out requests from `people` of the fit half of eval-catalog's partition
    (seed 0), VALID_SHARE of them kept for validation."""
    split = holdout.holdout_split(snap)
    fit_half, _ = holdout.partition(split.users, 0)
    chosen = holdout.sample_users(fit_half, people, seed)
    n_valid = max(1, round(VALID_SHARE * len(chosen)))
    valid_users = {hu.user_id for hu in chosen[:n_valid]}
    events = holdout.visible_events(snap)
    base = holdout.served_order(events, CollabModel.fit(split.train), films, None).signals
    reqs = holdout_requests(chosen, films, near=neighbourhood(base, split.catalog), seed=seed)
    rows = ltr_fit.build_rows(reqs, at_request_time(base, events), [split.catalog], sizes, progress)
    return HoldoutRows(rows, np.array([r.user_id in valid_users for r in reqs]), len(chosen), n_valid)


def fit_holdout_ranker(snap, films, *, people: int = 400, seed: int = 0, log: Callable[[str], None] = print,
                       progress: Callable[[int], None] | None = None):
    """A learned ranker for a catalog from its hold-out split's fit half (eval-catalog's partition, seed 0):
    settings chosen and P(like) calibrated on a quarter of those people, then refitted on all of them.
    Returns (ranker, report). The evaluated half never reaches it."""
    sizes = SIZES
    hold = holdout_rows(snap, films, people, seed, sizes, progress)
    rows, valid, reqs = hold.rows, hold.valid, hold.rows.requests
    me = np.array([r.kind == "for me" for r in reqs])
    fit_on, valid_me, valid_all = np.flatnonzero(~valid), np.flatnonzero(valid & me), np.flatnonzero(valid)
    tried, best = {}, None
    for leaves, rate in GRID:
        model = ltr_fit.fit(rows, fit_on, sizes, Params(leaves, max(TREES), rate), seed=seed)
        for trees in TREES:
            got = tried[f"leaves {leaves} rate {rate} trees {trees}"] = ltr_fit.mean(
                ltr_fit.metrics(rows, valid_me, sizes, lambda t: model.score(t, trees)))
            if best is None or got > best[0]:
                best = (got, Params(leaves, trees, rate), model, trees)
        log(f"  leaves {leaves} rate {rate}: validation NDCG@10 by trees "
            + " ".join(f"{n}:{tried[f'leaves {leaves} rate {rate} trees {n}']:.4f}" for n in TREES))
    _, params, model, trees = best
    ease = ltr_fit.mean(ltr_fit.metrics(rows, valid_me, sizes, lambda t: t["ease_likes"]))
    table, labels, _ = rows.select(sizes, valid_all)
    keys = model.score(table, trees)  # out of sample: the model fitted without the validation people
    ranker = ltr_fit.fit(rows, np.arange(len(reqs)), sizes, params, seed=seed)  # all of the fit half's people
    ranker.platt = model.calibrate(keys, labels).platt
    ranker.fitted_on = {"dataset": snap.dataset, "protocol": "hold-out fit half", "people": hold.people,
                        "requests": len(reqs), "sizes": sizes.__dict__, "params": params.__dict__}
    report = {"validation": tried, "chosen": params.__dict__, "validation_ndcg@10": best[0],
              "validation_ease_ndcg@10": ease, "people": hold.people, "validation_people": hold.n_valid}
    return ranker, report
