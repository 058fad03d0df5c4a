"""Films nobody has rated yet: a temporal cold start on ml-latest-small, and where such films land in the
served ranking.

    .venv/bin/python bench/new_films.py [--db STORE] [--months 24] [--llm-users 0] [--json FILE]

Every film whose first rating falls in the last `--months` of the data is treated as released after the
ratings: all its ratings are hidden from the collaborative model, the like-rates, the popularity and the
tags (what IMDb would know at release is genres, year, title and people; there are no people offline,
and ml-latest-small has no genome). Users who rated such films keep their earlier history. For each user
with a liked new film, rank all the new films:

- content model: the collaborative model's columns borrowed from each new film's content neighbours
  (engine.collab.content), the served model;
- the same with one feature group left out (the ablations; groups with no data offline say so);
- the person's liked genres (cosine between the film's genres and the genres of the films they liked);
- title / franchise similarity alone (the best title match to a film they liked);
- popularity as the content model estimates it (no ratings: the neighbours' popularity);
- the LLM's P(Yes) (--llm-users N: that many users, on the new films they rated: AUC only);
- random; and, as a leaking ceiling only, each film's rating count in the whole file (for these films it
  is the held-out window itself).
AUC (per user, their liked against their other rated new films, averaged) and NDCG@10 (over all new
films, relevant = liked), same users, same run.

Tuning: the content model's settings were chosen on the window before (`--tune`: films first rated in the
`--months` before the cut, with everything after the cut removed), never on the reported window.

Then the full-catalog view: for the same users, the served pipeline without the LLM (retrieval, the
stack) over every film they have not rated, old and new: how many held-out new films reach the top 10,
with the cold map (after) and without it (today: a new film has no column and scores 0).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import mls_store, print_table  # noqa: E402

DAY = 86400.0


@dataclass
class Window:
    """One temporal cold start: the ratings the models see, the new films, the users to rank for."""

    train_users: np.ndarray
    train_items: np.ndarray
    train_liked: np.ndarray
    new: set[int]
    truth: dict[int, dict[int, bool]]  # user -> new film -> liked
    history: dict[int, list]  # user -> their Interactions on old films before the end (time order)


def cut_window(timelines: dict, end: float, months: int) -> Window:
    """Films first rated in (end - months, end] are new; ratings after `end` do not exist."""
    start = end - months * 30.44 * DAY
    first: dict[int, float] = {}
    for events in timelines.values():
        for h in events:
            if h.ts <= end:
                first[h.item_id] = min(first.get(h.item_id, math.inf), h.ts)
    new = {i for i, t in first.items() if t > start}
    users, items, liked, truth, history = [], [], [], {}, {}
    for u, events in timelines.items():
        for h in events:
            if h.ts > end:
                continue
            if h.item_id in new:
                truth.setdefault(u, {})[h.item_id] = bool(h.liked)
            else:
                users.append(u)
                items.append(h.item_id)
                liked.append(int(h.liked))
                history.setdefault(u, []).append(h)
    truth = {u: t for u, t in truth.items() if any(t.values()) and history.get(u)}
    return Window(np.array(users), np.array(items), np.array(liked), new, truth, history)


def collab_for(win: Window):
    from db.feedback import Feedback
    from engine.collab.model import CollabModel

    return CollabModel.fit(Feedback(win.train_users, win.train_items, win.train_liked))


def films_for(all_films: list, win: Window) -> list:
    """What is known at the cut: a new film's tags are hidden (applied after its release)."""
    return [replace(f, tags={}) if f.item_id in win.new else f for f in all_films]


def auc_of(scores: dict[int, float], truth: dict[int, bool]) -> float | None:
    pos = [scores[i] for i, y in truth.items() if y]
    neg = [scores[i] for i, y in truth.items() if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ndcg_at(scores: np.ndarray, ids: np.ndarray, liked: set[int], k: int = 10) -> float:
    order = ids[np.argsort(-scores, kind="stable")][:k]
    dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(order) if int(i) in liked)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(liked))))
    return dcg / ideal if ideal else 0.0


