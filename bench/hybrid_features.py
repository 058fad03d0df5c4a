"""Which signals a stacked ranker needs, from saved LLM logits: no re-scoring, every variant in one run.

    engine eval --data SPLIT/valid.json --train SPLIT/train.json --predictions valid.jsonl
    engine eval --data SPLIT/test.json  --predictions test.jsonl
    .venv/bin/python bench/hybrid_features.py --split SPLIT --valid-pred valid.jsonl --test-pred test.jsonl \
        [--fit-n 300 --fit-n 1000]

Each variant is a standardised logistic regression fitted on the validation samples and scored on
the test samples (AUC, and GAUC where samples carry user ids). The no-LLM baselines of `engine
eval` are printed in the same run. Item-kNN rows add a collaborative score the prompt never shows:
cosine similarity between the target and the user's liked (or disliked) history items over the
users of the training windows (+1 liked, -1 disliked).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402


class ItemKNN:
    """Item-item cosine over training users' signed ratings; a sample without user id is its own user."""

    def __init__(self, train):
        from db.prompt import parse_input, sample_domain

        users: dict[object, dict[str, int]] = defaultdict(dict)
        for i, s in enumerate(train):
            p = parse_input(sample_domain(s.input), s.input)
            u = s.user_id if s.user_id is not None else f"sample-{i}"
            users[u].update({n: 1 for n in p.liked} | {n: -1 for n in p.disliked} | {p.target: 1 if s.label else -1})
        self.raters: dict[str, dict[object, int]] = defaultdict(dict)
        for u, ratings in users.items():
            for name, v in ratings.items():
                self.raters[name][u] = v
        self._cache: dict[tuple[str, str], float] = {}

    def similarity(self, a: str, b: str) -> float:
        if (a, b) not in self._cache:
            ra, rb = self.raters.get(a, {}), self.raters.get(b, {})
            small, big = (ra, rb) if len(ra) <= len(rb) else (rb, ra)
            dot = sum(v * big[u] for u, v in small.items() if u in big)
            self._cache[(a, b)] = dot / math.sqrt(len(ra) * len(rb)) if ra and rb else 0.0
        return self._cache[(a, b)]

    def scores(self, sample) -> tuple[float, float]:
        """Mean similarity of the target to the liked and to the disliked history items."""
        from db.prompt import parse_input, sample_domain

        p = parse_input(sample_domain(sample.input), sample.input)
        mean = lambda names: sum(self.similarity(n, p.target) for n in names) / len(names) if names else 0.0  # noqa: E731
        return mean(p.liked), mean(p.disliked)


def read_logits(path: Path, n: int) -> list[float]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    if len(rows) != n:
        raise SystemExit(f"{path}: {len(rows)} predictions for {n} samples (score the whole file)")
    return [r["logit"] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", type=Path, required=True, help="folder with train.json, valid.json, test.json")
    ap.add_argument("--valid-pred", type=Path, required=True, help="engine eval --predictions of valid.json")
    ap.add_argument("--test-pred", type=Path, required=True, help="engine eval --predictions of test.json")
    ap.add_argument("--fit-n", type=int, action="append", help="validation samples to fit on (repeatable)")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from db.item_stats import ItemStats, like_share
    from db.sample_files import load_samples
    from engine.evaluation.baselines import FeatureLR, features
    from engine.evaluation.hybrid import HybridLR
    from engine.evaluation.metrics import classification_metrics, fmt

    train, valid, test = (load_samples(args.split / f"{n}.json") for n in ("train", "valid", "test"))
    logits = {"valid": read_logits(args.valid_pred, len(valid)), "test": read_logits(args.test_pred, len(test))}
    stats, knn = ItemStats.from_samples(train), ItemKNN(train)

    def signals(s, logit: float) -> dict[str, float]:
        share, rate, pop = features(s, stats)  # the feature baseline's and the hybrid's own inputs
        pos, neg = knn.scores(s)
        return {"llm": logit, "share": share, "rate": rate, "pop": pop, "knn+": pos, "knn-": neg}

    table = {split: [signals(s, lg) for s, lg in zip(samples, logits[split])]
             for split, samples in (("valid", valid), ("test", test))}
    labels, users = [s.label for s in test], [s.user_id for s in test]

    def row(name: str, scores: list[float], note: str = "") -> list[str]:
        m = classification_metrics(labels, scores, users)
        return [name, fmt(m["auc"]), fmt(m["gauc"]), note]

    rows = [row("LLM P(Yes) alone", logits["test"]),
            row("like-share (engine eval baseline)", [like_share(s) for s in test]),
            row("feature LR on train windows (engine eval baseline)", FeatureLR(train).predict(test)),
            row("item-kNN to liked history alone", [t["knn+"] for t in table["test"]])]
    variants = {
        "share + rate + pop (no LLM)": ["share", "rate", "pop"],
        "LLM + share + rate + pop + item-kNN": ["llm", "share", "rate", "pop", "knn+", "knn-"],
        "share + rate + pop + item-kNN (no LLM)": ["share", "rate", "pop", "knn+", "knn-"],
    }
    for fit_n in args.fit_n or [len(valid)]:
        fit_rows, fit_labels = table["valid"][:fit_n], [s.label for s in valid[:fit_n]]
        engine_hybrid = HybridLR(train, valid[:fit_n], logits["valid"][:fit_n])  # the class engine eval serves
        weights = " ".join(f"{k} {w:+.2f}" for k, w in engine_hybrid.coefficients().items())
        rows.append(row(f"engine's HybridLR (LLM + share + rate + pop), fit on {len(fit_rows)} valid",
                        engine_hybrid.predict(test, logits["test"]), weights))
        for name, keys in variants.items():
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            model.fit([[r[k] for k in keys] for r in fit_rows], fit_labels)
            p = model.predict_proba([[r[k] for k in keys] for r in table["test"]])[:, 1]
            weights = " ".join(f"{k} {w:+.2f}" for k, w in zip(keys, model[-1].coef_[0]))
            rows.append(row(f"{name}, fit on {len(fit_rows)} valid", list(p), weights))
    print_table(["scorer", "AUC", "GAUC", "standardised weights"], rows)


if __name__ == "__main__":
    main()
