"""What does a stale collaborative model cost? NDCG@10 of EASE fitted without the newest share of ratings.

    .venv/bin/python bench/refit_share.py --db STORE [--dataset NAME] [--shares 0,0.02,0.05,0.1,0.2] [--users 200]

The full-catalog hold-out of `engine eval-catalog` (every user's last 5 ratings hidden, the same users).
Row 0 is the model refitted on every training rating; each other row leaves out the newest `share` of
the training ratings by time (what a model fitted before they arrived would have missed), while the
users' histories at request time still hold them (fold-in, as the chat serves). The ratio column is
against the fresh fit of the same run: what REFIT_SHARE (engine.collab.cache) trades for not refitting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table, timed_holdout  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--shares", default="0,0.02,0.05,0.1,0.2")
    ap.add_argument("--users", type=int, default=200)
    args = ap.parse_args()

    from db.feedback import Feedback
    from engine.evaluation import holdout
    from engine.collab.model import CollabModel

    snap, split, _, users, ts = timed_holdout(args.db, args.dataset, args.users)
    evaluated = holdout.HoldoutSplit(split.train, users, split.catalog)
    train = split.train
    order = np.argsort(ts, kind="stable")
    rows, base = [], None
    for share in (float(s) for s in args.shares.split(",")):
        keep = np.sort(order[: len(order) - int(round(share * len(order)))])
        model = CollabModel.fit(Feedback(train.users[keep], train.items[keep], train.liked[keep]),
                                item_ids=np.unique(train.items))
        got = holdout.evaluate_rankers(evaluated, {"ease": holdout.ease_ranker(model)})["ease"]
        base = got["ndcg@10"] if base is None else base
        rows.append([f"{share:.0%}", f"{len(keep):,}", f"{got['recall@10']:.4f}", f"{got['ndcg@10']:.4f}",
                     f"{got['ndcg@10'] / base:.3f}"])
    print_table(["newest ratings missed", "fitted on", "Recall@10", "NDCG@10", "NDCG@10 / fresh fit"], rows)
    print(f"{len(users)} users of the evaluation half, {snap.dataset}")


if __name__ == "__main__":
    main()
