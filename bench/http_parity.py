"""HTTP backend vs in-process: the same samples scored by llama.cpp in this process and through
`engine serve` on loopback. Prints max |ΔP(Yes)|, AUC / GAUC of each, and samples/s of each.

    .venv/bin/python -m bench.http_parity --data splits/movie/test.json --n 200

The in-process model is closed before the server starts: two llama.cpp processes computing at once
on 2 cores slow each other many-fold.
"""

from __future__ import annotations

import argparse
import time

from bench.common import print_table
from bench.serve_load import start_server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="TALLRec JSON split with user ids (engine data split)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default=None, help="GGUF (default: the rec-tuned SmolLM2)")
    args = ap.parse_args()

    from db.sample_files import read_samples
    from db.scoring import score_samples
    from engine.llm.http_scorer import HttpScorer
    from engine.evaluation.metrics import classification_metrics
    from engine.llm.scorer import LlamaScorer

    samples = read_samples(args.data)[0][: args.n]
    labels, users = [s.label for s in samples], [s.user_id for s in samples]
    local = LlamaScorer(args.model)
    t0 = time.perf_counter()
    p_local = [s.p_yes for s in score_samples(local, samples)]
    t_local = time.perf_counter() - t0
    local.runner.close()
    proc, url = start_server(args.model, None)
    try:
        remote = HttpScorer(url)
        t0 = time.perf_counter()
        p_http = [s.p_yes for s in score_samples(remote, samples)]
        t_http = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    diff = [abs(a - b) for a, b in zip(p_local, p_http)]
    rows = []
    for name, p, t in (("in-process llama.cpp", p_local, t_local), ("HTTP (engine serve)", p_http, t_http)):
        m = classification_metrics(labels, p, users)
        rows.append([name, f"{m['auc']:.4f}", f"{m['gauc']:.4f}", f"{len(p) / t:.2f}", f"{t_local / t:.2f}x"])
    print(f"{len(samples)} samples of {args.data}; max |dP(Yes)| {max(diff):.2e}, mean {sum(diff) / len(diff):.2e}; "
          f"AUC equal to 3 decimals: {rows[0][1][:5] == rows[1][1][:5]}")
    print_table(["backend", "AUC", "GAUC", "samples/s", "vs in-process"], rows)


if __name__ == "__main__":
    main()
