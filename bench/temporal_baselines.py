"""bench/temporal.py's other rows: today's pipeline, EASE, popularity and liked genres on the same temporal
cut, the new films' own order, a paired bootstrap of the ratios, and the printed report. Every ranker scores the whole catalog
the cut knows (old and new films) for the same people, through engine.evaluation.holdout's helpers.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np

from db.catalog import items_by_source_id
from db.importers.movielens import clean_tag
from engine.collab.model import CollabModel
from engine.evaluation import holdout
from engine.evaluation.metrics import user_metrics
from engine.evaluation.sampled_ranking import RankRequest
from engine.evaluation.temporal_split import Cut, TagEvent
from engine.rank.signals import Signals
from engine.rank.stack import find_stack
from engine.vocab.describe import Vocabulary

from bench.common import print_table

K = 10


def tag_events(db, tags_csv: Path) -> list[TagEvent]:
    """ml-latest-small's tag applications with their times (the store keeps counts, not times)."""
    with open(tags_csv, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)]
    items = items_by_source_id(db, "movie", sorted({r["movieId"] for r in rows}))
    return [(items[r["movieId"]].id, clean_tag(r["tag"]), float(r["timestamp"])) for r in rows
            if r["movieId"] in items and clean_tag(r["tag"])]


def relevance_factory(films):
    """Describing words -> relevance over ids, read by the chat's own reader (engine.vocab.describe) against the
    tags known at the cut (a tag applied n times: 1 - 0.5 ** n, as db.knowledge.tag_relevance)."""
    tags: dict[str, dict[int, float]] = {}
    for f in films:
        for t, n in f.tags.items():
            tags.setdefault(t, {})[f.item_id] = 1.0 - 0.5 ** n
    vocab = Vocabulary(tags)

    def relevance_of(words: tuple[str, ...]):
        wants = [w for w in (vocab.want(x) for x in words) if w is not None]
        return lambda ids: vocab.score(wants, [], ids) if wants else np.zeros(len(ids))
    return relevance_of


def without_cold(model: CollabModel) -> CollabModel:
    """The same fit with no column for films nobody rated (EASE as it ranked before the cold map)."""
    return CollabModel(model.item_ids, model.weights, model.likes, model.seen, model.state, model.mark)


def baseline_rankers(sig: Signals, c: Cut, items: dict) -> dict:
    """Ranker per row name: RankRequest -> a score per catalog film."""
    model = sig.collab
    stack = find_stack(None, "movie", model.kind, "ml-latest-small")
    recent = lambda req: np.log1p(sig.recency.lookup(req.items)[1]) + 1e-3 * model.popularity(req.items)

    def genres(req):
        liked = [h.item_id for h in req.history if h.liked]
        return sig.content.genre_affinity(req.items, liked) + 1e-3 * model.popularity(req.items)
    out = {}
    if stack is not None:  # the shipped no-LLM stack over EASE retrieval (with the cold map): the product today
        out["today's pipeline without the LLM"] = holdout.pipeline_ranker(model, stack, None, "movie", 50, items)
    out.update({"EASE (with the cold map, as served)": holdout.ease_ranker(model),
                "EASE (rated films only)": holdout.ease_ranker(without_cold(model)),
                "popularity (all time)": holdout.popularity_ranker(model),
                "popularity (last 12 months)": recent,
                "liked genres": genres})
    return out


def score_users(rankers: dict, c: Cut, users: list[int]) -> dict[str, dict[int, dict]]:
    """Per ranker, per user: NDCG@10, Recall@10, and the later-liked new films its top 10 holds."""
    out: dict[str, dict[int, dict]] = {name: {} for name in rankers}
    for u in users:
        history = c.history.get(u, [])
        rated = {h.item_id for h in history}
        targets = set(c.later_likes(u)) - rated
        req = RankRequest(u, c.catalog, history)
        for name, score in rankers.items():
            top = holdout.ranked_items(score(req), c.catalog, rated)[:K]
            out[name][u] = top_metrics(top, targets, c.new)
    return out


def top_metrics(top: list[int], targets: set[int], new: frozenset[int]) -> dict:
    m = user_metrics(top, targets, K)
    return {"ndcg@10": m["ndcg@10"], "recall@10": m["recall@10"],
            "new_hits": sum(1 for i in top if i in targets and i in new), "new_liked": len(targets & new)}


def summary(per_user: dict[int, dict], users: list[int]) -> dict:
    rows = [per_user[u] for u in users if u in per_user]
    liked_new = sum(r["new_liked"] for r in rows)
    return {"users": len(rows), "ndcg@10": float(np.mean([r["ndcg@10"] for r in rows])) if rows else float("nan"),
            "recall@10": float(np.mean([r["recall@10"] for r in rows])) if rows else float("nan"),
            "new_in_top10": sum(r["new_hits"] for r in rows), "new_liked": liked_new,
            "new_share": sum(r["new_hits"] for r in rows) / liked_new if liked_new else float("nan")}


