"""One list for the people present: each member's own P(like) of the same candidates, aggregated.

Every member's score is the learned ranker's P(like) (engine.rank.served) for their own history: one
calibrated probability from the same model for everyone, so members' scores compare as they are. The
group's candidates are every member's own top candidates, none that any member rated; a strategy combines
the scores (the group-recommendation literature's three classic ones; bench/groups.py compares them):

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

from .recommend import Ranking, Recommendation, request_ask, retrieve, with_gems, with_like_rates
from .retrieval import Query

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


def member_p_like(order, member: "Member", cands: list, query: Query = Query(), seeds: tuple[int, ...] = ()
                  ) -> np.ndarray:
    """One member's P(like) of the group's candidates, read against every film they have not rated."""
    history = list(member.history)
    ask = request_ask(history, seeds, (), query, None, order.at)
    return order.films(ask, [c.item.id for c in cands], {h.item_id for h in history}).p_like


def rank_group(scorer, order, domain: str, members: list[Member], cands: list, *, top: int,
               strategy: str = DEFAULT_STRATEGY, query: Query = Query(), seeds: tuple[int, ...] = ()):
    """Each member's P(like) of the same candidates, aggregated by `strategy` into the group's order; the LLM
    scores the rows shown for each member (their mean P(Yes) beside); every row keeps each member's P(like)."""
    likes = [member_p_like(order, m, cands, query, seeds if k == 0 else ()) for k, m in enumerate(members)]
    group = aggregate(likes, strategy)
    order_rows = np.lexsort((np.arange(len(cands)), -group)).tolist()
    order_rows = with_gems(order_rows, top, lambda k: cands[k].gem)[:top]  # "hidden gems": GEM_SHARE from the less-rated half
    p_yes = np.zeros(len(order_rows))
    for m in members if order_rows else ():
        prompts = [scorer.prompts.for_user(domain, list(m.history), cands[k].item, cands[k].like_rate)
                   for k in order_rows]
        p_yes += np.array([s.p_yes for s in scorer.score(prompts)]) / len(members)
    rows = [Recommendation(cands[k].item, float(np.mean([lk[k] for lk in likes])), float(p), cands[k].prior,
                           float(group[k]), tuple((m.name, float(lk[k])) for m, lk in zip(members, likes)))
            for k, p in zip(order_rows, p_yes)]
    return Ranking(rows, len(rows), len(rows))


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


def recommend_group(db, scorer, order, people: list[tuple[str, int | None]], query, *, top: int = 5,
                    n_candidates: int = 50, strategy: str = DEFAULT_STRATEGY) -> list:
    """`engine recommend --with`: each person's own retrieval (nothing any of them rated), scored for each,
    aggregated by `strategy`; rows carry every member's P(like)."""
    histories = [user_history(db, uid, query.domain) if uid is not None else [] for _, uid in people]
    rated = tuple({h.item_id for hs in histories for h in hs})
    pools = [retrieve(db, order, uid, query, n_candidates, exclude=rated)[1] for _, uid in people]
    cands = with_like_rates(order.collab, [], interleave(pools))
    members = [Member(name, tuple(hs)) for (name, _), hs in zip(people, histories)]
    return rank_group(scorer, order, query.domain, members, cands, top=top, strategy=strategy, query=query).items
