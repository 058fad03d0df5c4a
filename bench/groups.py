"""Movie night: one list for a group, by each aggregation strategy, against one member's own list.

    .venv/bin/python bench/groups.py [--db STORE] [--groups 60] [--seed 0] [--json FILE]

Synthetic groups from ml-latest-small users, the way group-recommendation papers build them: random
pairs, random triples, and similar pairs (each sampled user with the other user whose liked films
overlap theirs most, Jaccard). Each member's last 5 ratings are held out (engine.evaluation.holdout);
every member's scores come from the served order (the learned ranker's P(like), engine.rank.group) and,
beside them, from the previous order (retrieval, the stack without the LLM); films any member rated are left out, and each strategy's top 10 is scored for every member: NDCG@10 against that
member's held-out likes. Reported per group kind: the mean over members and the minimum over members
(the least satisfied member matters), beside recommending for one random member only and popularity,
same split, same run; and how far each list's minimum is from the shipped strategy's, as a 95 % interval
from a paired bootstrap over the groups (most minima are 0: a gap of a few hits is noise).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import mls_store, print_table  # noqa: E402


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def make_groups(users: list, n: int, rng) -> dict[str, list[list]]:
    liked = {hu.user_id: {h.item_id for h in hu.history if h.liked} for hu in users}
    out = {"random pairs": [], "random triples": [], "similar pairs": []}
    for _ in range(n):
        out["random pairs"].append(list(rng.choice(users, 2, replace=False)))
        out["random triples"].append(list(rng.choice(users, 3, replace=False)))
        a = users[rng.integers(len(users))]
        b = max((u for u in users if u.user_id != a.user_id), key=lambda u: jaccard(liked[a.user_id], liked[u.user_id]))
        out["similar pairs"].append([a, b])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: a temp store)")
    ap.add_argument("--groups", type=int, default=60, help="groups of each kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from db import open_db
    from db.snapshot import read_domain
    from engine.collab.model import CollabModel
    from engine.evaluation import holdout
    from engine.evaluation.metrics import user_metrics
    from engine.rank.group import DEFAULT_STRATEGY, STRATEGIES, aggregate
    from engine.rank.stack import find_stack

    db = open_db(mls_store(args.db))
    snap = read_domain(db, "movie")
    split = holdout.holdout_split(snap)
    users = [hu for hu in split.users if hu.relevant]
    model = CollabModel.fit(split.train)
    stack = find_stack(None, "movie", model.kind, snap.dataset)
    catalog = split.catalog
    from db.scoring import Score
    from engine.rank.handset import candidate_table, is_cold, stack_scores
    from engine.rank.retrieval import Candidate

    def pool_of(members, rated) -> np.ndarray:
        """The group's candidates: each member's top 50 by retrieval, none any member rated."""
        ids: list[int] = []
        for hu in members:
            _, order = holdout.retrieved(model, hu.history, catalog, 50 + len(rated))
            ids += [int(catalog[k]) for k in order if int(catalog[k]) not in rated][:50]
        return np.array(sorted(set(ids)), dtype=np.int64)

    def member_key(hu, pool: np.ndarray) -> np.ndarray:
        """What orders the member's own list (the stack's rank head x support), over the group's pool."""
        cands = [Candidate(snap.items[int(i)], float(p)) for i, p in zip(pool, model.ease_scores(
            [h.item_id for h in hu.history if h.liked], pool))]
        table = candidate_table(model, hu.history, cands)
        _, key = stack_scores(stack, table, [Score(0.0, 0.0)] * len(cands), [c.prior for c in cands],
                              is_cold(hu.history))
        return np.asarray(key)
    from db.knowledge import film_facts
    from engine.rank.group import Member, member_p_like
    from engine.rank.served import choose_ranker

    events = holdout.visible_events(snap)
    order = holdout.served_order(events, model, film_facts(db, "movie"), choose_ranker(snap.dataset).ranker)

    def member_p(hu, pool: np.ndarray) -> np.ndarray:
        """The member's P(like) from the learned ranker (what orders their own list now), over the group's pool,
        asked at the member's own time (their latest visible rating), as eval-catalog's learned-ranker row."""
        mine = order.as_of(*events, max(h.ts for h in hu.history) + 1.0)
        cands = [Candidate(snap.items[int(i)], 0.0) for i in pool]
        return member_p_like(mine, Member(str(hu.user_id), tuple(hu.history)), cands)

    rng = np.random.default_rng(args.seed)
    groups = make_groups(users, args.groups, rng)
    report, rows = {}, []
    for kind, members_of in groups.items():
        per: dict[str, list[tuple[float, float]]] = {}
        for members in members_of:
            rated = {h.item_id for hu in members for h in hu.history}
            pool = pool_of(members, rated)
            scores = [member_key(hu, pool) for hu in members]
            lists = {f"{s} (previous order)": aggregate(scores, s) for s in STRATEGIES}
            one = rng.integers(len(members))
            lists["one random member's own list (previous order)"] = scores[one]
            learned = [member_p(hu, pool) for hu in members]
            lists.update({s: aggregate(learned, s) for s in STRATEGIES})
            lists["one random member's own list"] = learned[one]
            lists["popularity"] = model.popularity(pool)
            for name, s in lists.items():
                top = [int(pool[k]) for k in np.argsort(-s, kind="stable")]
                ndcg = [user_metrics(top, hu.relevant, 10)["ndcg@10"] for hu in members]
                per.setdefault(name, []).append((float(np.mean(ndcg)), float(np.min(ndcg))))
        one = np.mean([m for m, _ in per["one random member's own list"]])
        best_min = max(np.mean([lo for _, lo in v]) for k, v in per.items() if k in STRATEGIES)
        one_before = np.mean([m for m, _ in per["one random member's own list (previous order)"]])
        report[kind] = {}
        shipped = np.array([lo for _, lo in per[DEFAULT_STRATEGY]])
        resample = np.random.default_rng(args.seed).integers(len(shipped), size=(2000, len(shipped)))
        for name, v in per.items():
            mean, low = float(np.mean([m for m, _ in v])), float(np.mean([lo for _, lo in v]))
            gap = (np.array([lo for _, lo in v]) - shipped)[resample].mean(axis=1)  # paired, over the same groups
            lo95, hi95 = (float(x) for x in np.percentile(gap, [2.5, 97.5]))
            report[kind][name] = {"mean member ndcg@10": mean, "min member ndcg@10": low,
                                  "min minus the shipped strategy's, 95% interval": [lo95, hi95]}
            ref = one_before if "previous" in name else one
            rows.append([kind, name, f"{mean:.4f}", f"{mean / ref:.2f}x" if ref else "-", f"{low:.4f}",
                         f"{low / best_min:.2f}" if best_min else "-",
                         "-" if name == DEFAULT_STRATEGY else f"{lo95:+.4f} .. {hi95:+.4f}"])
    print(f"ml-latest-small, {args.groups} groups of each kind, last 5 ratings of every member held out; "
          f"collaborative model {model.kind.upper()}; each member's scores: the learned ranker's P(like) (engine.rank.group), "
          f"and the previous order (the stack without the LLM) beside it; × one member's list: of the same order")
    print_table(["groups", "list", "mean member NDCG@10", "× one member's list", "min member NDCG@10",
                 "min / best strategy's min", f"min − {DEFAULT_STRATEGY}'s (paired bootstrap, 95 %)"], rows)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
