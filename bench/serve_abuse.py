"""`engine serve` under abuse, on loopback, bounded loops: malformed JSON, an unknown model, a prompt over the
context, a huge max_tokens, an oversized body, 64 concurrent clients, clients that disconnect mid-request.

The server must stay up, answer each bad request with an HTTP error and one log line, keep its memory
bounded (RSS before and after), and score a well-formed request exactly as before.

    .venv/bin/python -m bench.serve_abuse [--model M.gguf] [--md docs/reliability.md-table]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT_USER = 'User Preference: "Fargo (1996)"\nUser Unpreference: "Titanic (1997)"\n'


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def post(host: str, port: int, body: bytes, timeout: float = 120.0) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return -1
    finally:
        conn.close()


def disconnect_mid_body(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"prompt\": \"ab")


def disconnect_mid_request(host: str, port: int, body: bytes) -> None:
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.05)  # the request is in; leave before the answer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="GGUF to serve (default: the default model)")
    ap.add_argument("--md", default=None, help="also write the table here")
    ap.add_argument("--rounds", type=int, default=4, help="times every input is sent (RSS is read after each round)")
    ap.add_argument("--cache-mb", type=int, default=None, help="the server's prompt-state cache (engine serve --cache-mb)")
    ap.add_argument("--against-glibc-arenas", action="store_true",
                    help="then the same rounds against a server with glibc's default malloc arenas (8 per core), "
                         "the baseline for the RSS line")
    args = ap.parse_args()
    result = abuse(args, {})
    text = report(args, result)
    if args.against_glibc_arenas:
        import os

        default = abuse(args, {"MALLOC_ARENA_MAX": str(8 * (os.cpu_count() or 1))})
        text += "\nbaseline, glibc's default arenas (MALLOC_ARENA_MAX=" + str(8 * (os.cpu_count() or 1)) + "): " \
            + rss_line(args, default) + f"; scores as before: {'yes' if default['after'] == default['baseline'] else 'NO'}"
    print(text)
    if result["other"]:
        print("other stderr lines (first 5):\n" + "\n".join(result["other"][:5]))
    if args.md:
        Path(args.md).write_text(text + "\n")


def abuse(args, env: dict[str, str]) -> dict:
    """Every input `args.rounds` times against one `engine serve` child (with `env` added); RSS after each round."""
    from engine.llm.http_scorer import HttpScorer
    from engine.serve.server import launch

    proc, url = launch((["--model", args.model] if args.model else [])
                       + ([] if args.cache_mb is None else ["--cache-mb", str(args.cache_mb)]), env=env)
    err_lines: list[str] = []  # drained as it comes: a full pipe would block the server's log writes
    drain = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    drain.start()
    u = urlparse(url)
    host, port = u.hostname, u.port
    scorer = HttpScorer(url)
    alias = scorer.served.id
    good = json.dumps({"model": alias, "prompt": PROMPT_USER + "Answer:", "max_tokens": 1, "temperature": 0.0,
                       "logprobs": 5}).encode()
    before_score = post(host, port, good)
    baseline = http_logprobs(host, port, good)
    rss_before = rss_mib(proc.pid)
    cases = [
        ("malformed JSON", 20, lambda: post(host, port, b'{"prompt": "x",')),
        ("a JSON array, not an object", 5, lambda: post(host, port, b"[1, 2]")),
        ("unknown model name", 20, lambda: post(host, port, json.dumps({"model": "gpt-9", "prompt": "x", "max_tokens": 1}).encode())),
        ("prompt over the context (20,000 words)", 3,
         lambda: post(host, port, json.dumps({"model": alias, "prompt": "word " * 20_000, "max_tokens": 1}).encode())),
        ("max_tokens 10^9", 10, lambda: post(host, port, json.dumps({"model": alias, "prompt": "x", "max_tokens": 10**9}).encode())),
        ("max_tokens not a number", 5, lambda: post(host, port, json.dumps({"prompt": "x", "max_tokens": "lots"}).encode())),
        ("body over 1 MiB", 3, lambda: post(host, port, b'{"prompt": "' + b"a" * (2 << 20) + b'"}')),
    ]
    rows, rss_rounds = [], []
    for round_ in range(args.rounds):  # memory that grows per request shows as a step up every round
        for name, n, call in cases:
            statuses = Counter(call() for _ in range(n))
            rows.append((name, n, statuses, proc.poll() is None))
        with ThreadPoolExecutor(64) as pool:  # 64 concurrent well-formed clients
            statuses = Counter(pool.map(lambda _: post(host, port, good, timeout=600), range(64)))
        rows.append(("64 concurrent well-formed clients", 64, statuses, proc.poll() is None))
        for _ in range(8):
            disconnect_mid_body(host, port)
        rows.append(("disconnect mid-body", 8, Counter({"closed": 8}), proc.poll() is None))
        threads = [threading.Thread(target=disconnect_mid_request, args=(host, port, good)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows.append(("disconnect after sending, before the answer", 8, Counter({"closed": 8}), proc.poll() is None))
        time.sleep(2)
        rss_rounds.append(rss_mib(proc.pid))
    rows = merge(rows)
    time.sleep(2)
    after = http_logprobs(host, port, good)
    rss_after = rss_mib(proc.pid)
    alive = proc.poll() is None
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
        proc.wait()
    drain.join(timeout=30)
    err = "".join(err_lines)
    log_lines = [line for line in (err or "").splitlines() if line.startswith("engine serve:")]
    other = [line for line in (err or "").splitlines() if line.strip() and not line.startswith("engine serve:")]
    return dict(rows=rows, before_score=before_score, baseline=baseline, after=after, rss_before=rss_before,
                rss_rounds=rss_rounds, rss_after=rss_after, alive=alive, log_lines=log_lines, other=other)


def rss_line(args, r: dict) -> str:
    return (f"server RSS: {r['rss_before']:.0f} MiB before; after each of {args.rounds} rounds of everything above: "
            + ", ".join(f"{x:.0f}" for x in r["rss_rounds"]) + f" MiB (×{r['rss_after'] / r['rss_before']:.2f} in all); "
            f"up at the end: {'yes' if r['alive'] else 'NO'}")


def report(args, r: dict) -> str:
    rows, log_lines = r["rows"], r["log_lines"]
    refused = sum(n for name, n, st, _ in rows if any(isinstance(k, int) and k >= 400 for k in st))
    out = ["| input | requests | answers | server up after |", "|---|---|---|---|"]
    for name, n, st, up in rows:
        out.append(f"| {name} | {n} | {', '.join(f'{k}: {v}' for k, v in sorted(st.items(), key=str))} | {'yes' if up else 'NO'} |")
    out.append("")
    out.append(f"well-formed request before: HTTP {r['before_score']}; after: the same top log-probabilities: "
               f"{'yes' if r['after'] == r['baseline'] else 'NO'} ({r['baseline']} / {r['after']})")
    out.append(rss_line(args, r) + " (served: 2 malloc arenas, engine.serve.server.limit_malloc_arenas)")
    reasoned = [line for line in log_lines if line.count(":") >= 2]
    out.append(f"log: {len(log_lines)} `engine serve:` lines: {len(reasoned)} for the {refused} requests the guard refused "
               f"(with the reason), {len(log_lines) - len(reasoned)} for errors llama-cpp-python answered (prompt over "
               f"the context, a client gone before its answer); {len(r['other'])} other stderr lines (start-up)")
    return "\n".join(out)


def merge(rows):
    """The two rounds' rows of one input summed."""
    out: dict[str, list] = {}
    for name, n, st, up in rows:
        if name in out:
            out[name][1] += n
            out[name][2] += st
            out[name][3] = out[name][3] and up
        else:
            out[name] = [name, n, Counter(st), up]
    return [tuple(v) for v in out.values()]


def http_logprobs(host: str, port: int, body: bytes) -> dict:
    conn = http.client.HTTPConnection(host, port, timeout=120)
    conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data["choices"][0]["logprobs"]["top_logprobs"][0]


if __name__ == "__main__":
    main()
