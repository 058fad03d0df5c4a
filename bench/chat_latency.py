"""Chat latency: Enter → first ranked rows on screen, and → the final ranking, in the real Textual app.

    .venv/bin/python bench/chat_latency.py [--db STORE] [--user ml100k-196] [--repeats 3] [--candidates 50]
        [--dataset NAME]

The app runs headless (Textual Pilot) with the default model, already loaded; each repeat asks
the same three requests, then starts the app as a new visitor does and asks while the greeting's
picks are still being scored. Baseline in the same run: `engine.rank.recommend.recommend` on the same
requests (the session's reading, retrieval and the whole ranking), which returns only when all
candidates are scored (what a non-progressive UI shows). The requests build one conversation
(state carries over), and each repeat starts it over.
Median over repeats; the last line is the Enter → first rows median. Then a chat reopened after one
rating, once per repeat (the collaborative cache is not refitted: engine.collab.cache), beside the full refit it used to
wait for, measured in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ml100k_store, print_table, user_bench_parser  # noqa: E402

REQUESTS = ["comedies", "something like Alien but funnier", "90s drama, no romance",
            "I loved Fargo and Pulp Fiction but hated Titanic"]


async def run_app(session, repeats: int) -> dict[str, list[float]]:
    from textual.widgets import Input

    from tui.app import ChatApp

    app = ChatApp(session, autostart=False)
    out: dict[str, list[float]] = {"first": [], "final": []}
    async with app.run_test(size=(140, 45)) as pilot:
        await app.workers.wait_for_complete()
        table = app.query_one("#results")
        for _ in range(repeats):
            app.session.handle("start over")
            for text in REQUESTS:
                table.clear()
                await pilot.pause()
                box = app.query_one("#ask", Input)
                box.focus()
                box.value = text
                await pilot.press("enter")  # the app stamps Enter and the first/final rows itself
                await app.workers.wait_for_complete()
                await pilot.pause()
                out["first"].append(app.latency.first_rows)
                out["final"].append(app.latency.final)
    return out


async def first_request_while_greeting(session) -> float:
    """Enter -> first rows for a request typed while the greeting's picks are still being scored
    (what a new user does at once; before rankings were cancellable it queued behind all 50)."""
    from textual.widgets import Input

    from tui.app import ChatApp

    app = ChatApp(session, autostart=True)
    async with app.run_test(size=(140, 45)) as pilot:
        while not app.query_one("#results").row_count:  # the greeting's first rows are up: it is mid-ranking
            await asyncio.sleep(0.01)
        box = app.query_one("#ask", Input)
        box.value = REQUESTS[1]
        await pilot.press("enter")
        while app.latency.first_rows is None:
            await asyncio.sleep(0.01)
        first = app.latency.first_rows
        await app.workers.wait_for_complete()
    return first


def reopened_after_a_rating(copy: Path, user: str, model, candidates: int, dataset, item: int) -> dict[str, float]:
    """A rating written, then a chat opened as a new process opens one: the cached collaborative model,
    the title index, the LLM, the first request's first rows."""
    from db import open_db
    from db.catalogs import use_catalog
    from db.feedback import record_feedback
    from db.users import get_or_create_user
    from engine.chat.session import ChatSession

    db = open_db(copy)
    use_catalog(db, "movie", dataset)
    record_feedback(db, get_or_create_user(db, user), item, True, source="chat")
    db.close()
    out = {}
    t0 = time.perf_counter()
    session = ChatSession(copy, user, model, n_candidates=candidates, dataset=dataset, new_chat=True)
    session.collab.load()
    out["reopened: collaborative model loaded"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    session.titles()
    out["reopened: title index built"] = time.perf_counter() - t1
    session.load_model()
    t2 = time.perf_counter()
    plan = session.handle(REQUESTS[0]).plan
    next(iter(session.rank(plan)))
    out["reopened: request -> first rows"] = time.perf_counter() - t2
    out["reopened: open -> first rows (all of the above)"] = time.perf_counter() - t0
    session.close()
    return out


def reopened_table(copy: Path, args) -> list[list[str]]:
    """One reopened chat per repeat, each after a new rating (a different item), medians beside the
    baseline: the full refit a reopened chat used to wait for (the store had moved on from the cache)."""
    from db import open_db
    from db.catalog import catalog_items
    from db.catalogs import use_catalog
    from engine.collab.cache import fit_from_store

    db = open_db(copy)
    use_catalog(db, "movie", args.dataset)
    items = list(itertools.islice(iter(catalog_items(db, "movie")), args.repeats))
    samples = [reopened_after_a_rating(copy, args.user, args.model, args.candidates, args.dataset, i) for i in items]
    t0 = time.perf_counter()
    fit_from_store(db, "movie", log=lambda _: None)
    refit = time.perf_counter() - t0
    rows = []
    for name in samples[0]:
        times = [s[name] for s in samples]
        rows.append([name, f"{statistics.median(times):.2f}", f"{min(times):.2f}-{max(times):.2f}", str(len(times))])
    rows.append(["baseline: the full refit it used to wait for", f"{refit:.2f}", "", "1"])
    return rows


def main() -> None:
    ap = user_bench_parser(__doc__)
    ap.add_argument("--dataset", default=None, help="catalog when the store holds several")
    args = ap.parse_args()

    import os

    from engine.chat.session import ChatSession

    store = ml100k_store(args.db)
    copy = Path(tempfile.mkdtemp()) / "chat_bench.db"  # the chat logs messages: keep the user's store clean
    with sqlite3.connect(store) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    session = ChatSession(copy, args.user, args.model, n_candidates=args.candidates, dataset=args.dataset)
    model = session.load_model()
    base: list[float] = []
    for _ in range(args.repeats):
        session.handle("start over")
        for text in REQUESTS:
            t0 = time.perf_counter()
            plan = session.handle(text).plan  # the same reading and retrieval, then every candidate scored
            for _ranking in session.rank(plan):
                pass
            base.append(time.perf_counter() - t0)
    session.handle("start over")
    app = asyncio.run(run_app(session, args.repeats))
    during_greeting = [asyncio.run(first_request_while_greeting(session)) for _ in range(args.repeats)]
    n = len(REQUESTS) * args.repeats
    print(f"user {args.user}, {args.candidates} candidates, model {model}, {os.cpu_count()} CPUs, "
          f"{len(REQUESTS)} requests x {args.repeats} repeats")
    rows = []
    for name, times in (("chat: Enter -> first rows", app["first"]), ("chat: Enter -> final ranking", app["final"]),
                        ("chat: first request during the greeting -> first rows", during_greeting),
                        ("baseline: the whole ranking returns (no progressive rows)", base)):
        med = statistics.median(times)
        rows.append([name, f"{med:.2f}", f"{min(times):.2f}-{max(times):.2f}", f"{statistics.median(base) / med:.1f}x", str(len(times))])
    print_table(["path", "seconds (median)", "range", "baseline / path", "n"], rows)
    session.close()
    print_table(["a chat reopened after one rating", "seconds (median)", "range", "n"], reopened_table(copy, args))
    print(f"Enter -> first rows: {statistics.median(app['first']):.2f} s median ({n} requests)")


if __name__ == "__main__":
    main()
