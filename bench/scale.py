"""Scale: import, collaborative fit and request latency on seeded synthetic stores of growing size.

    .venv/bin/python bench/scale.py [--shapes ml100k,ml1m,items15k,ml20m,bx] [--work DIR] [--md FILE]

Each shape is written in the ML-100K GroupLens layout (u.data sorted by user, as ML-20M's
ratings.csv is; u.item with genre flags), Zipf-like item popularity and log-normal user activity,
seeded. Every step runs in a child process whose peak memory (ru_maxrss) and wall time are read:
`engine data import ml-100k`, the collaborative fit the engine chooses (and each forced model that
fits the budget: RECCHAT_COLLAB_MODEL), then the request path without the LLM (store reads, retrieval,
like-rates: `engine.rank.recommend.retrieve`, median of 5), the chat's whole request in a running process
(the cached model and the LLM loaded once, then `recommend`: retrieval, P(Yes) of 50 candidates, the
stack; first and median of 3) and `engine recommend` as a fresh process. The served model's fit is
cached, so both requests come after the fit. The ML-100K shape is the baseline of the same run.

    .venv/bin/python bench/scale.py --shapes imdb [--scale 0.01] [--work DIR]

`imdb`: a synthetic IMDb dump of the real size at --scale 1 (11M title.basics rows of which 700,000 movies,
1.5M rated titles, 90M title.principals rows, 14M names; gzipped at level 1: x0.01 writes in about 2 s) and
a MovieLens CSV release of ML-32M's 87,585 movies linked to it (both scaled); times `import_imdb_datasets` (what
`engine data import imdb-datasets` runs) in a child (wall, peak RSS) and the store's growth per film kept.
Goal at x1: <= 15 minutes, <= 1.5 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Shape:
    name: str
    users: int
    items: int
    ratings: int
    layout: str = "grouplens"  # or "csv": a MovieLens CSV release (ML-20M/25M/32M), `engine data import movielens`


SHAPES = {s.name: s for s in (
    Shape("tiny", 300, 400, 6_000),  # the test's shape: seconds
    Shape("ml100k", 943, 1_682, 100_000),
    Shape("ml1m", 6_040, 3_706, 1_000_000),
    Shape("items15k", 20_000, 15_000, 1_000_000),
    Shape("ml20m", 138_000, 27_000, 20_000_000),
    Shape("bx", 100_000, 340_000, 1_100_000),
    Shape("ml32m", 200_948, 87_585, 32_000_000, "csv"),  # GroupLens' ML-32M: movies.csv, ratings.csv, ...
    Shape("tinycsv", 300, 400, 6_000, "csv"),  # the test's CSV shape
)}
GENRE_FLAGS = 19


# ------------------------------------------------------------------ data
def ratings_table(shape: Shape, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, rating) arrays, unique pairs, sorted by user: Zipf-like items, log-normal activity."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / (np.arange(shape.items) + 10.0) ** 1.05
    pop = rng.permutation(pop / pop.sum())
    act = rng.lognormal(0.0, 1.0, shape.users)
    act /= act.sum()
    users, items = np.empty(0, np.int64), np.empty(0, np.int64)
    need = shape.ratings
    while len(users) < shape.ratings:
        draw = int(need * 1.3) + 1000
        u = rng.choice(shape.users, draw, p=act)
        i = rng.choice(shape.items, draw, p=pop)
        key = np.unique(np.concatenate([users * shape.items + items, u * shape.items + i]))
        users, items = key // shape.items, key % shape.items
        need = shape.ratings - len(users)
    keep = np.sort(rng.choice(len(users), shape.ratings, replace=False))
    users, items = users[keep], items[keep]
    quality = rng.normal(3.4, 0.6, shape.items)
    bias = rng.normal(0.0, 0.5, shape.users)
    stars = np.clip(np.rint(quality[items] + bias[users] + rng.normal(0, 0.9, len(users))), 1, 5).astype(np.int64)
    return users + 1, items + 1, stars


def write_grouplens(shape: Shape, folder: Path, seed: int = 0) -> str:
    """Write u.data and u.item; returns the name of an active user (90th percentile of ratings) to ask for."""
    folder.mkdir(parents=True, exist_ok=True)
    users, items, stars = ratings_table(shape, seed)
    ids, counts = np.unique(users, return_counts=True)
    asker = f"ml100k-{ids[np.argsort(counts)[int(0.9 * (len(ids) - 1))]]}"
    ts = 874_000_000 + np.arange(len(users)) % 10_000_000
    with open(folder / "u.data", "w") as f:
        for k in range(0, len(users), 500_000):
            s = slice(k, k + 500_000)
            f.write("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in
                            zip(users[s].tolist(), items[s].tolist(), stars[s].tolist(), ts[s].tolist())))
    rng = np.random.default_rng(seed + 1)
    years = rng.integers(1930, 2020, shape.items)
    genres = rng.random((shape.items, GENRE_FLAGS)) < 0.12
    with open(folder / "u.item", "w", encoding="iso-8859-1") as f:
        for k in range(shape.items):
            flags = "|".join("1" if g else "0" for g in genres[k])
            f.write(f"{k + 1}|Synthetic Movie {k + 1} ({years[k]})|01-Jan-{years[k]}||http://example.org|{flags}\n")
    return asker


def write_csv_release(shape: Shape, folder: Path, seed: int = 0) -> str:
    """A MovieLens CSV release of the shape (ratings.csv sorted by user, half stars, Unix times; movies.csv with
    quoted titles and |-genres; links.csv; tags.csv; a README naming ml-32m); returns the user to ask for."""
    folder.mkdir(parents=True, exist_ok=True)
    users, items, stars = ratings_table(shape, seed)
    ids, counts = np.unique(users, return_counts=True)
    asker = f"ml-32m-{ids[np.argsort(counts)[int(0.9 * (len(ids) - 1))]]}"
    ts = 874_000_000 + np.arange(len(users)) % 400_000_000
    half = np.where(np.arange(len(users)) % 3 == 0, -0.5, 0.0)  # a third of the ratings on a half star
    with open(folder / "ratings.csv", "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for k in range(0, len(users), 500_000):
            s = slice(k, k + 500_000)
            f.write("".join(f"{u},{i},{r},{t}\n" for u, i, r, t in
                            zip(users[s].tolist(), items[s].tolist(), (stars[s] + half[s]).tolist(), ts[s].tolist())))
    rng = np.random.default_rng(seed + 1)
    years = rng.integers(1930, 2024, shape.items)
    names = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
             "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
    genres = rng.random((shape.items, len(names))) < 0.12
    with open(folder / "movies.csv", "w") as f:
        f.write("movieId,title,genres\n")
        for k in range(shape.items):
            g = "|".join(n for n, on in zip(names, genres[k]) if on) or "(no genres listed)"
            f.write(f'{k + 1},"Synthetic Movie {k + 1}, The ({years[k]})",{g}\n')
    with open(folder / "links.csv", "w") as f:
        f.write("movieId,imdbId,tmdbId\n" + "".join(f"{k + 1},{1_000_000 + k:07d},{k + 1}\n" for k in range(shape.items)))
    with open(folder / "tags.csv", "w") as f:
        f.write("userId,movieId,tag,timestamp\n")
        f.write("".join(f"{1 + k % shape.users},{1 + k % shape.items},tag {k % 50},{k}\n" for k in range(shape.items * 2)))
    (folder / "README.txt").write_text("Summary\n=======\n\nThis dataset (ml-32m) describes 5-star rating ...\n")
    return asker


# ------------------------------------------------------------------ an IMDb dump
@dataclass(frozen=True)
class ImdbShape:
    """IMDb's non-commercial datasets as of 2026, and the catalog they enrich (ML-32M's movies)."""

    titles: int = 11_000_000
    movies: int = 700_000
    rated: int = 1_500_000
    principals: int = 90_000_000
    names: int = 14_000_000
    catalog: int = 87_585

    def scaled(self, factor: float) -> "ImdbShape":
        return ImdbShape(*(max(round(getattr(self, k) * factor), 10) for k in
                           ("titles", "movies", "rated", "principals", "names", "catalog")))


IMDB_GENRES = ("Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
               "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Sci-Fi", "Sport", "Thriller", "War")
OTHER_TYPES = ("tvEpisode", "short", "tvSeries", "video", "tvMovie", "tvMiniSeries", "videoGame")
OTHER_SHARES = (0.80, 0.09, 0.025, 0.03, 0.03, 0.005, 0.02)
CATEGORIES = ("actor", "actress", "self", "director", "writer", "producer", "composer", "cinematographer", "editor")
CATEGORY_SHARES = (0.33, 0.22, 0.15, 0.05, 0.08, 0.08, 0.03, 0.03, 0.03)
MOVIE_PRINCIPALS = 4.0  # a movie lists this many times the principals of another title (its full cast)
IMDB_CHUNK = 250_000  # titles generated and written at once
NULL = "\\N"  # IMDb's missing value
CHARACTER = '["Character %d"]'  # IMDb's characters field: a JSON list, quotes and all


@dataclass(frozen=True)
class ImdbDump:
    folder: Path
    catalog: Path  # the MovieLens release linked to it
    shape: ImdbShape
    popular_movies: int  # movies (not adult) with >= DEFAULT_MIN_VOTES votes


def _gz(path: Path):
    import gzip

    return gzip.open(path, "wt", encoding="utf-8", compresslevel=1, newline="")


def imdb_titles(shape: ImdbShape, seed: int = 0) -> dict[str, np.ndarray]:
    """Per title (tconst number = index + 1): movie or not, adult, year, votes (0: unrated), principals count."""
    rng = np.random.default_rng(seed)
    n = shape.titles
    movie = np.zeros(n, bool)
    movie[rng.choice(n, shape.movies, replace=False)] = True
    adult = movie & (rng.random(n) < 0.01)
    year = np.clip(np.rint(2025 - rng.exponential(22, n)), 1894, 2026).astype(np.int64)
    # rated titles: movies three times as likely as another title; votes log-normal, movies' heavier
    weight = np.where(movie, 3.0, 1.0)
    rated = np.zeros(n, bool)
    rated[weighted_sample(rng, weight, shape.rated)] = True
    votes = np.where(rated, np.maximum(5, np.exp(rng.normal(np.where(movie, 5.0, 4.0), np.where(movie, 2.2, 1.8)))), 0)
    per = np.where(movie, MOVIE_PRINCIPALS, 1.0)
    per = per / per.sum() * shape.principals
    principals = np.floor(per + rng.random(n)).astype(np.int64)
    return {"movie": movie, "adult": adult, "year": year, "votes": votes.astype(np.int64), "principals": principals}


def write_imdb_dump(shape: ImdbShape, work: Path, seed: int = 0) -> ImdbDump:
    """IMDb's five files as IMDb writes them (tabs, \\N, no quoting, sorted by tconst), gzipped at level 1, and a
    MovieLens CSV release whose links.csv names `shape.catalog` of the movies, most voted first-ish."""
    from db.importers.imdb_datasets import DEFAULT_MIN_VOTES

    folder = work / "imdb"
    folder.mkdir(parents=True, exist_ok=True)
    t = imdb_titles(shape, seed)
    rng = np.random.default_rng(seed + 1)
    n = shape.titles
    kind_names = ("movie", *OTHER_TYPES)
    kinds = np.where(t["movie"], 0, 1 + rng.choice(len(OTHER_TYPES), n, p=OTHER_SHARES)).astype(np.int8)
    with _gz(folder / "title.ratings.tsv.gz") as f:
        f.write("tconst\taverageRating\tnumVotes\n")
        idx = np.flatnonzero(t["votes"])
        ratings = np.round(rng.uniform(1, 10, len(idx)), 1)
        for k in range(0, len(idx), IMDB_CHUNK):
            s = slice(k, k + IMDB_CHUNK)
            f.write("".join(f"tt{i + 1:07d}\t{r}\t{v}\n" for i, r, v in
                            zip(idx[s].tolist(), ratings[s].tolist(), t["votes"][idx[s]].tolist())))
    genres = [",".join(sorted(set(rng.choice(IMDB_GENRES, 3).tolist()))) for _ in range(256)]
    with _gz(folder / "title.basics.tsv.gz") as b, _gz(folder / "title.crew.tsv.gz") as c, \
            _gz(folder / "title.principals.tsv.gz") as p:
        b.write("tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\truntimeMinutes\tgenres\n")
        c.write("tconst\tdirectors\twriters\n")
        p.write("tconst\tordering\tnconst\tcategory\tjob\tcharacters\n")
        for k in range(0, n, IMDB_CHUNK):
            ids = np.arange(k, min(k + IMDB_CHUNK, n))
            runtime = [str(r) if r % 7 else NULL for r in rng.integers(5, 200, len(ids)).tolist()]
            genre = rng.integers(0, len(genres), len(ids)).tolist()
            b.write("".join(
                f"tt{i + 1:07d}\t{kind_names[kind]}\tSynthetic Title {i + 1}\tSynthetic Title {i + 1}\t{int(a)}\t{y}\t{NULL}\t"
                f"{rt}\t{genres[g]}\n"
                for i, kind, a, y, rt, g in zip(ids.tolist(), kinds[ids].tolist(), t["adult"][ids].tolist(),
                                                t["year"][ids].tolist(), runtime, genre)))
            people = _people(rng, shape.names, len(ids) * 3).tolist()
            c.write("".join(f"tt{i + 1:07d}\tnm{d:07d}\t{f'nm{w1:07d},nm{w2:07d}' if i % 3 else NULL}\n"
                            for i, d, w1, w2 in zip(ids.tolist(), people[0::3], people[1::3], people[2::3])))
            counts = t["principals"][ids]
            title_of = np.repeat(ids, counts)
            ordering = np.arange(len(title_of)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
            who = _people(rng, shape.names, len(title_of))
            cat = rng.choice(len(CATEGORIES), len(title_of), p=CATEGORY_SHARES)
            for j in range(0, len(title_of), 1_000_000):
                s = slice(j, j + 1_000_000)
                p.write("".join(f"tt{i + 1:07d}\t{o}\tnm{w:07d}\t{CATEGORIES[cc]}\t{NULL}\t"
                                f"{CHARACTER % o if cc < 3 else NULL}\n"
                                for i, o, w, cc in zip(title_of[s].tolist(), ordering[s].tolist(), who[s].tolist(),
                                                       cat[s].tolist())))
    with _gz(folder / "name.basics.tsv.gz") as f:
        f.write("nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\tknownForTitles\n")
        for k in range(1, shape.names + 1, 1_000_000):
            f.write("".join(f"nm{i:07d}\tSynthetic Person {i}\t{1900 + i % 110 if i % 4 else NULL}\t{NULL}\t"
                            f"actor\ttt{1 + i % n:07d}\n" for i in range(k, min(k + 1_000_000, shape.names + 1))))
    popular = int(np.sum(t["movie"] & ~t["adult"] & (t["votes"] >= DEFAULT_MIN_VOTES)))
    return ImdbDump(folder, _imdb_catalog(t, shape, work / "ml-32m", rng), shape, popular)


def weighted_sample(rng, weight: np.ndarray, k: int) -> np.ndarray:
    """k indices drawn without replacement, each in proportion to its weight (Efraimidis-Spirakis keys: one
    pass, where numpy's weighted choice without replacement takes minutes at 11M)."""
    k = min(k, len(weight))
    keys = np.log(rng.random(len(weight))) / weight
    return np.argpartition(-keys, k - 1)[:k] if k else np.zeros(0, np.int64)


def _people(rng, names: int, size: int) -> np.ndarray:
    """nconst numbers, skewed to the low ones (a few people in many titles, as in IMDb)."""
    return 1 + np.floor(names * rng.random(size) ** 3).astype(np.int64)


def _imdb_catalog(t: dict[str, np.ndarray], shape: ImdbShape, folder: Path, rng) -> Path:
    """A MovieLens CSV release of `shape.catalog` movies drawn by votes (MovieLens holds the films people rate),
    each linked to its IMDb title, with one rating each."""
    folder.mkdir(parents=True, exist_ok=True)
    movies = np.flatnonzero(t["movie"])
    weight = np.sqrt(t["votes"][movies] + 1.0)
    chosen = np.sort(movies[weighted_sample(rng, weight, shape.catalog)])
    with open(folder / "movies.csv", "w") as f:
        f.write("movieId,title,genres\n")
        f.write("".join(f'{k + 1},"Synthetic Title {i + 1} ({y})",Drama\n'
                        for k, (i, y) in enumerate(zip(chosen.tolist(), t["year"][chosen].tolist()))))
    with open(folder / "links.csv", "w") as f:
        f.write("movieId,imdbId,tmdbId\n" + "".join(f"{k + 1},{i + 1:07d},\n" for k, i in enumerate(chosen.tolist())))
    with open(folder / "ratings.csv", "w") as f:
        f.write("userId,movieId,rating,timestamp\n" + "".join(f"{1 + k % 1000},{k + 1},4.0,{1_600_000_000 + k}\n"
                                                             for k in range(len(chosen))))
    (folder / "README.txt").write_text("Summary\n=======\n\nThis dataset (ml-32m) describes 5-star rating ...\n")
    return folder


def child_imdb(store: str, folder: str) -> None:
    """In a child: the IMDb import, its report as JSON (the parent reads its wall time and peak)."""
    from db import open_db
    from db.importers.imdb_datasets import import_imdb_datasets

    t0 = time.perf_counter()
    report = import_imdb_datasets(open_db(store), folder)
    print(json.dumps({"import_s": time.perf_counter() - t0, "added": report.added, "updated": report.updated,
                      "enriched": report.enriched, "bad": len(report.bad), "read": report.read}))


def store_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in (store, store.with_name(store.name + "-wal")) if p.exists())


