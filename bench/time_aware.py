"""Does a collaborative signal that knows time help? Popularity and EASE with likes weighted by their age.

    .venv/bin/python bench/time_aware.py --db STORE [--dataset ml-latest-small] [--half-lives 0,365,730,1460]
        [--users 200]

The full-catalog hold-out of `engine eval-catalog` (every user's last 5 ratings hidden). A like's weight
in the liked matrix is 0.5 ** (age / half-life), its age counted back from the newest training rating;
half-life 0 = no decay (what serves). Popularity gets the same weights (recent popularity). The half-life
is chosen on users of the fit half (validation) and reported on the evaluation half, both in this run,
beside the undecayed models of the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DAY, age_weights, print_table, timed_holdout  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--half-lives", default="0,365,730,1460", help="days; 0 = no decay")
    ap.add_argument("--users", type=int, default=200)
    args = ap.parse_args()

    from db.feedback import Feedback
    from engine.evaluation import holdout
    from engine.collab.model import CollabModel

    snap, split, fit_half, eval_half, ts = timed_holdout(args.db, args.dataset, args.users)
    halves = {"validation (fit half)": fit_half, "test (evaluation half)": eval_half}
    train = split.train
    newest = float(ts.max())
    items = np.unique(train.items)
    span = (newest - float(ts.min())) / DAY / 365.25
    rows = []
    for hl in (float(x) for x in args.half_lives.split(",")):
        w = age_weights(ts, hl, newest)
        weighted = Feedback(train.users, train.items, train.liked * w)
        model = CollabModel.fit(weighted, item_ids=items)
        pop_w = np.bincount(model.columns(train.items), weights=w, minlength=len(items))

        def popularity(req, pop_w=pop_w, model=model):
            return np.log1p(pop_w[np.maximum(model.columns(req.items), 0)])

        for half, users in halves.items():
            got = holdout.evaluate_rankers(holdout.HoldoutSplit(train, users, split.catalog),
                                           {"ease": holdout.ease_ranker(model), "popularity": popularity})
            for name, m in got.items():
                rows.append([half, name, "none" if hl == 0 else f"{hl:g} days", f"{m['recall@10']:.4f}",
                             f"{m['ndcg@10']:.4f}"])
    base = {(r[0], r[1]): float(r[4]) for r in rows if r[2] == "none"}
    for r in rows:
        r.append(f"{float(r[4]) / base[(r[0], r[1])]:.3f}" if base[(r[0], r[1])] else "")
    print_table(["users", "model", "half-life", "Recall@10", "NDCG@10", "/ no decay"], rows)
    print(f"{snap.dataset}: ratings span {span:.1f} years; {len(train.items):,} training ratings")


if __name__ == "__main__":
    main()