def bootstrap_ratio(a: dict[int, dict], b: dict[int, dict], users: list[int], n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A paired bootstrap over people of mean NDCG@10 (a) / mean NDCG@10 (b): the 5th and 95th percentiles."""
    rng = random.Random(seed)
    x = np.array([a[u]["ndcg@10"] for u in users])
    y = np.array([b[u]["ndcg@10"] for u in users])
    ratios = []
    for _ in range(n):
        idx = [rng.randrange(len(users)) for _ in users]
        den = y[idx].mean()
        if den > 0:
            ratios.append(x[idx].mean() / den)
    return float(np.percentile(ratios, 5)), float(np.percentile(ratios, 95))


def new_film_orders(c: Cut, sig: Signals, users: list[int], learned) -> dict[str, float]:
    """Among the new films only: mean NDCG@10 over each person's later-liked new films, for people with a
    history and such a like. `learned(u, ids)` -> the ranker's score of those films for u. The content model
    is bench/new_films.py's (the cold map's EASE from the likes), on this cut."""
    new_ids = np.array(sorted(set(c.new) & set(c.catalog.tolist())), dtype=np.int64)
    rows: dict[str, list[float]] = {"learned ranker": [], "content model (bench/new_films.py)": [], "liked genres": []}
    for u in users:
        history = c.history.get(u, [])
        liked = [h.item_id for h in history if h.liked]
        targets = set(c.later_likes(u)) & set(new_ids.tolist())
        if not liked or not targets:
            continue
        ids = new_ids[~np.isin(new_ids, [h.item_id for h in history])]
        scores = {"learned ranker": learned(u, ids),
                  "content model (bench/new_films.py)": sig.collab.ease_scores(liked, ids),
                  "liked genres": sig.content.genre_affinity(ids, liked)}
        for name, s in scores.items():
            top = [int(i) for i in ids[np.lexsort((ids, -np.asarray(s)))][:K]]
            rows[name].append(user_metrics(top, targets, K)["ndcg@10"])
    return {name: float(np.mean(v)) if v else float("nan") for name, v in rows.items()} | {
        "users": len(rows["liked genres"]), "new films": len(new_ids)}


def print_report(rep: dict, learned: str, today: str, ease: str) -> None:
    t = rep["table"]
    window = f"the last {rep['months']:g} months" + (f" before the final {rep['end_offset']:g}" if rep["end_offset"] else "")
    print(f"\nml-latest-small, temporal hold-out ({rep['date']}): {window} are the future; "
          f"{rep['users']['all']} people with a later like ({rep['users']['with_history']} with a history before it). "
          f"Ranker fitted on {rep['requests']['fit']} requests at {rep['inner_cuts']} earlier cuts in "
          f"{rep['fit_seconds']} s (2 threads); chosen on the 'for me' requests of the two latest inner cuts "
          "(rolling origin): "
          f"{rep['chosen']}")
    head = ["ranker", "NDCG@10", "Recall@10", "× today", "× EASE", "NDCG@10 with history", "× today", "no history",
            "new liked films in a top 10"]
    rows = []
    for name, part in t.items():
        a, h, n = part["all"], part["history"], part["none"]
        rows.append([name, f"{a['ndcg@10']:.4f}", f"{a['recall@10']:.4f}",
                     f"{a['ndcg@10'] / t[today]['all']['ndcg@10']:.2f}", f"{a['ndcg@10'] / t[ease]['all']['ndcg@10']:.2f}",
                     f"{h['ndcg@10']:.4f}", f"{h['ndcg@10'] / t[today]['history']['ndcg@10']:.2f}", f"{n['ndcg@10']:.4f}",
                     f"{a['new_in_top10']} / {a['new_liked']} ({a['new_share']:.3f})"])
    print_table(head, rows)
    print("90 % paired-bootstrap intervals of the learned ranker's NDCG@10 ratio: "
          + "; ".join(f"× {ref}: all {v['all'][0]:.2f}-{v['all'][1]:.2f}, with history {v['history'][0]:.2f}-"
                      f"{v['history'][1]:.2f}" for ref, v in rep["ci_90"].items()))
    nf = rep["new_films_only"]
    print(f"\nAmong the new films only ({nf['new films']} films, {nf['users']} people with a history and a later-liked "
          "new film): NDCG@10")
    print_table(["ranker", "NDCG@10"], [[k, f"{v:.4f}"] for k, v in nf.items() if k not in ("users", "new films")])
    print("\nThe test cut's requests by kind (learned ranker, NDCG@10): "
          + ", ".join(f"{k} {v:.4f}" for k, v in rep["kinds"].items()))
    full = t[learned]["all"]
    print("\nAblations (each refitted with the chosen settings; the test cut):")
    print_table(["ablation", "'for me' NDCG@10", "Recall@10", "Δ NDCG@10", "all kinds NDCG@10", "Δ"],
                [["none (the learned ranker)", f"{full['ndcg@10']:.4f}", f"{full['recall@10']:.4f}", "",
                  f"{rep['all_kinds']:.4f}", ""]]
                + [[n, f"{m['ndcg@10']:.4f}", f"{m['recall@10']:.4f}", f"{m['ndcg@10'] - full['ndcg@10']:+.4f}",
                    f"{m['all_kinds_ndcg@10']:.4f}", f"{m['all_kinds_ndcg@10'] - rep['all_kinds']:+.4f}"]
                   for n, m in rep["ablations"].items()])
    print("\nFeature importance (gain, top 10): " + ", ".join(
        f"{f} {g:.0f}" for f, g in list(rep["importance"].items())[:10]))
    print(f"total {rep['total_seconds']} s")
