"""Load on one `engine serve`: 1 client, then N concurrent `engine recommend --model URL` clients.

Each client is a real CLI process (its own collaborative model load, retrieval, prompts, HTTP
scoring, stack). Reported: requests answered, errors, wall time and candidates scored per second,
against one client in the same run, and against the in-process backend (no server) as the floor.

    .venv/bin/python -m bench.serve_load --clients 8 --candidates 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import ml100k_store, print_table

ENGINE = [sys.executable, "-c", "from engine.cli import main; main()"]


def start_server(model: str | None, threads: int | None, cache_mb: int | None = None) -> tuple[subprocess.Popen, str]:
    from engine.serve.server import launch

    args = (["--model", model] if model else []) + (["--cache-mb", str(cache_mb)] if cache_mb is not None else [])
    return launch(args + (["--threads", str(threads)] if threads else []))


def recommend(db: str, user: str, model: str | None, candidates: int) -> tuple[bool, str]:
    cmd = [*ENGINE, "recommend", "--db", db, "--user", user, "--json", "--top", "5", "--candidates", str(candidates)]
    cmd += ["--model", model] if model else []
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return False, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
    try:
        return len(json.loads(r.stdout)) == 5, ""
    except ValueError:
        return False, "bad JSON"


def run_clients(db: str, users: list[str], model: str | None, candidates: int) -> tuple[float, list[tuple[bool, str]]]:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(users)) as pool:
        results = list(pool.map(lambda u: recommend(db, u, model, candidates), users))
    return time.perf_counter() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store with ML-100K imported (default: import into a temp store)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--candidates", type=int, default=20, help="candidates each client scores")
    ap.add_argument("--model", default=None, help="GGUF to serve (default: the rec-tuned SmolLM2)")
    ap.add_argument("--threads", type=int, default=None, help="server threads (default: all cores)")
    ap.add_argument("--cache-mb", type=int, nargs="+", default=[0, 2048],
                    help="server prompt-state caches to compare (engine serve --cache-mb; 0: off)")
    args = ap.parse_args()
    db = str(ml100k_store(args.db))
    users = [f"ml100k-{u}" for u in range(1, args.clients + 1)]
    rows = []

    def row(name: str, n_clients: int, seconds: float, results, base: float | None) -> float:
        ok = sum(1 for good, _ in results if good)
        rate = ok * args.candidates / seconds
        errors = [msg for good, msg in results if not good]
        rows.append([name, str(n_clients), f"{ok}/{len(results)}", str(len(errors)), f"{seconds:.1f}", f"{rate:.2f}",
                     f"{rate / base:.2f}x" if base else "1.00x", errors[0][:60] if errors else ""])
        return rate

    seconds, results = run_clients(db, users[:1], args.model, args.candidates)  # in-process, no server
    in_process = row("in-process (no server)", 1, seconds, results, None)
    for cache in args.cache_mb:
        proc, url = start_server(args.model, args.threads, cache)
        try:
            run_clients(db, users[:1], url, args.candidates)  # warm the server once
            seconds, results = run_clients(db, users[:1], url, args.candidates)
            row(f"server cache {cache} MB, 1 client", 1, seconds, results, in_process)
            seconds, results = run_clients(db, users, url, args.candidates)
            row(f"server cache {cache} MB, {args.clients} clients", args.clients, seconds, results, in_process)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{args.candidates} candidates per request; rates are candidates/s (answered requests x candidates / wall "
          "time, each client a fresh `engine recommend` process); ratios vs the in-process client")
    print_table(["clients on", "clients", "answered", "errors", "wall s", "cand/s", "vs in-process", "first error"], rows)


if __name__ == "__main__":
    main()
