"""Samples/s of `engine eval`'s scoring path vs the naive full-prompt path on real test samples.

    .venv/bin/python bench/eval_speed.py [--data movie_test.json] [--n 40] [--repeats 3]

Both paths score the same samples in the same run; the last line extrapolates to 1000 samples.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED, print_table, rate_row, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(SHARED / "tallrec" / "movie_test.json"))
    ap.add_argument("--n", type=int, default=40, help="samples per repeat (from the start of the file)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()

    from db.prompt import build_prompt
    from db.sample_files import load_samples
    from engine.llm.scorer import LlamaScorer

    samples = load_samples(args.data)[: args.n]
    prompts = [build_prompt(s.instruction, s.input) for s in samples]
    scorer = LlamaScorer(args.model)
    n = len(prompts)

    def engine_path():
        scorer.reset()
        return [s.p_yes for s in scorer.score(prompts)]

    t_eval, p_eval = timed(engine_path, args.repeats)
    t_naive, p_naive = timed(lambda: [scorer.score_full(p).p_yes for p in prompts], args.repeats)
    base = n / statistics.median(t_naive)
    toks = [len(scorer.tokenize(p)) for p in prompts]
    rows = [
        rate_row("naive full prompt", n, t_naive, "sample", None, f"{statistics.mean(toks):.0f} tok/sample"),
        rate_row("engine eval (shared header)", n, t_eval, "sample", base,
                 f"max|dP| vs naive {max(abs(a - b) for a, b in zip(p_eval, p_naive)):.1e}"),
    ]
    print(f"{n} samples of {Path(args.data).name}, model {scorer.path.name}, {os.cpu_count()} CPUs, {args.repeats} repeats")
    print_table(["path", "samples/s (median)", "range", f"s/{n} (median)", "vs naive", "notes"], rows)
    per = statistics.median(t_eval) / n
    print(f"engine eval: {1000 * per / 60:.1f} min per 1000 samples "
          f"({statistics.median(t_naive) / statistics.median(t_eval):.2f}x naive)")


if __name__ == "__main__":
    main()
