"""Sampled ranking metrics, what a chat user feels: one liked test item ranked among items the user never rated.

For each test user, up to `per_user` samples whose target the user liked become cases; each case
adds `negatives` catalog items the user has no rating for (seeded draw), each shown with the same
history as the liked one. A scorer ranks the 1 + N targets; HR@5 and NDCG@10 read the liked
item's rank. Pooled AUC cannot tell this: it also rewards knowing which users like more.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from db.item_stats import ItemStats
from db.prompt import NO, build_input, parse_input, sample_domain
from db.scoring import Score
from db.snapshot import DomainSnapshot
from db.types import Interaction, Sample

from .metrics import rank_of_first, ranking_metrics

NEGATIVES = 19
PER_USER = 5


@dataclass(frozen=True)
class RankingCase:
    samples: list[Sample]  # the liked target first, then the negatives with the same history

    @property
    def user_id(self) -> int | None:
        return self.samples[0].user_id


def build_cases(snap: DomainSnapshot, samples: list[Sample], negatives: int = NEGATIVES,
                per_user: int = PER_USER, seed: int = 0) -> list[RankingCase]:
    """Cases from liked samples of the snapshot's domain that carry user and item ids (as `engine data
    split` writes them)."""
    rng = random.Random(seed)
    taken: dict[int, int] = {}
    cases = []
    pool = [(i, item.name) for i, item in snap.items.items()]
    for s in samples:
        if s.label != 1 or s.user_id is None or s.item_id is None or taken.get(s.user_id, 0) >= per_user:
            continue
        domain = sample_domain(s.input)
        if domain != snap.domain:
            continue
        rated = {h.item_id for h in snap.timelines.get(s.user_id, [])} | {s.item_id}
        unrated = [it for it in pool if it[0] not in rated]
        if len(unrated) < negatives:
            continue
        p = parse_input(domain, s.input)
        negs = [replace(s, item_id=item_id, output=NO, input=build_input(domain, p.liked, p.disliked, name))
                for item_id, name in rng.sample(unrated, negatives)]
        cases.append(RankingCase([s, *negs]))
        taken[s.user_id] = taken.get(s.user_id, 0) + 1
    return cases


@dataclass(frozen=True)
class RankRequest:
    """One user's items to order, as every ranker of both evaluations receives them: the items (store
    ids), the history a model may see (the full-catalog hold-out), and for a sampled case its prompts,
    one per item, with the LLM's scores of them."""

    user_id: int | None
    items: np.ndarray
    history: list[Interaction] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    llm: list[Score] = field(default_factory=list)


Ranker = Callable[[RankRequest], np.ndarray]  # a score per item of the request; higher ranks first


def evaluate_ranking(cases: list[RankingCase], llm: Callable[[list[Sample]], list[Score]],
                     train: list[Sample] | None, extra: dict[str, Ranker] | None = None) -> dict:
    """HR@5, NDCG@10, MRR of the LLM, of two item-only rankers from training statistics, and of `extra`
    rankers that read the LLM's scores (e.g. the hybrid); the LLM scores each case once."""
    rankers: dict[str, Ranker] = {"llm": lambda req: np.array([s.p_yes for s in req.llm])}
    if train:
        stats = ItemStats.from_samples(train)

        def target(s: Sample) -> str:
            return parse_input(sample_domain(s.input), s.input).target

        rankers["item_like_rate"] = lambda req: np.array([stats.like_rate(target(s)) for s in req.samples])
        rankers["popularity"] = lambda req: np.array([stats.popularity(target(s)) for s in req.samples])
    rankers.update(extra or {})
    ranks: dict[str, list[float]] = {name: [] for name in rankers}
    for c in cases:
        req = RankRequest(c.user_id, np.array([s.item_id for s in c.samples]), samples=c.samples, llm=llm(c.samples))
        for name, rank in rankers.items():
            ranks[name].append(rank_of_first(list(rank(req))))
    out: dict = {"negatives": len(cases[0].samples) - 1 if cases else 0,
                 "users": len({c.user_id for c in cases})}
    out.update({name: ranking_metrics(r) for name, r in ranks.items()})
    return out
