"""One list for the people present: each member's own ranking of the same candidates, aggregated.

Every member's score is what the product orders their own list by: the stack's rank head, a probability
(that the film is among their next likes) from the same model for everyone, so members' scores compare
as they are. The group's candidates are every member's own top candidates, none that any member rated;
a strategy combines the scores (the group-recommendation literature's three classic ones;
bench/groups.py compares them):

- average: the mean of the members' scores (what the group as a whole likes most);
- least misery: the minimum (nobody is left with a film they rank low);
- fair: the mean minus the spread between members (FAIR_SPREAD × their standard deviation): a film
  that one member loves and another would hate drops, one that suits both rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

import numpy as np

from db.feedback import user_history

from .recommend import (Ranking, Recommendation, candidate_table, is_cold, retrieve, stack_scores, with_gems,
                        with_like_rates)

STRATEGIES = ("average", "fair", "least-misery")
DEFAULT_STRATEGY = "average"  # best on the validation groups' mean and minimum (docs/results.md)
FAIR_SPREAD = 0.3  # chosen against 1.0 on validation groups (bench/groups.py --seed 1)


def aggregate(member_scores: list[np.ndarray], strategy: str = DEFAULT_STRATEGY) -> np.ndarray:
    """One score per candidate from each member's scores (same candidates, same order)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown group strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    m = np.vstack([np.asarray(s, dtype=np.float64) for s in member_scores])
    if strategy == "average" or len(member_scores) == 1:
        return m.mean(axis=0)
    if strategy == "least-misery":
        return m.min(axis=0) + 1e-3 * m.mean(axis=0)  # ties: the better on average first
    return m.mean(axis=0) - FAIR_SPREAD * m.std(axis=0)


@dataclass(frozen=True)
class Member:
    """One person present: their name and the history their prompts and features read."""

    name: str
    history: tuple


def rank_group(scorer, stack, collab, domain: str, members: list[Member], cands: list, *, top: int,
               strategy: str = DEFAULT_STRATEGY):
    """Each member's P(like) and ordering key for the same candidates (their own prompts and collaborative
    features), aggregated by `strategy` into the group's order; every row keeps each member's P(like)."""
    likes, keys, p_yes = [], [], []
    for m in members:
        history = list(m.history)
        scores = scorer.score([scorer.prompts.for_user(domain, history, c.item, c.like_rate) for c in cands])
        like, key = stack_scores(stack, candidate_table(collab, history, cands), scores, [c.prior for c in cands],
                                 is_cold(history))
        likes.append(like)
        keys.append(key)
        p_yes.append([s.p_yes for s in scores])
    group = aggregate([np.asarray(k) for k in keys], strategy)
    order = np.argsort(-group, kind="stable").tolist()
    order = with_gems(order, top, lambda k: cands[k].gem)[:top]  # "hidden gems": half of it from the less-rated half
    rows = [Recommendation(cands[k].item, float(np.mean([lk[k] for lk in likes])), float(np.mean([p[k] for p in p_yes])),
                           cands[k].prior, float(group[k]),
                           tuple((m.name, float(lk[k])) for m, lk in zip(members, likes))) for k in order]
    return Ranking(rows, len(cands), len(cands))


def interleave(pools: list[list]) -> list:
    """The members' own candidates in turn (first of each, then second of each...), each film once: every
    member's best come early in the group's pool."""
    out, seen = [], set()
    for row in zip_longest(*pools):
        for c in row:
            if c is not None and c.item.id not in seen:
                seen.add(c.item.id)
                out.append(c)
    return out


def recommend_group(db, scorer, stack, collab, people: list[tuple[str, int | None]], query, *, top: int = 5,
                    n_candidates: int = 50, strategy: str = DEFAULT_STRATEGY) -> list:
    """`engine recommend --with`: each person's own retrieval (nothing any of them rated), scored for each,
    aggregated by `strategy`; rows carry every member's P(like)."""
    histories = [user_history(db, uid, query.domain) if uid is not None else [] for _, uid in people]
    rated = tuple({h.item_id for hs in histories for h in hs})
    pools = [retrieve(db, collab, uid, query, n_candidates, exclude=rated)[1] for _, uid in people]
    cands = with_like_rates(collab, [], interleave(pools))
    members = [Member(name, tuple(hs)) for (name, _), hs in zip(people, histories)]
    return rank_group(scorer, stack, collab, query.domain, members, cands, top=top, strategy=strategy).items
