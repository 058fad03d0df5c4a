"""The popularity knob: "hidden gems" (low), the default (any), "popular picks" (high).

    .venv/bin/python bench/popularity.py [--db STORE] [--users 200] [--json FILE]

ml-latest-small, each sampled user's last 5 ratings held out (engine.evaluation.holdout), the served path
without the LLM: retrieval (for "low": `gem_ranked`, a fifth of the candidates from the less-rated half; for
"high": the preference, engine.rank.retrieval.popularity_preference), the stack, the order answering the
request (engine.rank.recommend.answering; for "low": `with_gems`, half the top 10 from the less-rated half),
the support term kept. Per setting: the share of top-10 rows from the catalog's less-rated half
(engine.rank.retrieval.less_rated), the share of rows with fewer than 10 ratings, and NDCG@10 / Recall@10
against the held-out likes, same users, same run. The row "low, as a preference" is what "low" did before
(a relevance toward rarity, 0.2, the way "high" works): the alternative the share replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import mls_store, print_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: a temp store)")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from db import open_db
    from db.scoring import Score
    from db.snapshot import read_domain
    from engine.collab.model import CollabModel
    from engine.evaluation import holdout
    from engine.evaluation.metrics import user_metrics
    from engine.rank.handset import answering, candidate_table, is_cold, stack_scores
    from engine.rank.recommend import with_gems
    from engine.rank.retrieval import (POPULARITY, POPULARITY_PREFERENCE, Candidate, gem_ranked, less_rated,
                                       popularity_preference, rank_ids)
    from engine.rank.stack import find_stack

    db = open_db(mls_store(args.db))
    snap = read_domain(db, "movie")
    split = holdout.holdout_split(snap)
    _, eval_half = holdout.partition(split.users, 0)
    users = [hu for hu in holdout.sample_users(eval_half, args.users, 0) if hu.relevant]
    model = CollabModel.fit(split.train)
    stack = find_stack(None, "movie", model.kind, snap.dataset)
    catalog = [int(i) for i in split.catalog]
    counts = model.rating_counts(catalog)
    low_half = {i for i, low in zip(catalog, less_rated(model, catalog)) if low}
    most = max(counts[[i in low_half for i in catalog]])
    rare = {i for i, n in zip(catalog, counts) if n < 10}
    rows, report = [], {}
    for setting in ("low, as a preference", *POPULARITY):
        low_share, rare_share, ndcg, recall, med = [], [], [], [], []
        for hu in users:
            rated = {h.item_id for h in hu.history}
            ids = [i for i in catalog if i not in rated]
            liked = [h.item_id for h in hu.history if h.liked]
            if setting == "low, as a preference":
                pct = np.argsort(np.argsort(model.popularity(ids), kind="stable"), kind="stable") / max(1, len(ids) - 1)
                pref = POPULARITY_PREFERENCE * (1.0 - pct)
            else:
                pref = popularity_preference(model, ids, setting)
            gems: set[int] = set()
            if setting == "low":
                top50, gems = gem_ranked(model, ids, [""] * len(ids), liked, n=50)
            else:
                top50 = rank_ids(model, ids, liked, 50, relevance=pref if pref.any() else None)
            rel = dict(zip(ids, pref.tolist()))
            cands = [Candidate(snap.items[i], prior, relevance=rel[i], gem=i in gems) for i, prior in top50]
            table = candidate_table(model, hu.history, cands)
            _, key = stack_scores(stack, table, [Score(0.0, 0.0)] * len(cands), [c.prior for c in cands],
                                  is_cold(hu.history))
            key = answering(key, [c.relevance for c in cands])
            order = [cands[k].item.id for k in np.argsort(-np.asarray(key), kind="stable")]
            if gems:
                order = with_gems(order, 10, lambda i: i in gems)
            top = order[:10]
            low_share.append(np.mean([i in low_half for i in top]))
            rare_share.append(np.mean([i in rare for i in top]))
            med.append(float(np.median(model.rating_counts(top))))
            m = user_metrics(order, hu.relevant, 10)
            ndcg.append(m["ndcg@10"])
            recall.append(m["recall@10"])
        report[setting] = {"less-rated half share": float(np.mean(low_share)), "under 10 ratings share":
                           float(np.mean(rare_share)), "ndcg@10": float(np.mean(ndcg)), "recall@10": float(np.mean(recall)),
                           "median ratings of a top-10 row": float(np.median(med))}
    base = report["any"]["ndcg@10"]
    for setting, r in report.items():
        rows.append([setting, f"{r['less-rated half share']:.3f}", f"{r['under 10 ratings share']:.3f}",
                     f"{r['median ratings of a top-10 row']:.0f}", f"{r['ndcg@10']:.4f}",
                     f"{r['ndcg@10'] / base:.2f}x" if base else "-", f"{r['recall@10']:.4f}"])
    print(f"ml-latest-small, {len(users)} users of the evaluation half, last 5 ratings held out; the less-rated "
          f"half: films with <= {most:.0f} ratings; the stack without the LLM")
    print_table(["popularity", "top 10 from the less-rated half", "top 10 with < 10 ratings", "median ratings", "NDCG@10",
                 "× default", "Recall@10"], rows)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
