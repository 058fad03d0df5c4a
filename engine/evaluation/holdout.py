"""Full-catalog hold-out evaluation: the last ratings of each user hidden, every unrated item ranked.

For each evaluated user the last `last` ratings in time are removed from what every model sees;
each model ranks the whole catalog minus the items the user still has rated, and the held-out
*liked* items are the relevant ones: Recall@10, NDCG@10 (binary gains), MRR (first relevant item).
All models rank the same users on the same split in the same run, so their numbers compare.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from db.feedback import Feedback
from db.scoring import Score
from db.snapshot import DomainSnapshot
from db.types import Interaction, Item
from engine.collab.content import fit_cold_map
from engine.collab.content_index import ContentIndex
from engine.collab.model import CollabModel
from engine.rank.handset import candidate_table, is_cold, stack_scores
from engine.rank.retrieval import Candidate
from engine.rank.served import Order, catalog_clock
from engine.rank.signals import Ask, Recency, Signals
from engine.rank.stack import concat_tables, with_logits

from .metrics import mean_metrics, user_metrics
from .sampled_ranking import Ranker, RankRequest

LAST = 5
K = 10


@dataclass(frozen=True)
class HoldoutUser:
    user_id: int
    history: list[Interaction]  # the ratings models may see, oldest first
    held: list[Interaction]  # the last `last` ratings, hidden

    @property
    def relevant(self) -> set[int]:
        return {h.item_id for h in self.held if h.liked}


@dataclass(frozen=True)
class HoldoutSplit:
    train: Feedback  # the store's ratings minus every held-out one
    users: list[HoldoutUser]  # evaluated users (at least one held-out like each)
    catalog: np.ndarray  # item ids every model ranks over


def holdout_split(snap: DomainSnapshot, last: int = LAST) -> HoldoutSplit:
    """Hold out every user's last `last` ratings (time order, ties by row id) from what any model sees.

    All users' last ratings are hidden, whether evaluated or not, so one fit serves every user set."""
    split = [HoldoutUser(u, h[:-last], h[-last:]) for u, h in snap.timelines.items() if len(h) > last]
    hidden = {(hu.user_id, h.item_id) for hu in split for h in hu.held}
    users = [hu for hu in split if hu.relevant]  # recall needs at least one hidden like
    return HoldoutSplit(snap.ratings.without(hidden), users, snap.catalog)


# ------------------------------------------------------------------ rankers


def ranked_items(scores: np.ndarray, catalog: np.ndarray, exclude: Iterable[int]) -> list[int]:
    """Catalog ids by score, best first, without the items the user has rated (ties: catalog order)."""
    order = np.argsort(-scores, kind="stable")
    seen = set(exclude)
    return [int(catalog[k]) for k in order if int(catalog[k]) not in seen]


def evaluate_rankers(split: HoldoutSplit, rankers: dict[str, Ranker], k: int = K,
                     progress: Callable[[int], None] | None = None) -> dict[str, dict[str, float]]:
    per: dict[str, list[dict[str, float]]] = {name: [] for name in rankers}
    for hu in split.users:
        rated = [h.item_id for h in hu.history]
        req = RankRequest(hu.user_id, split.catalog, hu.history)
        for name, score in rankers.items():
            per[name].append(user_metrics(ranked_items(score(req), split.catalog, rated), hu.relevant, k))
        if progress:
            progress(1)
    return {name: {"users": len(m), **mean_metrics(m)} for name, m in per.items()}


def popularity_ranker(model: CollabModel) -> Ranker:
    return lambda req: model.popularity(req.items) + 1e-3 * model.like_rate(req.items)


def ease_scores(model: CollabModel, history: list[Interaction], items: np.ndarray) -> np.ndarray:
    """EASE from the history's likes; items the fit never saw go last."""
    liked = [h.item_id for h in history if h.liked]
    return model.tie_break(model.ease_scores(liked, items, unknown=-np.inf), items)


def ease_ranker(model: CollabModel) -> Ranker:
    return lambda req: ease_scores(model, req.history, req.items)


def implicit_ranker(algo, train: Feedback, catalog: np.ndarray) -> Ranker:
    """An `implicit` model (ALS, BPR, item-kNN) fitted on the liked matrix, scoring users by fold-in."""
    col = {int(i): k for k, i in enumerate(catalog)}
    liked = train.liked == 1
    users, rows = np.unique(train.users[liked], return_inverse=True)
    cols = np.array([col[int(i)] for i in train.items[liked]])
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(catalog)))
    algo.fit(X, show_progress=False)

    def score(req: RankRequest) -> np.ndarray:  # req.items is `catalog`, the columns of the fit
        mine = sorted({col[h.item_id] for h in req.history if h.liked and h.item_id in col})
        row = sp.csr_matrix((np.ones(len(mine), dtype=np.float32), ([0] * len(mine), mine)), shape=(1, len(catalog)))
        ids, vals = algo.recommend(0, row, N=len(catalog), filter_already_liked_items=False, recalculate_user=True)
        out = np.full(len(catalog), -np.inf)
        out[ids] = vals
        return out
    return score


def retrieved(model: CollabModel, history: list[Interaction], catalog: np.ndarray, n: int) -> tuple[np.ndarray, list[int]]:
    """Retrieval as served: EASE scores of the catalog and the positions of the top `n` unrated items."""
    base = ease_scores(model, history, catalog)
    rated = {h.item_id for h in history}
    return base, [int(k) for k in np.argsort(-base, kind="stable") if int(catalog[k]) not in rated][:n]


