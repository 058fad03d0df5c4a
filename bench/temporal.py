"""One learned order (issue 52) on a temporal hold-out of ml-latest-small: the learned ranker (channels +
LightGBM LambdaRank) against today's pipeline without the LLM, EASE, popularity and liked genres.

    flock /tmp/heavy.lock .venv/bin/python bench/temporal.py [--db STORE] [--months 12] [--inner 8]
        [--cache DIR] [--out DIR] [--json FILE]

The last `--months` of the ratings are the future: every model knows only the ratings and tags before it,
and films first rated in it are new (no ratings, no tags). The ranker learns from requests built at `--inner`
earlier cuts, all on the fitting side (engine.evaluation.ltr_requests: "for me", "like X", describing words,
a genre). Validation is in time, as the test is: the latest inner cut's requests, ranked by models fitted on
the K cuts before it. Every setting (K, the union size, LightGBM's leaves, trees and learning rate, whether a
cold request keeps recent popularity's order) is chosen there on "for me" NDCG@10. The ranker then is refitted
with those settings on the latest cut too, and P(like) is calibrated on the validation model's out-of-time
keys (sklearn's CalibratedClassifierCV(ensemble=False) does the same). Reported, for each person with a like
in the future window: full-catalog NDCG@10 and Recall@10 over those likes, old and new films together, and
how many of the later-liked new films reach a top 10; the new films' own order; each channel and feature
group left out (refitted).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ltr_llm  # noqa: E402
from bench import temporal_baselines as tb  # noqa: E402
from bench.common import SHARED, mls_store  # noqa: E402
from db import open_db  # noqa: E402
from db.knowledge import film_facts  # noqa: E402
from db.snapshot import read_domain  # noqa: E402
from engine.evaluation import ltr_fit  # noqa: E402
from engine.evaluation.ltr_requests import KINDS, neighbourhood, requests_at  # noqa: E402
from engine.evaluation.temporal_split import fit_signals, rolling_cuts  # noqa: E402
from engine.rank.channels import CHANNELS, Sizes, channel_ranks, pick  # noqa: E402
from engine.rank.ltr import Params  # noqa: E402
from engine.rank.ltr_features import FEATURES, GROUPS, film_table  # noqa: E402
from engine.rank.signals import MONTH  # noqa: E402

MAX_SIZES = Sizes(collab=200, seeds=100, content=200, words=100, popular=60)
SIZE_FACTORS = (0.25, 0.5, 1.0)
EARLIER = (3, 5, 7)  # K: how many cuts before a validation cut the ranker learns from
FOLDS = (0, 1)  # the validation cuts: the two latest inner cuts
LEAVES, RATES, TREES = (15, 31, 63), (0.05, 0.1), (100, 200, 400, 800)


def choose(rows, cut_of, valid_me, seed, log) -> tuple[int, Sizes, Params, list, dict]:
    """K and the union size (default LightGBM settings), then leaves x learning rate x trees, then the cold
    rule, each on "for me" NDCG@10 pooled over the FOLDS validation cuts, each cut ranked by a model fitted
    on the K cuts before it (the other kinds teach the seed and word features)."""
    tried, best = {}, None

    def folds(k, sizes, params):
        return [ltr_fit.fit(rows, np.flatnonzero((cut_of > j) & (cut_of <= j + k)), sizes, params, seed=seed)
                for j in FOLDS]

    def pooled(rankers, sizes, key):
        per = {}
        for r, j in zip(rankers, FOLDS):
            per.update(ltr_fit.metrics(rows, valid_me[j], sizes, lambda t: key(r, t)))
        return ltr_fit.mean(per)
    for k in EARLIER:
        for f in SIZE_FACTORS:
            sizes = MAX_SIZES.scaled(f)
            got = tried[f"K {k} sizes x{f}"] = pooled(folds(k, sizes, Params()), sizes, lambda r, t: r.score(t))
            log(f"  K {k}, union sizes x{f}: validation NDCG@10 {got:.4f}")
            if best is None or got > best[0]:
                best = (got, k, sizes)
    _, k, sizes = best
    best = None
    for leaves in LEAVES:
        for rate in RATES:
            rankers = folds(k, sizes, Params(leaves, max(TREES), rate))
            for trees in TREES:
                got = tried[f"leaves {leaves} rate {rate} trees {trees}"] = pooled(
                    rankers, sizes, lambda r, t: r.score(t, trees))
                if best is None or got > best[0]:
                    best = (got, Params(leaves, trees, rate))
            log(f"  leaves {leaves} rate {rate}: validation NDCG@10 by trees "
                + " ".join(f"{n}:{tried[f'leaves {leaves} rate {rate} trees {n}']:.4f}" for n in TREES))
    params = best[1]
    rankers = folds(k, sizes, params)
    for rule in (False, True):
        for r in rankers:
            r.cold_popular = rule
        tried[f"cold requests keep recent popularity: {rule}"] = pooled(rankers, sizes, lambda r, t: r.key(t))
    off, on = (tried[f"cold requests keep recent popularity: {rule}"] for rule in (False, True))
    log(f"  cold rule: {off:.4f} off, {on:.4f} on")
    for r in rankers:
        r.cold_popular = on > off
    return k, sizes, params, rankers, tried


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: a temp import)")
    ap.add_argument("--tags", type=Path, default=SHARED / "ml-latest-small" / "tags.csv", help="tags.csv (times)")
    ap.add_argument("--months", type=float, default=12.0)
    ap.add_argument("--end-offset", type=float, default=0.0,
                    help="months cut off the end first: the same protocol on an earlier test window")
    ap.add_argument("--inner", type=int, default=9, help="earlier cuts (validation and fitting)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None, help="keep each cut's collaborative fit here")
    ap.add_argument("--out", type=Path, default=None, help="save the fitted ranker (model text + JSON) here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--holdout-users", type=int, default=0, metavar="N",
                    help="also learn from N people of the hold-out split's fit half (engine.evaluation.ltr_holdout), "
                         "if validation says so")
    ap.add_argument("--llm", type=int, default=0, metavar="K",
                    help="also measure the LLM's P(Yes) over the ranker's top K of 'for me' requests (bench/ltr_llm.py)")
    args = ap.parse_args()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    t_start = time.perf_counter()

    db = open_db(mls_store(args.db), create=False)
    snap = read_domain(db, "movie")
    films = film_facts(db, "movie")
    events = tb.tag_events(db, args.tags) if args.tags.exists() else None
    end = max(h.ts for e in snap.timelines.values() for h in e) - args.end_offset * MONTH
    test, inner = rolling_cuts(snap.timelines, films, end, args.months, args.inner)
    cuts = [*inner, test]
    signals, known = [], []
    for c in tqdm(cuts, desc="collaborative fit per cut", file=sys.stderr):
        s, k = fit_signals(c, films, events, args.cache)
        signals.append(s)
        known.append(k)
    requests = [r for k, c in enumerate(inner) for r in
                requests_at(k, c, known[k], tb.relevance_factory(known[k]), seed=args.seed,
                            near=neighbourhood(signals[k], c.catalog))]
    test_requests = requests_at(len(inner), test, known[-1], tb.relevance_factory(known[-1]), seed=args.seed,
                                near=neighbourhood(signals[-1], test.catalog))
    everything = requests + test_requests
    with tqdm(total=len(everything), desc="candidates and features", file=sys.stderr) as bar:
        rows = ltr_fit.build_rows(everything, signals, [c.catalog for c in cuts], MAX_SIZES, bar.update)
    cut_of = np.array([r.cut for r in everything])  # inner cut k: k + 1 windows before the test window
    cut_of[len(requests):] = -1
    if args.holdout_users:
        hold_rows, hold_valid = holdout_rows(snap, films, args.holdout_users, args.seed, log)
        rows = ltr_fit.merge(rows, hold_rows)
        everything = rows.requests
        cut_of = np.concatenate([cut_of, np.where(hold_valid, HOLD_VALID, HOLD_FIT)])
    kind_of = np.array([r.kind for r in everything])
    valid_req = np.flatnonzero(cut_of == 0)  # what P(like) is calibrated on
    valid_me = {j: np.flatnonzero((cut_of == j) & (kind_of == "for me")) for j in FOLDS}
    test_req = np.flatnonzero(cut_of == -1)
    test_me = test_req[kind_of[test_req] == "for me"]
    log(f"{len(requests)} requests at {len(inner)} inner cuts ({len(valid_req)} at the latest), "
        f"{len(test_requests)} at the test cut; {len(rows.label):,} candidate rows")

    k, sizes, params, folds, tried = choose(rows, cut_of, valid_me, args.seed, log)
    chosen = folds[0]  # fitted on the K cuts before the latest: its keys there are out of time
    fit_req = np.flatnonzero((cut_of >= 0) & (cut_of <= k))
    mixing = None
    if args.holdout_users:
        chosen, mixing = choose_mixing(rows, cut_of, kind_of, k, sizes, params, chosen, args.seed, log)
        if mixing["mixed"]:
            fit_req = np.concatenate([fit_req, np.flatnonzero(cut_of == HOLD_FIT)])
    refit = lambda s=sizes, f=FEATURES: ltr_fit.fit(rows, fit_req, s, params, f, seed=args.seed)
    t0 = time.perf_counter()
    ranker = refit()
    fit_s = time.perf_counter() - t0
    ranker.cold_popular = chosen.cold_popular
    keys, labels, cold = ltr_fit.calibration_rows(chosen, rows, valid_req, sizes)
    ranker.calibrate(keys, labels, cold)
    ranker.fitted_on = {"dataset": "ml-latest-small", "months": args.months, "cuts": k + 1,
                        "requests": int(len(fit_req)), "sizes": sizes.__dict__, "params": params.__dict__,
                        "holdout_people": args.holdout_users if mixing and mixing["mixed"] else 0}
    if args.out:
        ranker.save(args.out)

    # ------------------------------------------------------------- the test cut
    users = sorted({everything[k].user_id for k in test_me})
    per = {"learned ranker (channels + LightGBM)": {
        everything[k].user_id: tb.top_metrics(top, set(everything[k].targets), test.new)
        for k, top in top_lists(rows, test_me, sizes, ranker.key).items()}}
    log("baselines on the test cut…")
    per.update(tb.score_users(tb.baseline_rankers(signals[-1], test, snap.items), test, users))
    with_history = [u for u in users if test.history.get(u)]
    table = {name: {"all": tb.summary(p, users), "history": tb.summary(p, with_history),
                    "none": tb.summary(p, [u for u in users if u not in with_history])} for name, p in per.items()}
    learned = "learned ranker (channels + LightGBM)"
    today = "today's pipeline without the LLM"
    ease = max(("EASE (with the cold map, as served)", "EASE (rated films only)"), key=lambda n: table[n]["all"]["ndcg@10"])
    ci = {ref: {part: tb.bootstrap_ratio(per[learned], per[ref], us, seed=args.seed)
                for part, us in (("all", users), ("history", with_history))} for ref in (today, ease) if ref in per}

    def learned_scores(u, ids):
        """The ranker's score of `ids` for u's "for me" request, channel flags as the full union gives them."""
        r = next(everything[k] for k in test_me if everything[k].user_id == u)
        t = film_table(signals[-1], r.ask, test.catalog[~np.isin(test.catalog, list(r.exclude))])
        rows_in, flags = pick(channel_ranks(t, sizes), sizes)
        for f, v in flags.items():
            t[f] = np.zeros(len(t["ids"]))
            t[f][rows_in] = v
        at = np.searchsorted(t["ids"], ids)
        return ranker.key({k: v[at] for k, v in t.items()})
    new_only = tb.new_film_orders(test, signals[-1], with_history, learned_scores)

    ablations = {}
    both = lambda r, s=sizes: (ltr_fit.metrics(rows, test_me, s, r.key), ltr_fit.metrics(rows, test_req, s, r.key))
    for c in CHANNELS:
        r = refit(sizes.without(c))
        r.cold_popular = ranker.cold_popular
        ablations[f"channel off: {c}"] = both(r, sizes.without(c))
    for g, names in GROUPS.items():
        r = refit(f=tuple(f for f in FEATURES if f not in names))
        r.cold_popular = ranker.cold_popular
        ablations[f"features off: {g}"] = both(r)
    ranker.cold_popular = not ranker.cold_popular
    ablations[f"cold requests keep recent popularity: {ranker.cold_popular}"] = both(ranker)
    ranker.cold_popular = not ranker.cold_popular
    kinds = {kind: ltr_fit.mean(ltr_fit.metrics(rows, test_req[kind_of[test_req] == kind], sizes, ranker.key))
             for kind in KINDS if (kind_of[test_req] == kind).any()}
    report = {"date": date.today().isoformat(), "months": args.months, "end_offset": args.end_offset,
              "inner_cuts": k + 1, "seed": args.seed,
              "requests": {"fit": len(fit_req), "validation": len(valid_req), "test": len(test_req)},
              "users": {"all": len(users), "with_history": len(with_history)}, "fit_seconds": round(fit_s, 1),
              "chosen": {"K": k, "sizes": sizes.__dict__, "params": params.__dict__,
                         "cold_popular": ranker.cold_popular}, "validation": tried,
              "table": table, "ci_90": ci, "new_films_only": new_only, "kinds": kinds,
              "all_kinds": ltr_fit.mean(ltr_fit.metrics(rows, test_req, sizes, ranker.key)),
              "ablations": {n: {"ndcg@10": ltr_fit.mean(m), "recall@10": ltr_fit.mean(m, "recall@10"),
                                "all_kinds_ndcg@10": ltr_fit.mean(a)} for n, (m, a) in ablations.items()},
              "holdout_mixing": mixing, "importance": ranker.importance(), "platt": ranker.platt, "cold_platt": ranker.cold_platt,
              "total_seconds": round(time.perf_counter() - t_start, 1)}
    tb.print_report(report, learned, today, ease)
    if args.llm:
        log(f"the LLM over the top {args.llm}…")
        report["llm"] = ltr_llm.ablation(args.llm, rows, sizes, everything, valid_me[0], test_me, chosen, ranker,
                                         cuts, signals, snap.items, log)
        ltr_llm.print_ablation(report["llm"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


HOLD_FIT, HOLD_VALID = -2, -3  # cut_of of the hold-out requests: fitting, validation


def holdout_rows(snap, films, n: int, seed: int, log):
    """Rows of hold-out requests (engine.evaluation.ltr_holdout) from `n` people of the fit half of eval-catalog's
    partition (seed 0), a quarter of them kept for validation; and which rows' requests are validation's."""
    from engine.evaluation.ltr_holdout import holdout_rows as build

    log(f"hold-out requests: {n} people of the fit half; fitting its EASE…")
    with tqdm(desc="hold-out candidates", file=sys.stderr) as bar:
        hold = build(snap, films, n, seed, MAX_SIZES, bar.update)
    log(f"  {hold.people} people ({hold.n_valid} for validation), {len(hold.rows.requests)} requests")
    return hold.rows, hold.valid


def choose_mixing(rows, cut_of, kind_of, k, sizes, params, chosen, seed, log):
    """Whether the hold-out requests join the fit: the latest inner cut's model (fitted on the K cuts before it,
    with or without the hold-out fitting requests) scored on both validations' "for me" requests, pooled."""
    temporal = np.flatnonzero((cut_of == FOLDS[0]) & (kind_of == "for me"))
    hold = np.flatnonzero((cut_of == HOLD_VALID) & (kind_of == "for me"))
    base = np.flatnonzero((cut_of > FOLDS[0]) & (cut_of <= FOLDS[0] + k))
    got = {}
    models = {}
    for mixed in (False, True):
        fit_on = np.concatenate([base, np.flatnonzero(cut_of == HOLD_FIT)]) if mixed else base
        m = chosen if not mixed else ltr_fit.fit(rows, fit_on, sizes, params, seed=seed)
        m.cold_popular = chosen.cold_popular
        models[mixed] = m
        t = ltr_fit.mean(ltr_fit.metrics(rows, temporal, sizes, m.key))
        h = ltr_fit.mean(ltr_fit.metrics(rows, hold, sizes, m.key))
        got[mixed] = {"temporal validation": t, "hold-out validation": h, "mean": (t + h) / 2}
        log(f"  hold-out requests in the fit: {mixed}: temporal validation {t:.4f}, hold-out validation {h:.4f}")
    mixed = got[True]["mean"] > got[False]["mean"]
    return models[mixed], {"mixed": bool(mixed), "validation": {str(m): v for m, v in got.items()}}


def top_lists(rows, requests, sizes, score) -> dict[int, list[int]]:
    table, _, req = rows.select(sizes, requests)
    s = score(table)
    out = {}
    for k in requests:
        at = np.flatnonzero(req == k)
        out[int(k)] = [int(i) for i in table["ids"][at[np.lexsort((table["ids"][at], -s[at]))][:tb.K]]]
    return out


if __name__ == "__main__":
    main()
