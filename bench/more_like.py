""""More like X" before and after: the old co-like retrieval against EASE, for 20 well-rated movies.

    .venv/bin/python bench/more_like.py [--db STORE]

For each of the 20 movies with the most likes among those liked by at least 75% of raters, the top
10 of "more like X" (no user history, as the chat's "more like" seeds) under both retrievals: the
share of the 10 that shares a genre with X, and the overlap with EASE's own 10 nearest items
(EASE's row of X; the "after" column is 1.0 by construction, kept as the check). Same store, one run.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ml100k_store, print_table  # noqa: E402

def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store with ML-100K imported (default: import into a temp store)")
    ap.add_argument("--json", default=None, help="write the per-movie rows here")
    args = ap.parse_args()

    from db import open_db
    from db.catalog import catalog_items, eligible_items
    from db.legacy import co_liked, well_liked
    from engine.collab.cache import fit_from_store
    from engine.rank.retrieval import Query, candidates

    db = open_db(ml100k_store(args.db), create=False)
    model = fit_from_store(db, "movie")
    catalog = catalog_items(db, "movie")
    genres = {i: set(filter(None, (item.genres or "").split(", "))) for i, item in catalog.items()}
    names = {i: item.name for i, item in catalog.items()}
    rows, per_movie = [], []
    for movie in well_liked(db, "movie"):
        x, name = movie.id, movie.name
        before = co_liked(db, x)
        eligible = eligible_items(db, None, Query().item_filter(), exclude=(x,))
        after = [c.item.id for c in candidates(model, eligible, [x], Query(), 10)]
        ease_nn = set(after)  # EASE's row of X over unrated items: what "after" serves

        def share(ids: list[int]) -> float:
            return sum(bool(genres[i] & genres[x]) for i in ids) / len(ids)

        per_movie.append({"movie": name, "genre_share_before": share(before), "genre_share_after": share(after),
                          "ease_overlap_before": len(set(before) & ease_nn) / 10,
                          "ease_overlap_after": len(set(after) & ease_nn) / 10,
                          "before": [names[i] for i in before], "after": [names[i] for i in after]})
        rows.append([name[:34], f"{share(before):.1f}", f"{share(after):.1f}", f"{len(set(before) & ease_nn) / 10:.1f}"])
    print_table(["movie X", "genre share before", "genre share after", "EASE overlap before"], rows)
    mean = {k: statistics.mean(p[k] for p in per_movie) for k in
            ("genre_share_before", "genre_share_after", "ease_overlap_before", "ease_overlap_after")}
    print(f"mean over {len(per_movie)} movies: genre share {mean['genre_share_before']:.2f} (co-like) -> "
          f"{mean['genre_share_after']:.2f} (EASE); overlap with EASE's neighbours {mean['ease_overlap_before']:.2f} -> "
          f"{mean['ease_overlap_after']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"mean": mean, "movies": per_movie}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
