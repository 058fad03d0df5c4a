"""Where does the LLM add? AUC / GAUC by the target item's rating count, the LLM beside the other signals.

    .venv/bin/python bench/llm_buckets.py --db STORE --splits DIR [--dataset NAME] [--model M.gguf]
        [--logits-dir DIR]

TALLRec windows of the store's catalog (`engine data split movie`): the LLM scores valid.json and
test.json (its logits are saved in --logits-dir, and read from there on a rerun). Rows, all on the
test windows of one run, split by how many ratings the target has in the collaborative model the
features come from (fitted without the validation and test users): < 5, 5-50, > 50.
- LLM alone: its Yes-No logit (the shipped default was rec-tuned on ML-100K: on another catalog this
  is a transfer test, as TALLRec's cross-domain one);
- like-share, EASE alone: the user's share of likes, EASE affinity from the window's likes;
- stack without the LLM (the shipped one for the catalog), and the same like head refitted on the
  same validation windows with the LLM logit as an input: the ablation;
- gated: the LLM logit as an input only where the target has < 5 ratings (0 elsewhere), the same fit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402

BUCKETS = (("< 5", 0, 5), ("5-50", 5, 51), ("> 50", 51, 10**9), ("all", 0, 10**9))


def ratings(table) -> np.ndarray:
    """The target's rating count from the table's log1p column, rounded: expm1(log1p(5)) can be 4.999…"""
    return np.rint(np.expm1(table["log_popularity"]))


def logits_for(scorer, samples, path: Path) -> list[float]:
    from db.scoring import score_samples

    if path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        if len(rows) == len(samples):
            return [r["logit"] for r in rows]
    from tqdm import tqdm

    with tqdm(total=len(samples), desc=f"scoring {path.stem}", unit="prompt") as bar:
        scores = score_samples(scorer, samples, progress=bar.update)
    path.write_text("".join(json.dumps({"index": i, "logit": s.logit}) + "\n" for i, s in enumerate(scores)))
    return [s.logit for s in scores]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--splits", type=Path, required=True)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--model", default=None, help="GGUF (default: the rec-tuned default model)")
    ap.add_argument("--logits-dir", type=Path, default=Path("."))
    args = ap.parse_args()

    from db import open_db
    from db.catalogs import use_catalog
    from db.sample_files import load_samples
    from db.snapshot import read_domain
    from engine.llm.backends import open_scorer
    from engine.evaluation.metrics import classification_metrics
    from engine.rank.stack import COLLAB_FEATURES, FEATURES, find_stack
    from engine.evaluation.stack_fit import collab_without, fit_head, sample_refs, sample_table

    db = open_db(args.db, create=False)
    use_catalog(db, "movie", args.dataset)
    snap = read_domain(db, "movie")
    valid, test = load_samples(args.splits / "valid.json"), load_samples(args.splits / "test.json")
    scorer = open_scorer(args.model)
    args.logits_dir.mkdir(parents=True, exist_ok=True)
    lv = logits_for(scorer, valid, args.logits_dir / f"{snap.dataset}-valid-logits.jsonl")
    lt = logits_for(scorer, test, args.logits_dir / f"{snap.dataset}-test-logits.jsonl")
    collab = collab_without(snap, valid, test)
    tv, tt = sample_table(collab, sample_refs(snap, valid)), sample_table(collab, sample_refs(snap, test))
    tv["llm_logit"], tt["llm_logit"] = np.asarray(lv), np.asarray(lt)
    yv = [s.label for s in valid]
    with_llm = fit_head(tv, yv, FEATURES)

    def gate(t):
        rare = ratings(t) < 5
        return {**t, "llm_logit": np.where(rare, t["llm_logit"], 0.0)}

    gated = fit_head(gate(tv), yv, FEATURES)
    no_llm = find_stack(None, "movie", collab.kind, snap.dataset)
    signals = {
        "LLM alone": tt["llm_logit"],
        "like-share": tt["like_share"],
        "EASE alone": tt["ease_liked"],
        "stack without the LLM (shipped)": no_llm.p_like(tt) if no_llm else None,
        "like head without the LLM, refitted here": fit_head(tv, yv, COLLAB_FEATURES).predict_table(tt),
        "like head with the LLM logit": with_llm.predict_table(tt),
        "like head with the LLM logit gated to < 5 ratings": gated.predict_table(gate(tt)),
    }
    counts = ratings(tt)
    labels = np.array([s.label for s in test])
    users = np.array([s.user_id for s in test])
    rows = []
    for name, lo, hi in BUCKETS:
        m = (counts >= lo) & (counts < hi)
        for sig, values in signals.items():
            if values is None or m.sum() < 10 or len(set(labels[m])) < 2:
                continue
            got = classification_metrics(list(labels[m]), list(np.asarray(values)[m]), list(users[m]))
            rows.append([name, str(int(m.sum())), sig, f"{got['auc']:.4f}",
                         f"{got['gauc']:.4f}" if got.get("gauc") is not None else "-"])
    print_table(["target's ratings", "windows", "signal", "AUC", "GAUC"], rows)
    print(f"{snap.dataset}: {len(test)} test windows; LLM weight per SD in the like head: "
          f"{with_llm.weights()['llm_logit']:+.3f} (gated: {gated.weights()['llm_logit']:+.3f}); model {scorer.name}")


if __name__ == "__main__":
    main()