def measure_imdb(scale: float, work: Path, log) -> dict:
    """Write the dump and its catalog, import the catalog, then time the IMDb import in a child."""
    shape = ImdbShape().scaled(scale)
    t0 = time.perf_counter()
    dump = write_imdb_dump(shape, work)
    written = time.perf_counter() - t0
    dump_mib = sum(p.stat().st_size for p in dump.folder.iterdir()) / 2**20
    log(f"imdb x{scale:g}: dump written in {written:.0f} s ({dump_mib:.0f} MiB gzipped); {dump.popular_movies:,} "
        f"movies past the default min votes")
    store = work / "imdb.db"
    store.unlink(missing_ok=True)
    env = {**os.environ, "RECCHAT_CACHE_DIR": str(work / "cache"), "RECCHAT_DATA_DIR": str(work / "data")}
    cat = run_child([engine_bin(), "data", "import", "movielens", str(dump.catalog), "--db", str(store)], env)
    if cat.code:
        raise SystemExit(f"catalog import failed: {cat.out[-400:]}")
    before = store_bytes(store)
    run = run_child([sys.executable, __file__, "--child-imdb", str(store), str(dump.folder)], env)
    res = json.loads(run.out.strip().splitlines()[-1]) if run.code == 0 else {}
    grown = store_bytes(store) - before
    films = res.get("enriched", 0) + res.get("added", {}).get("items", 0)
    row = {"scale": scale, **{k: getattr(shape, k) for k in ("titles", "movies", "rated", "principals", "names", "catalog")},
           "dump_mib": dump_mib, "write_s": written, "import_s": run.seconds, "import_gib": run.peak_gib,
           "films": films, "enriched": res.get("enriched"), "added": res.get("added", {}), "bad_rows": res.get("bad"),
           "store_growth_bytes": grown, "bytes_per_film": grown / films if films else 0.0, "exit": run.code,
           "error": "" if run.code == 0 else run.out.strip().splitlines()[-1][:200]}
    log(f"imdb x{scale:g}: {row}")
    shutil.rmtree(dump.folder)
    shutil.rmtree(dump.catalog)
    return row


