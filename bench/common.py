"""Shared bench helpers: a real ML-100K store and user, medians over repeats, tables."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def ml100k_store(db: str | None) -> Path:
    """The given store, or ML-100K imported into a temp store (from ../shared, else the fetched copy)."""
    from db import open_db
    from db.fetch import cached_ml100k, default_ml100k_dir, fetch_ml100k
    from db.importers import import_ml100k

    if db:
        return Path(db)
    path = Path(tempfile.mkdtemp()) / "bench.db"
    src = SHARED / "ml-100k" if (SHARED / "ml-100k").exists() else (cached_ml100k(default_ml100k_dir()) or fetch_ml100k())
    import_ml100k(open_db(path), src)
    return path


def user_bench_parser(doc: str | None):
    """The options every one-user benchmark takes: store, user, candidates, repeats, model."""
    import argparse

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store with ML-100K imported (default: import into a temp store)")
    ap.add_argument("--user", default="ml100k-196")
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="GGUF (default: the rec-tuned SmolLM2, built on first use)")
    return ap


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    """Wall seconds of each repeat and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def rate_row(name: str, n: int, times: list[float], unit: str, base: float | None = None, note: str = "") -> list[str]:
    med = statistics.median(times)
    rate = n / med
    return [name, f"{rate:.2f}", f"{n / max(times):.2f}-{n / min(times):.2f}", f"{med:.2f}",
            f"{rate / base:.1f}x" if base else "1.0x", note]


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


DAY = 86_400.0


def age_weights(ts, half_life_days: float, newest: float | None = None):
    """0.5 ** (age / half-life) per rating, its age counted back from `newest` (default: the newest of
    `ts`); half-life 0 = every rating weighs 1. What the time benches weight ratings by."""
    import numpy as np

    ts = np.asarray(ts, dtype=np.float64)
    if half_life_days == 0:
        return np.ones_like(ts)
    newest = float(ts.max()) if newest is None else newest
    return 0.5 ** ((newest - ts) / (half_life_days * DAY))


def timed_holdout(db_path: str, dataset: str | None, n_users: int):
    """eval-catalog's hold-out of a store's catalog, its two halves' sampled users (fit half: validation,
    evaluation half: test) and each training rating's timestamp: what the time benches share."""
    import numpy as np

    from db import open_db
    from db.catalogs import use_catalog
    from db.snapshot import read_domain
    from engine.evaluation import holdout

    db = open_db(db_path, create=False)
    use_catalog(db, "movie", dataset)
    snap = read_domain(db, "movie")
    split = holdout.holdout_split(snap)
    fit_half, eval_half = (holdout.sample_users(h, n_users) for h in holdout.partition(split.users))
    when = {(u, h.item_id): h.ts for u, hs in snap.timelines.items() for h in hs}
    ts = np.array([when.get((int(u), int(i)), 0.0) for u, i in zip(split.train.users, split.train.items)])
    return snap, split, fit_half, eval_half, ts



def mls_store(db: str | None) -> Path:
    """The given store, or ml-latest-small (with its tags) imported from ../shared into a temp store."""
    from db import open_db
    from db.importers.movielens import import_movielens

    if db:
        return Path(db)
    path = Path(tempfile.mkdtemp()) / "mls.db"
    import_movielens(open_db(path), SHARED / "ml-latest-small")
    return path
