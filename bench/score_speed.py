"""Candidates/s for one real ML-100K user and 50 retrieved candidates: shared-prefix vs naive vs HF.

    .venv/bin/python bench/score_speed.py [--db STORE] [--user ml100k-196] [--repeats 3]

All paths score the same prompts in the same run; the table gives the median of the repeats,
the range, and the speed-up over the naive full-prompt llama.cpp path. Last line: the speed-up.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ml100k_store, print_table, user_bench_parser, rate_row, timed  # noqa: E402


def main() -> None:
    ap = user_bench_parser(__doc__)
    ap.add_argument("--no-hf", action="store_true", help="skip the transformers path")
    args = ap.parse_args()

    from db import open_db
    from db.users import find_user
    from engine.collab.cache import load_or_fit
    from engine.rank.recommend import retrieve
    from engine.rank.retrieval import Query
    from engine.llm.scorer import LlamaScorer

    db = open_db(ml100k_store(args.db), create=False)
    uid = find_user(db, args.user)
    history, cands = retrieve(db, load_or_fit(db, "movie"), uid, Query(), args.candidates)
    scorer = LlamaScorer(args.model)
    prompts = [scorer.prompts.for_user("movie", history, c.item) for c in cands]
    toks = [scorer.tokenize(p) for p in prompts]
    n = len(prompts)

    def fast():
        scorer.reset()
        return [s.p_yes for s in scorer.score(prompts)]

    def naive():
        return [scorer.score_full(p).p_yes for p in prompts]

    t_fast, p_fast = timed(fast, args.repeats)
    t_naive, p_naive = timed(naive, args.repeats)
    base = n / statistics.median(t_naive)
    shared = min(len(t) for t in toks) - 1
    for t in toks[1:]:
        shared = min(shared, next((k for k, (a, b) in enumerate(zip(toks[0], t)) if a != b), shared))
    suffix = statistics.mean(len(t) - shared for t in toks)
    full = statistics.mean(len(t) for t in toks)
    rows = [
        rate_row("llama.cpp naive (full prompt each)", n, t_naive, "cand", None, f"{full:.0f} tok/cand"),
        rate_row("llama.cpp shared prefix", n, t_fast, "cand", base,
                 f"{shared} tok once + {suffix:.1f} tok/cand; max|dP| vs naive {max(abs(a - b) for a, b in zip(p_fast, p_naive)):.1e}"),
    ]
    if not args.no_hf:
        import torch

        from trainer.base_model import load_model, load_tokenizer, resolve_base

        torch.set_num_threads(os.cpu_count() or 1)
        ref = resolve_base(args.model or scorer.path)
        tok, model = load_tokenizer(ref), load_model(ref)
        from trainer.torch_scoring import torch_p_yes

        for bs in (1, 10):
            t_hf, p_hf = timed(lambda: torch_p_yes(model, tok, prompts, batch_size=bs), args.repeats)
            rows.append(rate_row(f"transformers fp32 (batch {bs})", n, t_hf, "cand", base,
                                 f"max|dP| vs llama.cpp {max(abs(a - b) for a, b in zip(p_hf, p_naive)):.2f} (dequantized fp32 weights; llama.cpp also quantizes activations)"))
    print(f"user {args.user}: {len(history)} ratings, {n} candidates, model {scorer.path.name}, "
          f"{os.cpu_count()} CPUs, {args.repeats} repeats")
    print_table(["path", "cand/s (median)", "range", "s/50 (median)", "vs naive", "notes"], rows)
    print(f"speed-up of the shared-prefix path over naive: {statistics.median(t_naive) / statistics.median(t_fast):.1f}x")


if __name__ == "__main__":
    main()
