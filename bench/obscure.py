"""Do obscure titles lead narrow lists? Share of top-10 rows with fewer than 10 ratings, twenty requests.

    .venv/bin/python bench/obscure.py --db STORE [--dataset NAME] [--users ml100k-196,newbie] [--no-llm]
        [--support 0,SUPPORT_PRIOR]

Each request is read and ranked by the chat itself (engine.chat.session: reading, retrieval, the stack,
the rank head) in a conversation of its own, for each user: a person with a history and a new one
with none. A row counts as obscure when the collaborative model holds fewer than 10 ratings of it.
`--support` reruns the same requests with each value of the rank key's support prior
(engine.rank.handset.SUPPORT_PRIOR; 0 = no support term), in this run; the full-catalog NDCG@10 it has to
keep is `engine eval-catalog`'s pipeline row, printed here for the fit half (validation: choose the prior
there) and the evaluation half (test), eval-catalog's users. `--no-llm`: the no-LLM stack ranks (a
scorer whose P(Yes) is constant), minutes faster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402

REQUESTS = ["old comedies", "80s horror", "only westerns", "a musical", "film noir", "war movies from the 60s",
            "documentaries", "70s sci-fi", "animated films", "a silent film", "90s crime", "romance from the 50s",
            "only children's movies", "a thriller from the 40s", "mystery", "60s comedy", "fantasy from the 80s",
            "only action from the 70s", "an old western", "2000s drama"]
OBSCURE = 10  # fewer ratings than this: an obscure row


class ConstantScorer:
    """P(Yes) 0.5 for every prompt, no model identity: the chat ranks by the stack without the LLM."""

    name = "no-llm"
    identity = "no-llm"

    def __init__(self):
        from db.scoring import PromptSettings

        self.prompts = PromptSettings()

    def score(self, prompts, progress=None):
        from db.scoring import Score

        return [Score(0.0, 0.0) for _ in prompts]


def run(db: str, dataset: str | None, user: str, no_llm: bool, scorer_cache: dict) -> list[dict]:
    from engine.chat.session import ChatSession

    def factory():
        if "s" not in scorer_cache:
            from engine.llm.backends import open_scorer

            scorer_cache["s"] = ConstantScorer() if no_llm else open_scorer(None)
        return scorer_cache["s"]

    session = ChatSession(db, user, dataset=dataset, scorer_factory=factory, new_chat=True)
    session.load_model()
    model = session.collab.current()
    out = []
    for text in REQUESTS:
        session.handle("start over")
        reply = session.handle(text)
        if reply.plan is None or not reply.plan.candidates:
            out.append({"request": text, "rows": 0, "obscure": 0, "first": ""})
            continue
        final = list(session.rank(reply.plan))[-1].items[:10]
        counts = np.rint(np.expm1(model.popularity([r.item.id for r in final])))  # ratings held (0: unknown)
        out.append({"request": text, "rows": len(final), "obscure": int((counts < OBSCURE).sum()),
                    "first": final[0].item.name if final else ""})
    session.close()
    return out


def holdout_ndcg(db_path: str, dataset: str | None, n_users: int):
    """NDCG@10 of the served pipeline without the LLM on eval-catalog's hold-out (same split, users, model),
    under whatever SUPPORT_PRIOR is set when the returned function is called: (fit half, evaluation half).
    The prior is chosen on the fit half (its users fitted the rank head, never the evaluated ones)."""
    from db import open_db
    from db.catalogs import use_catalog
    from db.snapshot import read_domain
    from engine.evaluation import holdout
    from engine.collab.model import CollabModel
    from engine.rank.stack import find_stack

    db = open_db(db_path, create=False)
    use_catalog(db, "movie", dataset)
    snap = read_domain(db, "movie")
    split = holdout.holdout_split(snap)
    halves = holdout.partition(split.users)  # (fit half: validation, evaluation half: test)
    splits = [holdout.HoldoutSplit(split.train, holdout.sample_users(h, n_users), split.catalog) for h in halves]
    model = CollabModel.fit(split.train)
    stack = find_stack(None, "movie", model.kind, snap.dataset)
    if stack is None:
        raise SystemExit(f"no stack without the LLM for {snap.dataset}: engine stack fit --no-llm first")
    ranker = holdout.pipeline_ranker(model, stack, None, "movie", 50, snap.items)
    return lambda: tuple(holdout.evaluate_rankers(s, {"pipeline": ranker})["pipeline"]["ndcg@10"] for s in splits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--users", default="ml100k-196,bench-newcomer")
    ap.add_argument("--no-llm", action="store_true")
    ap.add_argument("--support", default=None, help="support priors to compare in this run (comma-separated)")
    ap.add_argument("--detail", action="store_true", help="one row per request")
    ap.add_argument("--ndcg-users", type=int, default=200, help="users of eval-catalog's hold-out for NDCG@10")
    args = ap.parse_args()

    import engine.rank.handset as rec

    supports = [float(x) for x in args.support.split(",")] if args.support else [rec.SUPPORT_PRIOR]
    ndcg = holdout_ndcg(args.db, args.dataset, args.ndcg_users)
    scorer_cache: dict = {}
    rows = []
    for support in supports:
        rec.SUPPORT_PRIOR = support
        n10 = ndcg()
        for user in args.users.split(","):
            got = run(args.db, args.dataset, user, args.no_llm, scorer_cache)
            n, bad = sum(r["rows"] for r in got), sum(r["obscure"] for r in got)
            rows.append([f"{support:g}", user, str(len(got)), str(n), f"{bad / max(n, 1):.3f}",
                         str(sum(1 for r in got if r["obscure"])), f"{n10[0]:.4f}", f"{n10[1]:.4f}"])
            if args.detail:
                for r in got:
                    print(f"  support {support:g} {user}: {r['request']:<26} {r['obscure']}/{r['rows']} obscure; "
                          f"first {r['first']}")
    print_table(["support prior", "user", "requests", "top-10 rows", f"share < {OBSCURE} ratings",
                 "requests with any", "NDCG@10 validation (fit half)", "NDCG@10 test (evaluation half)"], rows)


if __name__ == "__main__":
    main()
