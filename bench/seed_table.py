"""Mean and spread over seeds, from the JSON files `engine eval --json` wrote: one table, one command.

    .venv/bin/python bench/seed_table.py "K=16=results/k16-q8_0-movie-test.json,results/k16-s1-q8_0-movie-test.json" ...

Each argument is LABEL=FILE[,FILE...], one file per seed, seed order. The baselines of each run are
printed beside it: they do not depend on the seed, so they must agree across a row's files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402


def spread(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{statistics.mean(vals):.3f} ± {statistics.stdev(vals):.3f}"


def one(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def row(label: str, files: list[Path]) -> list[str]:
    runs = [json.loads(f.read_text()) for f in files]
    base = {(round(r["baselines"]["like_share"]["auc"], 6), round(r["baselines"]["feature_lr"]["auc"], 6)) for r in runs}
    if len(base) != 1:
        raise SystemExit(f"{label}: the files were evaluated on different data (baselines differ)")
    b = runs[0]["baselines"]
    auc, gauc = [r["auc"] for r in runs], [r.get("gauc") for r in runs]
    return [label, str(len(runs)), " / ".join(one(v) for v in auc), spread(auc),
            " / ".join(one(v) for v in gauc), spread(gauc),
            f"{one(b['like_share']['auc'])} / {one(b['like_share'].get('gauc'))}",
            f"{one(b['feature_lr']['auc'])} / {one(b['feature_lr'].get('gauc'))}"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="+", metavar="LABEL=FILE[,FILE...]")
    args = ap.parse_args(argv)
    rows = []
    for spec in args.rows:
        label, sep, files = spec.rpartition("=")
        if not sep or not label:
            ap.error(f"expected LABEL=FILE[,FILE...], got {spec!r}")
        paths = [Path(f) for f in files.split(",") if f]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            ap.error(f"no such file: {', '.join(missing)}")
        rows.append(row(label, paths))
    print_table(["model", "seeds", "AUC per seed", "AUC mean ± sd", "GAUC per seed", "GAUC mean ± sd",
                 "like-share AUC / GAUC", "feature LR AUC / GAUC"], rows)


if __name__ == "__main__":
    main()