def evaluate(rankers: dict, win: Window, new_ids: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean per-user AUC (users with both classes) and NDCG@10 over all new films, per ranker."""
    out = {}
    for name, fn in rankers.items():
        aucs, ndcgs = [], []
        for u, truth in win.truth.items():
            scores = fn(u)
            if scores is None:
                continue
            by_id = dict(zip(new_ids.tolist(), scores.tolist()))
            a = auc_of(by_id, truth)
            if a is not None:
                aucs.append(a)
            ndcgs.append(ndcg_at(scores, new_ids, {i for i, y in truth.items() if y}))
        out[name] = {"auc": float(np.mean(aucs)) if aucs else float("nan"),
                     "ndcg@10": float(np.mean(ndcgs)) if ndcgs else float("nan"), "users": len(ndcgs)}
    return out


def content_ranker(model, cold, win: Window):
    """A user's score for each new film: the cold map's weighted mean of their collaborative scores."""
    def score(u: int) -> np.ndarray:
        liked = [h.item_id for h in win.history[u] if h.liked]
        base = model.user_scores(liked)
        return (cold.weights * base[cold.neighbours]).sum(axis=1)
    return score


def genre_ranker(films_by_id: dict, win: Window, new_ids: np.ndarray):
    def score(u: int) -> np.ndarray:
        prof: dict[str, float] = {}
        for h in win.history[u]:
            if h.liked:
                for g in films_by_id[h.item_id].genres:
                    prof[g] = prof.get(g, 0.0) + 1.0
        norm = math.sqrt(sum(v * v for v in prof.values())) or 1.0
        out = []
        for i in new_ids:
            gs = films_by_id[int(i)].genres
            out.append(sum(prof.get(g, 0.0) for g in gs) / (norm * math.sqrt(len(gs))) if gs else 0.0)
        return np.array(out)
    return score


def title_ranker(all_films: list, win: Window, new_ids: np.ndarray):
    from engine.collab.content import ContentWeights, feature_matrix

    only_title = ContentWeights(**{g: 0.0 for g in ("genres", "tags", "genome", "people", "year", "runtime")}, title=1.0)
    X = feature_matrix(all_films, only_title)
    row = {f.item_id: r for r, f in enumerate(all_films)}
    N = X[[row[int(i)] for i in new_ids]]

    def score(u: int) -> np.ndarray:
        liked = [row[h.item_id] for h in win.history[u] if h.liked]
        if not liked:
            return np.zeros(len(new_ids))
        return (N @ X[liked].T).max(axis=1).toarray().ravel()
    return score


def llm_auc(win: Window, model, items: dict, n_users: int) -> dict[str, float]:
    """The LLM's P(Yes) for each user's rated new films (history: their last ratings of old films): mean AUC."""
    from engine.llm.backends import open_scorer

    scorer = open_scorer(None)
    aucs, prompts = [], 0
    for u, truth in list(win.truth.items())[:n_users]:
        ids = list(truth)
        rates = model.like_rate(np.array(ids))
        scores = scorer.score([scorer.prompts.for_user("movie", win.history[u], items[i], float(r))
                               for i, r in zip(ids, rates)])
        prompts += len(ids)
        a = auc_of({i: s.p_yes for i, s in zip(ids, scores)}, truth)
        if a is not None:
            aucs.append(a)
    return {"auc": float(np.mean(aucs)) if aucs else float("nan"), "users": len(aucs), "prompts": prompts}


def full_catalog(win: Window, served, today, items: dict, catalog: np.ndarray) -> dict[str, dict[str, float]]:
    """The served pipeline without the LLM over every film each user has not rated: new films in the top 10."""
    from engine.evaluation import holdout
    from engine.rank.stack import find_stack

    stack = find_stack(None, "movie", served.kind, "ml-latest-small")
    out = {}
    for name, model in (("today: new films have no column", today), ("with the cold map", served)):
        rankers = {"EASE retrieval": holdout.ease_ranker(model)}
        if stack is not None:
            rankers["pipeline without the LLM (stack)"] = holdout.pipeline_ranker(model, stack, None, "movie", 50, items)
        for rname, score in rankers.items():
            shown = hits = users_with = 0
            for u, truth in win.truth.items():
                history = win.history[u]
                req = holdout.RankRequest(u, catalog, history)
                top = holdout.ranked_items(score(req), catalog, [h.item_id for h in history])[:10]
                new_in = [i for i in top if i in win.new]
                shown += len(new_in)
                users_with += bool(new_in)
                hits += sum(1 for i in new_in if truth.get(i))
            out[f"{rname}, {name}"] = {"new films in top 10 (all users)": shown,
                                       "users with a new film in top 10": users_with,
                                       "liked new films in top 10 (hits)": hits, "users": len(win.truth)}
    return out


def tune(all_films, timelines, end, months, grid) -> tuple[dict, list]:
    """Choose (weights, K, power) on the window before `end`: mean NDCG@10 of the content ranker there."""
    from engine.collab.content import fit_cold_map

    win = cut_window(timelines, end, months)
    films = films_for([f for f in all_films], win)
    model = collab_for(win)
    new_ids = None
    rows = []
    for setting in grid:
        cold = fit_cold_map(films, model.item_ids, model.popularity(model.item_ids), **setting)
        new_mask = np.isin(cold.item_ids, list(win.new))
        cold_new = type(cold)(cold.item_ids[new_mask], cold.neighbours[new_mask], cold.weights[new_mask],
                              cold.popularity[new_mask])
        new_ids = cold_new.item_ids
        res = evaluate({"content": content_ranker(model, cold_new, win)}, win, new_ids)["content"]
        rows.append((setting, res))
    best = max(rows, key=lambda r: r[1]["ndcg@10"])
    return best[0], rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: import into a temp store)")
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--tune", action="store_true", help="choose the content settings on the window before")
    ap.add_argument("--llm-users", type=int, default=0, help="users whose rated new films the LLM scores (AUC)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from db import open_db
    from db.knowledge import film_facts
    from db.snapshot import read_domain
    from engine.collab.content import ContentWeights, fit_cold_map, GROUPS

    db = open_db(mls_store(args.db))
    snap = read_domain(db, "movie")
    all_films = film_facts(db, "movie")
    end = max(h.ts for events in snap.timelines.values() for h in events)
    cut = end - args.months * 30.44 * DAY
    report: dict = {"months": args.months}

    if args.tune:
        grid = [dict(weights=ContentWeights(year=y, title=t, tags=tg), k=k, power=p)
                for y in (0.5, 1.0) for t in (2.0, 4.0, 8.0, 16.0) for tg in (0.5, 1.0) for k in (20, 40, 80)
                for p in (2.0,)]
        t0 = time.perf_counter()
        best, rows = tune(all_films, snap.timelines, cut, args.months, grid)
        print(f"tuning on the window before the cut ({len(rows)} settings, {time.perf_counter() - t0:.0f} s): best {best}")
        for setting, res in sorted(rows, key=lambda r: -r[1]["ndcg@10"])[:5]:
            print(f"  ndcg@10 {res['ndcg@10']:.4f} auc {res['auc']:.4f}  {setting}")

    win = cut_window(snap.timelines, end, args.months)
    films = films_for(all_films, win)
    films_by_id = {f.item_id: f for f in films}
    model = collab_for(win)
    t0 = time.perf_counter()
    cold = fit_cold_map(films, model.item_ids, model.popularity(model.item_ids))
    fit_s = time.perf_counter() - t0
    keep = np.isin(cold.item_ids, list(win.new))
    new_ids = cold.item_ids[keep]

    def restricted(c):
        k = np.isin(c.item_ids, list(win.new))
        return type(c)(c.item_ids[k], c.neighbours[k], c.weights[k], c.popularity[k])

    cold_new = restricted(cold)
    rng = np.random.default_rng(0)
    counts = {}
    for events in snap.timelines.values():
        for h in events:
            counts[h.item_id] = counts.get(h.item_id, 0) + 1
    rankers = {
        "content model (served)": content_ranker(model, cold_new, win),
        "liked genres": genre_ranker(films_by_id, win, new_ids),
        "title / franchise similarity": title_ranker(films, win, new_ids),
        "content-estimated popularity": lambda u: cold_new.popularity.copy(),
        "random": lambda u: rng.random(len(new_ids)),
    }
    for g in GROUPS:
        has = any(getattr(f, g if g != "people" else "people") for f in films) if g in ("tags", "genome", "people") \
            else any(f.runtime for f in films) if g == "runtime" else True
        name = f"content model without {g}" + ("" if has else " (no data offline: same as served)")
        if has:
            rankers[name] = content_ranker(model, restricted(fit_cold_map(
                films, model.item_ids, model.popularity(model.item_ids), weights=ContentWeights().without(g))), win)
        else:
            rankers[name] = rankers["content model (served)"]
    rankers["ceiling (leaks): rating count in the whole file"] = lambda u: np.array([counts.get(int(i), 0) for i in new_ids], float)

    res = evaluate(rankers, win, new_ids)
    baselines = ("liked genres", "title / franchise similarity", "random")
    best_base = max(res[b]["ndcg@10"] for b in baselines)
    print(f"\nml-latest-small, new films = first rated in the last {args.months} months: {len(new_ids)} films, "
          f"{len(win.truth)} users with a liked new film; collaborative model {model.kind.upper()} on "
          f"{len(win.train_items):,} ratings of old films; cold map fitted in {fit_s:.1f} s")
    rows = [[name, f"{r['auc']:.4f}", f"{r['ndcg@10']:.4f}", f"{r['ndcg@10'] / best_base:.2f}x", str(r["users"])]
            for name, r in res.items()]
    print_table(["ranker", "AUC", "NDCG@10", "NDCG / best baseline", "users"], rows)
    report["cold_start"] = res
    if args.llm_users:
        t0 = time.perf_counter()
        llm = llm_auc(win, model, snap.items, args.llm_users)
        print(f"LLM P(Yes) (default model) on the rated new films of {llm['users']} users ({llm['prompts']} prompts, "
              f"{time.perf_counter() - t0:.0f} s): AUC {llm['auc']:.4f}; content model on all {len(win.truth)} users "
              f"{res['content model (served)']['auc']:.4f}")
        report["llm"] = llm

    catalog = np.array(sorted(snap.items), dtype=np.int64)
    today = type(model)(model.item_ids, model.weights, model.likes, model.seen)
    full = full_catalog(win, model.with_cold(cold), today, snap.items, catalog)
    print(f"\nFull catalog ({len(catalog):,} films, old and new), the same {len(win.truth)} users: held-out new films in the top 10")
    print_table(["ranker", "new films shown", "users shown one", "liked ones shown (hits)"],
                [[k, str(v["new films in top 10 (all users)"]), str(v["users with a new film in top 10"]),
                  str(v["liked new films in top 10 (hits)"])] for k, v in full.items()])
    report["full_catalog"] = full
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
