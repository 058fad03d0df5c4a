"""A new store's first answer, and the chat's speed once IMDb's films join the catalog.

    .venv/bin/python bench/first_answer.py [--added 15000] [--repeats 3]

1. A new store (empty user cache for the collaborative model): `engine data import movielens` of
   ml-latest-small (which now ends by fitting what the first answer needs), then the first `engine ask`
   on it, each timed as a whole process (model load included), then later ones.
2. An IMDb dump the bench writes in IMDb's format (every ml-latest-small film by its IMDb id, plus
   `--added` films the catalog lacks, all above the default --min-votes) imported with `engine data import
   imdb-datasets`; then `engine recommend` and `engine ask` timed again, beside the same commands on the
   store before the import (same run, medians of --repeats).
Run it alone: two llama.cpp processes on 2 cores slow each other tenfold.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED, print_table  # noqa: E402

ENGINE = [sys.executable, "-c", "from engine.cli import main; main()"]
ASK = ["ask", "--user", "bench-new-person", "I loved Inception and The Dark Knight, something mind-bending"]


def timed(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(ENGINE + args, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed: {r.stderr.strip()[-400:]}")
    return time.perf_counter() - t0


def write_dump(folder: Path, added: int, seed: int = 0) -> None:
    """IMDb's five files: every ml-latest-small film by its link, plus `added` films it lacks."""
    rng = np.random.default_rng(seed)
    links = list(csv.DictReader((SHARED / "ml-latest-small" / "links.csv").open()))
    movies = {r["movieId"]: r for r in csv.DictReader((SHARED / "ml-latest-small" / "movies.csv").open())}
    folder.mkdir(parents=True, exist_ok=True)
    genres = ["Action", "Comedy", "Drama", "Thriller", "Sci-Fi", "Romance", "Horror", "Adventure", "Crime"]
    basics, ratings, crew, principals = [], [], [], []
    for k, link in enumerate(links):
        t = f"tt{int(link['imdbId']):07d}"
        title = movies[link["movieId"]]["title"].rsplit(" (", 1)[0]
        basics.append((t, "movie", title, title, "0", "2000", r"\N", str(80 + k % 80), "Drama"))
        ratings.append((t, "7.0", str(1000 + k)))
    for k in range(added):
        t = f"tt9{k:07d}"
        year = int(rng.integers(2015, 2027))
        g = ",".join(rng.choice(genres, 2, replace=False))
        title = f"Synthetic Picture {k}"
        basics.append((t, "movie", title, title, "0", str(year), r"\N", str(int(rng.integers(80, 180))), g))
        ratings.append((t, f"{rng.uniform(5, 9):.1f}", str(int(10_000 * np.exp(rng.exponential(1.5))))))
    for k, row in enumerate(basics):
        crew.append((row[0], f"nm{k % 5000:07d}", r"\N"))
        for o in range(1, 4):
            principals.append((row[0], str(o), f"nm{(k * 7 + o) % 20000:07d}", "actor", r"\N", r"\N"))
    names = [(f"nm{k:07d}", f"Person {k}", "1970", r"\N", "actor", r"\N") for k in range(20000)]
    files = {
        "title.basics": (("tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear",
                          "runtimeMinutes", "genres"), basics),
        "title.ratings": (("tconst", "averageRating", "numVotes"), ratings),
        "title.crew": (("tconst", "directors", "writers"), crew),
        "title.principals": (("tconst", "ordering", "nconst", "category", "job", "characters"), principals),
        "name.basics": (("nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"), names),
    }
    for name, (header, rows) in files.items():
        with gzip.open(folder / f"{name}.tsv.gz", "wt", encoding="utf-8", compresslevel=1) as f:
            f.write("\t".join(header) + "\n")
            f.writelines("\t".join(r) + "\n" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--added", type=int, default=15000, help="films the IMDb dump adds to the catalog")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp())
    env = {**os.environ, "RECCHAT_CACHE_DIR": str(work / "cache"), "RECCHAT_DATA_DIR": str(work / "data"),
           "RECCHAT_DB": str(work / "store.db"), "RECCHAT_FIT_AFTER_IMPORT": "1"}
    default_models = Path(os.environ.get("RECCHAT_CACHE_DIR", Path.home() / ".cache" / "recchat")) / "models"
    if default_models.exists():  # the default GGUF is built once per machine (20 s), not what this measures
        shutil.copytree(default_models, work / "cache" / "models")
    rows = []
    t_import = timed(["data", "import", "movielens", str(SHARED / "ml-latest-small")], env)
    first = timed(ASK, env)
    rows.append(["import ml-latest-small (with the fit)", f"{t_import:.1f}", ""])
    rows.append(["first engine ask on the new store", f"{first:.1f}", "goal <= 5 s; before: 40 s"])
    before = {name: statistics.median(timed(cmd, env) for _ in range(args.repeats))
              for name, cmd in (("engine ask", ASK), ("engine recommend", ["recommend", "--user", "ml-latest-small-414"]))}
    write_dump(work / "imdb", args.added)
    t_imdb = timed(["data", "import", "imdb-datasets", str(work / "imdb")], env)
    rows.append([f"import the IMDb dump (+{args.added:,} films, with the refit)", f"{t_imdb:.1f}", ""])
    after = {name: statistics.median(timed(cmd, env) for _ in range(args.repeats))
             for name, cmd in (("engine ask", ASK), ("engine recommend", ["recommend", "--user", "ml-latest-small-414"]))}
    for name in before:
        rows.append([f"{name}: ml-latest-small alone / with IMDb's films", f"{before[name]:.1f} / {after[name]:.1f}",
                     f"{after[name] / before[name]:.2f}x (goal <= 1.5x)"])
    print_table(["step", "seconds", "note"], rows)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