def _cands(catalog: np.ndarray, order: list[int], base: np.ndarray, domain: str, items: dict[int, Item]):
    out = []
    for k in order:
        i = int(catalog[k])
        out.append(Candidate(items.get(i) or Item(i, domain, str(i), str(i)), float(base[k])))
    return out


def llm_scores(scorer, model: CollabModel, domain: str, history: list[Interaction], cands) -> list:
    """The LLM's scores of a user's candidates; like-rates (for a notes model) from the hold-out training part."""
    rates = model.like_rate(np.array([c.item.id for c in cands]))
    return scorer.score([scorer.prompts.for_user(domain, history, c.item, float(r)) for c, r in zip(cands, rates)])


def rank_rows(model: CollabModel, users: list[HoldoutUser], catalog: np.ndarray, items: dict[int, Item], *,
              scorer=None, domain: str = "movie", n_candidates: int = 50,
              progress: Callable[[int], None] | None = None) -> tuple[dict[str, np.ndarray], list[int]]:
    """Fit data of the rank head: each user's retrieved candidates, labelled 1 when among the hidden likes."""
    tables, labels = [], []
    for hu in users:
        base, order = retrieved(model, hu.history, catalog, n_candidates)
        cands = _cands(catalog, order, base, domain, items)
        table = candidate_table(model, hu.history, cands)
        if scorer is not None:
            table = with_logits(table, [s.logit for s in llm_scores(scorer, model, domain, hu.history, cands)])
        tables.append(table)
        labels += [1 if c.item.id in hu.relevant else 0 for c in cands]
        if progress:
            progress(1)
    return concat_tables(tables), labels


def pipeline_ranker(model: CollabModel, stack, scorer=None, domain: str = "movie", n_candidates: int = 50,
                    items: dict[int, Item] | None = None) -> Ranker:
    """The served path: EASE retrieval, then the stack reorders the top `n_candidates` (the rest keep
    retrieval order below them). With `scorer` the LLM's logit feeds the stack, as in the chat."""
    def score(req: RankRequest) -> np.ndarray:
        catalog, history = req.items, req.history
        base, order = retrieved(model, history, catalog, n_candidates)
        cands = _cands(catalog, order, base, domain, items or {})
        table = candidate_table(model, history, cands)
        scores = llm_scores(scorer, model, domain, history, cands) if scorer is not None else [Score(0.0, 0.0)] * len(cands)
        _, key = stack_scores(stack, table, scores, [c.prior for c in cands], is_cold(history))
        out = base.copy()
        top = float(np.max(base[np.isfinite(base)])) if np.isfinite(base).any() else 0.0
        for k, value in zip(order, key):
            out[k] = top + 1.0 + value  # the reranked block stays above everything retrieval left out
        return out
    return score


def learned_ranker(order, events: tuple[np.ndarray, np.ndarray] | None = None) -> Ranker:
    """The served order (engine.rank.served.Order): the channels' union of the unrated catalog ordered by the
    learned ranker; every film no channel proposed goes below it. With `events` (`visible_events`), each request
    is made at its own time, the user's latest visible rating, as the ranker learned on temporal cuts: recency
    is what was rated in the year before, not before the catalog's end."""
    def score(req: RankRequest) -> np.ndarray:
        catalog, history = req.items, req.history
        use = order.as_of(*events, max(h.ts for h in history) + 1.0) if events is not None and history else order
        at = use.at
        rated = np.array([h.item_id for h in history], dtype=np.int64)
        ask = Ask(tuple(h.item_id for h in history if h.liked), tuple(h.item_id for h in history if not h.liked), at=at)
        ordered = use.rank(ask, catalog[~np.isin(catalog, rated)])
        out = np.full(len(catalog), -np.inf)
        n = len(ordered.keys)
        out[np.searchsorted(catalog, ordered.table["ids"])] = np.arange(n, 0, -1, dtype=np.float64)
        return out
    return score


def visible_events(snap: DomainSnapshot, last: int = LAST) -> tuple[np.ndarray, np.ndarray]:
    """(items, times) of every rating the split lets models see (each user's last `last` hidden, as holdout_split)."""
    seen = [h for hs in snap.timelines.values() for h in (hs[:-last] if len(hs) > last else hs)]
    return np.array([h.item_id for h in seen], dtype=np.int64), np.array([h.ts for h in seen], dtype=np.float64)


def served_order(events: tuple[np.ndarray, np.ndarray], model: CollabModel, films, ranker) -> Order:
    """The served order (engine.rank.served.Order) over a split: its collaborative model with the cold map, the
    content index, and recency from the ratings models see (`events`), on the catalog's clock."""
    items, times = events
    served = model.with_cold(fit_cold_map(films, model.item_ids, model.popularity(model.item_ids)))
    return Order(ranker, Signals(served, ContentIndex.build(films),
                                 Recency.from_events(items, times, catalog_clock(times) + 1.0)))


def partition(users: list[HoldoutUser], seed: int = 0) -> tuple[list[HoldoutUser], list[HoldoutUser]]:
    """Users split in two halves by a seeded shuffle: the rank head fits on the first, the evaluation
    ranks the second, so no evaluated user's hidden ratings shaped the stack."""
    order = sorted(users, key=lambda hu: hu.user_id)
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return sorted(order[:half], key=lambda h: h.user_id), sorted(order[half:], key=lambda h: h.user_id)


def sample_users(users: list[HoldoutUser], n: int | None, seed: int = 0) -> list[HoldoutUser]:
    if n is None or n >= len(users):
        return users
    return sorted(random.Random(seed).sample(users, n), key=lambda h: h.user_id)
