"""The LLM's part in the learned order, measured (bench/temporal.py --llm K): does its P(Yes) improve the order
of the ranker's own top K?

Scoring every candidate row with the LLM is out of reach on 2 cores (664,560 rows at 8-20 prompts/s), so the
ablation is a second stage over the top K of "for me" requests: key + w x logit(P(Yes)), w chosen on the
validation requests (the latest inner cut, keyed by the model fitted before it: out of time) and reported on
the test requests beside w = 0 (the ranker alone) and the LLM alone within the same top K. If the chosen w is
0, or the test does not move, the LLM is scored only for the rows shown (engine.rank.recommend)."""

from __future__ import annotations

import math
import time

import numpy as np

from bench import temporal_baselines as tb

WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def top_rows(rows, sizes, model, k: int, top: int):
    """(ids, keys) of request k's top `top` candidates by `model`'s key."""
    table, _, _ = rows.select(sizes, np.array([k]))
    keys = model.key(table)
    order = np.lexsort((table["ids"], -keys))[:top]
    return table["ids"][order], keys[order]


def llm_logits(scorer, requests, tops, cuts, signals, items, log) -> list[np.ndarray]:
    out, t0, n = [], time.perf_counter(), 0
    for r, (ids, _) in zip(requests, tops):
        history = cuts[r.cut].history.get(r.user_id, [])
        rates = signals[r.cut].collab.like_rate(ids)
        prompts = [scorer.prompts.for_user("movie", history, items[int(i)], float(rate)) for i, rate in zip(ids, rates)]
        ps = np.clip([s.p_yes for s in scorer.score(prompts)], 1e-6, 1 - 1e-6)
        out.append(np.log(ps / (1 - ps)))
        n += len(prompts)
    log(f"LLM: {n} prompts in {time.perf_counter() - t0:.0f} s")
    return out


def ndcg(requests, tops, logits, w: float, new) -> float:
    """Mean NDCG@10 of the top K reordered by key + w x logit (w = inf: the logit alone)."""
    vals = []
    for r, (ids, keys), logit in zip(requests, tops, logits):
        key = logit if math.isinf(w) else keys + w * logit
        top = [int(i) for i in ids[np.lexsort((ids, -key))][:tb.K]]
        vals.append(tb.top_metrics(top, set(r.targets), new)["ndcg@10"])
    return float(np.mean(vals)) if vals else float("nan")


def ablation(top: int, rows, sizes, everything, valid, test, chosen, ranker, cuts, signals, items, log) -> dict:
    from engine.llm.backends import open_scorer

    scorer = open_scorer(None)
    sets = {}
    for name, reqs, model in (("validation", valid, chosen), ("test", test, ranker)):
        requests = [everything[k] for k in reqs]
        tops = [top_rows(rows, sizes, model, int(k), top) for k in reqs]
        sets[name] = (requests, tops, llm_logits(scorer, requests, tops, cuts, signals, items, log))
    new = cuts[-1].new
    grid = {w: ndcg(*sets["validation"], w, new) for w in WEIGHTS}
    best = max(WEIGHTS, key=lambda w: (round(grid[w], 4), -w))  # ties: the smaller weight
    return {"top": top, "model": scorer.name, "validation": {str(w): v for w, v in grid.items()}, "chosen_w": best,
            "test": {"ranker alone (w = 0)": ndcg(*sets["test"], 0.0, new),
                     f"ranker + LLM (w = {best}, chosen on validation)": ndcg(*sets["test"], best, new),
                     "LLM alone within the same top K": ndcg(*sets["test"], math.inf, new)},
            "requests": {"validation": len(valid), "test": len(test)}}


def print_ablation(rep: dict) -> None:
    print(f"\nThe LLM ({rep['model']}) over the ranker's top {rep['top']} of 'for me' requests "
          f"({rep['requests']['validation']} validation, {rep['requests']['test']} test):")
    print("validation NDCG@10 by w: " + ", ".join(f"{w}: {v:.4f}" for w, v in rep["validation"].items()))
    tb.print_table(["test, the same top K reordered", "NDCG@10"], [[k, f"{v:.4f}"] for k, v in rep["test"].items()])
