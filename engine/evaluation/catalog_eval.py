"""`engine eval-catalog`: the served pipeline against the classic recommenders on one hold-out split.

Why these baselines: popularity is what co-like retrieval used to reduce to; item-kNN (cosine) and
ALS are `implicit`'s well-kept implementations; EASE is what retrieval serves. All fit on the same
hidden-last-ratings split (engine.evaluation.holdout) and rank the same users of the evaluation half.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from db.snapshot import DomainSnapshot
from engine.collab.model import (
    EASE_LAMBDA,
    CollabModel,
    FitPlan,
    als_algorithm,
    fit_need,
    memory_budget,
    quiet_implicit,
)
from engine.rank.stack import Reranker, find_stack

from . import holdout
from .sampled_ranking import Ranker

CLASSIC = ("popularity", "item-knn", "als", "ease")


@dataclass
class CatalogReport:
    metrics: dict[str, dict[str, float]]
    info: dict
    weights: dict[str, dict] = field(default_factory=dict)

    def best_classic(self) -> tuple[str, float]:
        name = max((n for n in CLASSIC if n in self.metrics), key=lambda n: self.metrics[n]["ndcg@10"])
        return name, self.metrics[name]["ndcg@10"]

    def table(self) -> str:
        best, ref = self.best_classic()
        lines = [f"{self.info['users']} users, last {self.info['last']} ratings hidden, {self.info['catalog']} items; "
                 f"best classic model: {best}; EASE row λ {self.info.get('ease_lambda', EASE_LAMBDA):g}"
                 + (f" (chosen on the fit half among {', '.join(f'{x:g}' for x in self.info['ease_lambdas_tried'])})"
                    if self.info.get("ease_lambdas_tried") else ""),
                 "| model | Recall@10 | NDCG@10 | MRR | NDCG@10 / best classic |",
                 "|---|---|---|---|---|"]
        for name, m in self.metrics.items():
            ratio = m["ndcg@10"] / ref if ref else float("nan")
            lines.append(f"| {name} | {m['recall@10']:.4f} | {m['ndcg@10']:.4f} | {m['mrr']:.4f} | {ratio:.3f} |")
        return "\n".join(lines)

    def to_json(self) -> dict:
        best, ref = self.best_classic()
        return {**self.info, "metrics": self.metrics, "best_classic": best, "stack_weights": self.weights,
                "ratio_to_best_classic": {n: round(m["ndcg@10"] / ref, 4) if ref else None
                                          for n, m in self.metrics.items()}}


def classic_rankers(split: holdout.HoldoutSplit, model: CollabModel, ease: CollabModel | None,
                    seed: int) -> dict[str, Ranker]:
    """Popularity, item-kNN, ALS and EASE (`ease` None: EASE does not fit this catalog's budget)."""
    from implicit.nearest_neighbours import CosineRecommender

    with quiet_implicit():
        knn = holdout.implicit_ranker(CosineRecommender(K=100), split.train, split.catalog)
        als = holdout.implicit_ranker(als_algorithm(seed), split.train, split.catalog)
    out = {"popularity": holdout.popularity_ranker(model), "item-knn": knn, "als": als}
    if ease is not None:
        out["ease"] = holdout.ease_ranker(ease)
    return out


def ease_if_it_fits(train, served: CollabModel, log: Callable[[str], None]) -> CollabModel | None:
    """EASE for its baseline row: the served model when EASE serves, else a fit if the budget allows one."""
    if served.kind == "ease":
        return served
    n = len(served.item_ids)
    if fit_need("ease", n) > memory_budget():
        log(f"EASE over {n:,} items does not fit the memory budget: its row is left out")
        return None
    return CollabModel.fit(train, plan=FitPlan("ease", fit_need("ease", n), "baseline"))


def tuned_ease(split: holdout.HoldoutSplit, validation: list[holdout.HoldoutUser], lambdas: tuple[float, ...],
               log: Callable[[str], None], fitted: CollabModel) -> tuple[CollabModel, float]:
    """EASE at the λ whose NDCG@10 is best on `validation` (users of the fit half, never the evaluated ones).
    `fitted`: the EASE_LAMBDA model already fitted, reused for that λ (45 s a fit on ml-latest-small)."""
    best = None
    for lam in lambdas:
        model = fitted if lam == EASE_LAMBDA else CollabModel.fit(
            split.train, lam=lam, plan=FitPlan("ease", fit_need("ease", len(split.catalog)), "tuning"))
        got = holdout.evaluate_rankers(holdout.HoldoutSplit(split.train, validation, split.catalog),
                                       {"ease": holdout.ease_ranker(model)})["ease"]["ndcg@10"]
        log(f"EASE λ {lam:g}: validation NDCG@10 {got:.4f} ({len(validation)} users of the fit half)")
        if best is None or got > best[0]:
            best = (got, lam, model)
    return best[2], best[1]


def evaluate_catalog(snap: DomainSnapshot, scorer, *, n_users: int, last: int = holdout.LAST, candidates: int = 50,
                     seed: int = 0, progress: Callable[[int], None] | None = None,
                     log: Callable[[str], None] = print, ease_lambdas: tuple[float, ...] = (),
                     films=None, ranker=None) -> CatalogReport:
    """Every classic model, the served learned ranker and the previous pipeline (with and without the LLM) on
    one hold-out split of `snap`.

    `ease_lambdas`: the EASE row takes the λ among these that ranks the fit half's users best (the served
    model keeps EASE_LAMBDA); empty: EASE_LAMBDA. `films` (db.knowledge.film_facts) and `ranker` (the served
    LearnedRanker): the learned ranker's row, over the split's own signals."""
    domain = snap.domain
    split = holdout.holdout_split(snap, last)
    fit_half, eval_half = holdout.partition(split.users, seed)
    users = holdout.sample_users(eval_half, n_users, seed)
    split = holdout.HoldoutSplit(split.train, users, split.catalog)
    model = CollabModel.fit(split.train)  # what serves this catalog (EASE on ML-100K; engine.collab.model.plan_fit)
    items = snap.items
    ease, lam = ease_if_it_fits(split.train, model, log), None
    if ease is not None and ease_lambdas:
        ease, lam = tuned_ease(split, holdout.sample_users(fit_half, n_users, seed), ease_lambdas, log, ease)
    rankers = classic_rankers(split, model, ease, seed)
    weights = {}
    if films is not None and ranker is not None:
        events = holdout.visible_events(snap, last)
        rankers["learned ranker (served)"] = holdout.learned_ranker(holdout.served_order(events, model, films, ranker),
                                                                    events)
    no_llm = find_stack(None, domain, model.kind, snap.dataset)  # fitted on this catalog, never another's
    if no_llm is None:
        log(f"no stack without the LLM is installed for {model.kind.upper()} on {snap.dataset} (engine stack fit --no-llm): "
            "its pipeline row is left out")
    else:
        rankers["previous pipeline without LLM"] = holdout.pipeline_ranker(model, no_llm, None, domain, candidates, items)
        # why the list is not ordered by P(like): the same retrieval, reordered by the like head alone
        like_only = Reranker(no_llm.like, None, domain, None, short=no_llm.short)
        rankers["retrieval ordered by P(like), no LLM"] = holdout.pipeline_ranker(model, like_only, None, domain,
                                                                                  candidates, items)
        weights["previous pipeline without LLM"] = no_llm.rank.weights() if no_llm.rank else {}
    if scorer is not None:
        own = find_stack(scorer.identity, domain, model.kind, snap.dataset)
        if own is None:
            log(f"{scorer.name} has no fitted stack (engine stack fit): the LLM pipeline row is left out")
        else:
            rankers["previous pipeline (with LLM)"] = holdout.pipeline_ranker(model, own, scorer, domain, candidates, items)
            weights["previous pipeline (with LLM)"] = own.rank.weights() if own.rank else {}
    metrics = holdout.evaluate_rankers(split, rankers, progress=progress)
    info = {"users": len(users), "last": last, "catalog": len(split.catalog), "candidates": candidates, "seed": seed,
            "domain": domain, "model": scorer.name if scorer is not None else None, "collab": model.kind,
            "ease_lambda": lam if lam is not None else EASE_LAMBDA, "ease_lambdas_tried": list(ease_lambdas)}
    return CatalogReport(metrics, info, weights)
