"""Refit only the P(like) head of an installed stack on freshly scored samples (the rank head is kept).

    .venv/bin/python bench/refit_like_head.py --data splits/movie/valid.json --stack engine/stacks/SHA-movie.json --db STORE

For when the like head was fitted on logits saved from another build of the same model: scoring
the validation split again (minutes) costs less than refitting the rank head too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--exclude", default=None)
    ap.add_argument("--stack", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()

    from tqdm import tqdm

    from db import open_db
    from db.sample_files import read_samples
    from engine.evaluate import score_samples
    from engine.scorer import Scorer
    from engine.stack import FEATURES, Reranker
    from engine.stack_fit import collab_without, fit_head, sample_refs, sample_table

    data = Path(args.data)
    fit = read_samples(data)[0]
    exclude = read_samples(Path(args.exclude or data.parent / "test.json"))[0]
    db = open_db(args.db, create=False)
    scorer = Scorer(args.model)
    reranker = Reranker.from_json(json.loads(Path(args.stack).read_text()))
    if reranker.model_sha256 != scorer.sha256:
        raise SystemExit(f"{args.stack} is for another model")
    with tqdm(total=len(fit), desc="scoring", unit="sample") as bar:
        logits = [s.logit for s in score_samples(scorer, fit, bar.update)]
    table = sample_table(collab_without(db, "movie", fit, exclude), sample_refs(db, fit))
    table["llm_logit"] = logits
    reranker.like = fit_head(table, [s.label for s in fit], FEATURES)
    reranker.fitted_on["like_logits"] = "scored by this model (bench/refit_like_head.py)"
    Path(args.stack).write_text(json.dumps(reranker.to_json(), indent=1))
    print("P(like) weights per SD:", reranker.like.weights())


if __name__ == "__main__":
    main()
