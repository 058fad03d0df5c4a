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

# The retrieval this issue replaced (engine/retrieval.py before EASE): distinct neighbours who co-liked.
CO_LIKE_SQL = """
WITH neighbours AS (SELECT DISTINCT user_id FROM feedback WHERE item_id = :x AND liked = 1),
co AS (SELECT f2.item_id, COUNT(DISTINCT f2.user_id) AS n FROM neighbours nb
       JOIN feedback f2 ON f2.user_id = nb.user_id AND f2.liked = 1 GROUP BY f2.item_id),
pop AS (SELECT item_id, COUNT(*) AS n FROM feedback WHERE liked = 1 GROUP BY item_id)
SELECT i.id FROM items i LEFT JOIN co ON co.item_id = i.id LEFT JOIN pop ON pop.item_id = i.id
WHERE i.domain = 'movie' AND i.id != :x
ORDER BY COALESCE(co.n, 0) + COALESCE(pop.n, 0) / 1e6 DESC, i.id LIMIT 10"""


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store with ML-100K imported (default: import into a temp store)")
    ap.add_argument("--json", default=None, help="write the per-movie rows here")
    args = ap.parse_args()

    from db import open_db
    from engine.collab import catalog_items
    from engine.collab_cache import fit_from_store
    from engine.retrieval import Query, candidates

    db = open_db(ml100k_store(args.db), create=False)
    model = fit_from_store(db, "movie")
    movies = db.execute("""SELECT i.id, i.name, i.genres FROM current_feedback c JOIN items i ON i.id = c.item_id
                           WHERE i.domain = 'movie' GROUP BY i.id HAVING AVG(c.liked) >= 0.75
                           ORDER BY SUM(c.liked) DESC, i.id LIMIT 20""").fetchall()
    genres = {r[0]: set(filter(None, (r[1] or "").split(", "))) for r in db.execute("SELECT id, genres FROM items")}
    names = {i: item.name for i, item in catalog_items(db, "movie").items()}
    rows, per_movie = [], []
    for x, name, _ in movies:
        before = [r[0] for r in db.execute(CO_LIKE_SQL, {"x": x})]
        after = [c.item.id for c in candidates(db, model, None, Query(), 10, extra_liked=(x,))]
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