def imdb_table(rows: list[dict]) -> str:
    head = ("| IMDb dump | title.basics | title.principals | names | catalog | films kept (enriched + added) | "
            "people / roles added | import s | peak GiB | store growth MB | bytes per film |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        a = r["added"]
        lines.append(f"| x{r['scale']:g} | {r['titles']:,} | {r['principals']:,} | {r['names']:,} | {r['catalog']:,} | "
                     f"{r['films']:,} ({r['enriched'] or 0:,} + {a.get('items', 0):,}) | {a.get('people', 0):,} / "
                     f"{a.get('item_people', 0):,} | {r['import_s']:.1f} | {r['import_gib']:.2f} | "
                     f"{r['store_growth_bytes'] / 1e6:.1f} | {r['bytes_per_film']:,.0f} |")
    return "\n".join(lines)


# ------------------------------------------------------------- children
@dataclass
class Run:
    seconds: float
    peak_gib: float
    out: str
    code: int


# A fresh, small process that starts the step and reports its peak: a child spawned straight from this
# parent would inherit the parent's resident set in ru_maxrss (Linux carries the high-water mark across
# the vfork/exec), flooring every peak at the generated ratings this process holds.
TRAMPOLINE = ("import os, subprocess, sys\n"
              "p = subprocess.Popen(sys.argv[1:])\n"
              "_, status, usage = os.wait4(p.pid, 0)\n"
              "print(f'{MARK}{usage.ru_maxrss}', flush=True)\n"
              "sys.exit(os.waitstatus_to_exitcode(status))\n")
MARK = "@@peak-kib "


def run_child(cmd: list[str], env: dict[str, str]) -> Run:
    """Wall time and peak resident memory of one step (its own ru_maxrss, read by a small trampoline)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", TRAMPOLINE.replace("{MARK}", MARK), *cmd], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - t0
    lines = proc.stdout.rstrip("\n").splitlines()
    peaks = [int(l[len(MARK):]) for l in lines if l.startswith(MARK)]
    out = "\n".join(l for l in lines if not l.startswith(MARK))
    return Run(seconds, (peaks[-1] if peaks else 0) / 2**20, out, proc.returncode)


def child_fit(store: str, user: str) -> None:
    """In a child: the engine's fit (RECCHAT_COLLAB_MODEL picks a model), then the request path without the LLM.

    The model served by default is saved where `engine recommend` looks, so the parent's recommend after
    it is a request after the fit, as in the chat."""
    from db import open_db
    from db.feedback import current_ratings, user_history
    from db.users import find_user
    from db.feedback import store_mark
    from engine.collab.model import CollabModel, fit_state, plan_fit, requested_kind
    from engine.collab.cache import cache_path
    from engine.rank.recommend import retrieve, with_like_rates
    from engine.rank.retrieval import Query
    from engine.rank.served import serving_order

    db = open_db(store, create=False)
    t0 = time.perf_counter()
    mark = store_mark(db, "movie")
    ratings = current_ratings(db, "movie")
    read = time.perf_counter() - t0
    plan = plan_fit(ratings.n_items, ratings.n_ratings, ratings.n_users)
    model = CollabModel.fit(ratings, state=fit_state("movie"), plan=plan, mark=mark)
    fit = time.perf_counter() - t0
    if requested_kind() == "auto":
        model.save(cache_path(db, "movie"))
    uid = find_user(db, user)
    t0 = time.perf_counter()
    order = serving_order(db, "movie", model, None)  # the catalog's signals: once per chat
    signals_s = time.perf_counter() - t0
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        history, cands = retrieve(db, order, uid, Query(domain="movie"), 50)
        with_like_rates(model, user_history(db, uid, "movie"), cands)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"kind": model.kind, "fit_s": fit, "read_s": read, "signals_s": signals_s,
                      "request_s": statistics.median(times),
                      "history": len(history), "why": plan.why}))


def child_request(store: str, user: str) -> None:
    """In a child: the chat's request after the fit, in a running process: the cached model, the learned order
    and the LLM loaded once, then `recommend` (channels, the ranker, LLM scoring of the 10 rows) three times."""
    from db import open_db
    from db.users import find_user
    from engine.llm.backends import open_scorer
    from engine.collab.cache import load_or_fit
    from engine.rank.recommend import recommend
    from engine.rank.retrieval import Query
    from engine.rank.served import serving_order

    db = open_db(store, create=False)
    t0 = time.perf_counter()
    scorer = open_scorer(None)
    collab = load_or_fit(db, "movie", log=lambda _: None)
    order = serving_order(db, "movie", collab, None)
    load = time.perf_counter() - t0
    uid = find_user(db, user)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        recommend(db, scorer, order, uid, query=Query(domain="movie"), top=10, n_candidates=50)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"load_s": load, "first_s": times[0], "median_s": statistics.median(times)}))


# ---------------------------------------------------------------- parent
def engine_bin() -> str:
    return str(Path(sys.executable).with_name("engine"))


def measure(shape: Shape, work: Path, with_llm: bool, log) -> list[dict]:
    from engine.collab.model import fit_need, memory_budget

    folder, store = work / shape.name, work / f"{shape.name}.db"
    if store.exists():
        store.unlink()
    t0 = time.perf_counter()
    csv = shape.layout == "csv"
    asker = (write_csv_release if csv else write_grouplens)(shape, folder)
    log(f"{shape.name}: data written in {time.perf_counter() - t0:.0f} s")
    env = {**os.environ, "RECCHAT_CACHE_DIR": str(work / "cache"), "RECCHAT_DATA_DIR": str(work / "data")}
    imp = run_child([engine_bin(), "data", "import", "movielens" if csv else "ml-100k", str(folder), "--db", str(store)], env)
    store_gib = store.stat().st_size / 2**30 if store.exists() else 0.0
    log(f"{shape.name}: import {imp.seconds:.0f} s, peak {imp.peak_gib:.2f} GiB, store {store_gib:.2f} GiB (exit {imp.code})")
    rows = []
    kinds = ["auto"] + [k for k in ("ease", "als") if fit_need(k, shape.items, shape.ratings, shape.users) <= memory_budget()
                        and not (k == "ease" and shape.items > 15_000)]  # EASE past 15k items: minutes, skipped
    for kind in kinds:
        if kind != "auto" and rows and rows[0]["model"] == kind:
            continue  # the model auto chose: measured above
        fit = run_child([sys.executable, __file__, "--child-fit", str(store), asker],
                        {**env, "RECCHAT_COLLAB_MODEL": kind})
        res = json.loads(fit.out.strip().splitlines()[-1]) if fit.code == 0 else {}
        row = {"shape": shape.name, "layout": shape.layout, "users": shape.users, "items": shape.items, "ratings": shape.ratings,
               "import_s": imp.seconds, "import_gib": imp.peak_gib, "store_gib": store_gib,
               "store_bytes_per_rating": store.stat().st_size / shape.ratings if store.exists() else 0.0, "asked": kind, "model": res.get("kind", "-"),
               "fit_s": res.get("fit_s"), "read_s": res.get("read_s"), "fit_gib": fit.peak_gib, "fit_child_s": fit.seconds,
               "request_s": res.get("request_s"), "exit": fit.code,
               "error": "" if fit.code == 0 else fit.out.strip().splitlines()[-1][:160]}
        log(f"{shape.name} [{kind}]: {row}")
        rows.append(row)
    if with_llm:
        rec = run_child([engine_bin(), "recommend", "--db", str(store), "--user", asker, "--top", "10"], env)
        rows[0]["recommend_s"] = rec.seconds  # a fresh process: start-up, the cached model, the LLM, 50 candidates
        rows[0]["recommend_gib"] = rec.peak_gib
        req = run_child([sys.executable, __file__, "--child-request", str(store), asker], env)
        res = json.loads(req.out.strip().splitlines()[-1]) if req.code == 0 else {}
        rows[0].update({f"llm_request_{k}": v for k, v in res.items()})
        log(f"{shape.name}: engine recommend {rec.seconds:.1f} s (exit {rec.code}); in-process request {res}")
    shutil.rmtree(folder)
    return rows


def table(rows: list[dict]) -> str:
    base = {r["asked"]: r for r in rows if r["shape"] == "ml100k"}
    head = ("| shape | users | items | ratings | import s | import GiB | store GiB (B/rating) | model (asked) | fit s (store read) | "
            "fit GiB | request s (no LLM) | request s (LLM, first / median of 3) | engine recommend s | fit s / ML-100K |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        ref = base.get(r["asked"]) or base.get("auto")
        ratio = f"{r['fit_s'] / ref['fit_s']:.2g}×" if r.get("fit_s") and ref and ref.get("fit_s") else "-"
        llm = (f"{r['llm_request_first_s']:.2f} / {r['llm_request_median_s']:.2f}" if r.get("llm_request_first_s")
               else "-")
        fit = (f"{r['fit_s']:.1f} ({r['read_s']:.1f})" if r.get("fit_s") is not None
               else f"refused: {r['error']}")
        lines.append(f"| {r['shape']} | {r['users']:,} | {r['items']:,} | {r['ratings']:,} | {r['import_s']:.0f} | "
                     f"{r['import_gib']:.2f} | {r['store_gib']:.2f} ({r.get('store_bytes_per_rating', 0):.0f}) | {r['model']} ({r['asked']}) | {fit} | {r['fit_gib']:.2f} | "
                     f"{r['request_s'] if r.get('request_s') is None else format(r['request_s'], '.3f')} | "
                     f"{llm} | {format(r['recommend_s'], '.1f') if r.get('recommend_s') else '-'} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="ml100k,ml1m,items15k,ml20m,bx", help="comma-separated: " + ", ".join(SHAPES) + ", imdb (an IMDb dump, sized by --scale)")
    ap.add_argument("--work", default=None, help="folder for the stores (default: a temp folder, removed)")
    ap.add_argument("--no-llm", action="store_true", help="skip the requests with the LLM (its part is the same at every size)")
    ap.add_argument("--md", default=None, help="also write the table here")
    ap.add_argument("--json", default=None, help="write the rows as JSON here")
    ap.add_argument("--child-fit", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-request", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-imdb", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, default=1.0, help="imdb: the dump's size as a share of the real one")
    args = ap.parse_args()
    if args.child_fit:
        return child_fit(*args.child_fit)
    if args.child_request:
        return child_request(*args.child_request)
    if args.child_imdb:
        return child_imdb(*args.child_imdb)
    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [n for n in names if n not in SHAPES and n != "imdb"]
    if unknown:
        ap.error(f"unknown shape(s): {', '.join(unknown)}")
    if not 0 < args.scale <= 1:
        ap.error("--scale must be in (0, 1]")
    if "ml100k" not in names and names != ["imdb"]:
        names.insert(0, "ml100k")  # the same-run baseline
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="recchat-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    imdb_rows: list[dict] = []

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    try:
        for name in names:
            if name == "imdb":
                imdb_rows.append(measure_imdb(args.scale, work, log))
            else:
                rows += measure(SHAPES[name], work, not args.no_llm, log)
            if args.json:
                Path(args.json).write_text(json.dumps(rows + imdb_rows, indent=1))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    out = "\n\n".join(t for t in (table(rows) if rows else "", imdb_table(imdb_rows) if imdb_rows else "") if t)
    print(out)
    if args.md:
        Path(args.md).write_text(out + "\n")


if __name__ == "__main__":
    main()
