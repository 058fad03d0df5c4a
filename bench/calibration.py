"""Is P(like) believable at every history length? ECE and reliability of the like head, before and after.

    .venv/bin/python bench/calibration.py --db dev.db --splits splits/movie [--priors 0,1,3,5,10]
        [--png docs/calibration.png] [--dataset NAME]

Test samples (TALLRec windows from `engine data split`) are cut to their 1, 2, 3, 5 and 10 most recent
ratings, the whole history being those k: a person who has rated k titles in the chat. Rows, all on
the same test samples, one collaborative model without the validation and test users:
- today: like-share unshrunk, the head fitted on full validation windows only (what shipped before);
- shrunk: like-share with SHARE_PRIOR pseudo-ratings, the head still fitted on full windows;
- shrunk, one head on full and cut windows: the validation samples cut to 1, 2, 3 and 5 ratings too;
- served: the full-window head for 10 ratings and more, a short-history head fitted on the cut windows
  below that (engine.rank.stack.Reranker.p_like, engine.evaluation.stack_fit.fit_reranker).
SHARE_PRIOR is chosen on validation (mean ECE over the cut lengths), never on test. No LLM input: the
served stacks give it -0.04 per SD (engine/stacks), and scoring 5,000 cut prompts is its own run.
ECE: 10 equal-width bins, |mean P - share liked| weighted by the bin's rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402

LENGTHS = (1, 2, 3, 5, 10)


def ece(labels: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = edges == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - labels[m].mean())
    return total / len(p)


def curve(labels: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[list[float], list[float]]:
    edges = np.minimum((p * bins).astype(int), bins - 1)
    xs, ys = [], []
    for b in range(bins):
        m = edges == b
        if m.sum() >= 5:
            xs.append(float(p[m].mean()))
            ys.append(float(labels[m].mean()))
    return xs, ys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="the store the split was made from")
    ap.add_argument("--splits", required=True, type=Path, help="folder with valid.json and test.json")
    ap.add_argument("--dataset", default=None, help="catalog (default: the largest in the store)")
    ap.add_argument("--priors", default="0,1,3,5,10", help="SHARE_PRIOR values tried on validation")
    ap.add_argument("--png", type=Path, default=None, help="write the reliability plot here")
    args = ap.parse_args()

    from sklearn.metrics import roc_auc_score

    import engine.rank.stack as stack_mod
    from db import open_db
    from db.catalogs import use_catalog
    from db.sample_files import load_samples
    from db.snapshot import read_domain
    from engine.rank.stack import COLLAB_FEATURES, Reranker, concat_tables
    from engine.evaluation.stack_fit import collab_without, cut_samples, fit_head, sample_refs, sample_table

    db = open_db(args.db, create=False)
    use_catalog(db, "movie", args.dataset)
    snap = read_domain(db, "movie")
    valid, test = load_samples(args.splits / "valid.json"), load_samples(args.splits / "test.json")
    collab = collab_without(snap, valid, test)

    def rows(samples, lengths):
        """(length, table, labels) for the full windows ('full') and each cut."""
        out = [("full", sample_table(collab, sample_refs(snap, samples)), np.array([s.label for s in samples]))]
        for cut in cut_samples(snap, samples, lengths):
            out.append((cut.k, sample_table(collab, cut.refs), np.array([s.label for s in cut.samples])))
        return out

    def heads(prior: float, kind: str) -> Reranker:
        """'full': one head on full windows; 'one': one head on full and cut windows; 'short': the served pair."""
        stack_mod.SHARE_PRIOR = prior
        parts = rows(valid, (1, 2, 3, 5) if kind != "full" else ())
        fit_rows = parts if kind == "one" else parts[:1]
        like = fit_head(concat_tables([t for _, t, _ in fit_rows]), list(np.concatenate([y for *_, y in fit_rows])),
                        COLLAB_FEATURES)
        short = None
        if kind == "short":
            short = fit_head(concat_tables([t for _, t, _ in parts[1:]]),
                             list(np.concatenate([y for *_, y in parts[1:]])), COLLAB_FEATURES)
        return Reranker(like, None, short=short)

    def measure(stack: Reranker, prior: float, samples):
        stack_mod.SHARE_PRIOR = prior
        return {k: (y, stack.p_like(t)) for k, t, y in rows(samples, LENGTHS)}

    priors = [float(x) for x in args.priors.split(",")]
    choice = []
    for m in priors:
        got = measure(heads(m, "short"), m, valid)
        choice.append((float(np.mean([ece(y, p) for k, (y, p) in got.items() if k != "full"])), m))
        print(f"validation: SHARE_PRIOR {m:g}: mean ECE over cut lengths {choice[-1][0]:.4f}", file=sys.stderr)
    best = min(choice)[1]

    variants = [("before: unshrunk, one head, full windows", 0.0, "full"),
                (f"shrunk {best:g}, one head, full windows", best, "full"),
                (f"shrunk {best:g}, one head, full + cut windows", best, "one"),
                (f"shrunk {best:g}, full + short-history heads: served", best, "short")]
    results = {name: measure(heads(m, kind), m, test) for name, m, kind in variants}
    header = ["like head", "history", "rows", "ECE", "AUC", "mean P", "share liked", "P >= 0.95"]
    table = []
    for name, got in results.items():
        for k, (y, p) in got.items():
            table.append([name, f"{k} ratings" if k != "full" else "full (10 + prior)", str(len(y)), f"{ece(y, p):.4f}",
                          f"{roc_auc_score(y, p):.4f}", f"{p.mean():.3f}", f"{y.mean():.3f}", f"{(p >= 0.95).mean():.3f}"])
    print_table(header, table)
    print(f"SHARE_PRIOR chosen on validation: {best:g} (tried {args.priors}); test: {len(test)} samples; "
          f"share liked: validation {np.mean([s.label for s in valid]):.3f}, test {np.mean([s.label for s in test]):.3f}")

    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
        for ax, name in zip(axes, [variants[0][0], variants[3][0]]):
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
            for k, (y, p) in results[name].items():
                if k == "full":
                    continue
                xs, ys = curve(y, p)
                ax.plot(xs, ys, marker="o", ms=3, label=f"{k} rating{'s' if k != 1 else ''} (ECE {ece(y, p):.3f})")
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("P(like) shown")
            ax.legend(fontsize=8)
        axes[0].set_ylabel("share liked")
        fig.suptitle("Reliability of P(like) by history length (ML-100K TALLRec test windows, cut)", fontsize=11)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110, metadata={"Software": None})
        print(f"wrote {args.png.name}")


if __name__ == "__main__":
    main()
