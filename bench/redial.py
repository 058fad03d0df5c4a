"""The field's recommendation protocol on ReDial (Li et al., NeurIPS 2018), beside bench/inspired.py.

    .venv/bin/python bench/redial.py --db STORE [--limit N] [--seed S] [--part fit|validation|all]
                                     [--both-sides] [--among-catalog-only] [--llm] [--json PATH]

Data (--data DIR, default ../shared/data/redial-dev): the 667 dialogues of ReDial's test file with an odd
conversationId (dialogues.jsonl) and movies_with_mentions.csv (movieId, movieName, nbMentions over all of
ReDial). ReDial's other half is held out for checks outside this repository: this bench never reads it.
STORE: a store with ml-latest-small (`engine data import movielens PATH --db STORE`; default: imported from
../shared into a temp store). The chat's new users go to a temp copy; the collaborative model is the STORE's
(cached after its first fit, about 45 s) and frozen, so no dialogue's ratings reach another's model.

The protocol (Recall@K over the recommender's movies, repeats removed: He et al. 2023, Kostric & Balog 2026):
- a request at every recommender turn (consecutive recommender messages merged into one turn, as the field's
  ReDial preprocessing merges a speaker's consecutive utterances) that names a movie the dialogue had not
  named before; its targets are those movies, each once; a movie named before (by either side) is a repeat,
  and so is a new ReDial id of a catalog film the dialogue already named ("American Pie" after "American Pie
  (1999)"); targets are every new movie the turn names, as the field takes them, not only those a form marks
  `suggested` (the share that is marked is printed);
- the input: the seeker's messages before the turn, each `@id` written as the movie's name as ReDial shows it,
  double spaces collapsed; --both-sides feeds the recommender's messages too, in order;
- ReDial's names ("Title (Year)", about 9 % without a year) map to the catalog with the product's title
  linker (TitleIndex.link, as for an imported history: title forms, a typo in a long title, the year or one
  off); where two films fit, the chat's own pick (ChatSession.find_title) if it is one of them, else the
  linker's first. Not `--among`'s line reader: it retries "Jumanji (2017)" as a title without its year, which
  links the 1995 film (and "Renoir (2012)" the film "2012"). A target the catalog lacks is a miss for every
  ranker, so Recall@10 over the targets the catalog holds is printed too;
- the candidates: ReDial's movies that map to the catalog (the chat's `--among`), less those the dialogue
  already named; --among-catalog-only ranks the whole catalog instead (the chat without `--among`);
- rankers, all on the same requests: the chat (ChatSession: a new user per dialogue, each message through
  `handle`, then the ranking of its plan, as bench/inspired.py: the learned ranker's order, the LLM's P(Yes)
  held at 0.5; --llm adds the real default model's P(Yes), which does not change the order);
  popularity by ReDial's mention counts (nbMentions, which counts these dialogues too, and the same less the
  dialogue's own mentions); popularity by MovieLens ratings; EASE from the seeker's annotated likes (the
  seeker's form: liked == 1, among the movies named before the turn: perfect linking); ties by rating count;
- Recall@1/10/50 over the targets with hit counts, HR@10 over requests, and a 95 % interval of Recall@10 from
  a bootstrap over dialogues; a check with no catalog ranks ReDial's own 6,924 movies by nbMentions, repeated
  targets kept and removed, beside the published popularity figure.
Dialogues are taken in a seeded order (--seed), so `--limit N` (N requests: whole dialogues, the last one cut)
is the same sample in every run; --part keeps the dialogues a hash of conversationId puts in "fit" (about 70 %)
or "validation" (about 30 %), for a ranker fitted on one part and reported on the other.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED, mls_store, print_table  # noqa: E402
from bench.inspired import KS, Catalog, Mentions, ZeroScorer, by_mentions, chat_rankings, ease_ranking, hits, recall_row  # noqa: E402

DATA = SHARED / "redial-dev"
VALIDATION_PERCENT = 30  # of the dialogues, by a hash of conversationId
BOOTSTRAP = 1000
CHAT = "the chat (the learned ranker)"
MENTIONS = "popularity by ReDial's mention counts (nbMentions)"
MENTIONS_OWN_OUT = "the same, less the dialogue's own mentions"
RATINGS = "popularity by MovieLens ratings"
EASE_LIKES = "EASE from the seeker's annotated likes (perfect linking)"
MENTION = re.compile(r"@(\d+)")
# ReDial Recall@10 as published, each ranking ReDial's own ~6.9k movies (quoted from ../shared/README.md, not
# re-measured here): (model, Recall@10, repeated targets).
PUBLISHED = [("popularity", "0.061", "kept"), ("KBRD", "0.163", "kept"), ("UniCRS", "0.224", "kept"),
             ("UniCRS", "0.180", "removed"), ("ReFICR (7B)", "0.213", "removed"),
             ("GPT-4 zero-shot (He et al. 2023)", "0.201", "removed")]


# ------------------------------------------------------------------------------------------ data
@dataclass
class Message:
    seeker: bool
    text: str  # as the chat reads it: movies by name
    movies: list[str]  # ReDial ids, in order


@dataclass
class Dialogue:
    id: str
    messages: list[Message]
    liked: set[str]  # the seeker's form: liked == 1
    suggested: set[str]  # either form: suggested == 1


@dataclass
class Request:
    """One recommender turn with a new movie: what bench/inspired.chat_rankings reads of a turn, and more."""

    dialog: str
    seeker: list[Message]  # what the chat reads before the turn (the seeker's messages; --both-sides: all)
    earlier: list[str]  # every movie named before the turn, either side (ReDial ids)
    targets: list[str]  # the movies the turn names that the dialogue had not named
    repeats: list[str]  # the movies it names again (only the no-catalog check with repeats kept counts them)
    likes: list[str] = field(default_factory=list)  # movies named before that the seeker's form says were liked
    same_film: list[str] = field(default_factory=list)  # new ids of a catalog film already named: repeats too


def part_of(conversation_id: str) -> str:
    """"fit" or "validation": a fixed hash of the id (ReDial's ids here are all odd, so not the id itself)."""
    h = int(hashlib.sha256(f"redial:{conversation_id}".encode()).hexdigest()[:8], 16) % 100
    return "validation" if h < VALIDATION_PERCENT else "fit"


def movie_name(name: str) -> str:
    """A ReDial name as shown, spaces collapsed: "Police Academy  (1984)" → "Police Academy (1984)"; a few
    names carry URL escapes ("Why Him%3F (2016)")."""
    return " ".join(unquote(name).split())


def read_movies(path: Path) -> tuple[dict[str, str], dict[str, int]]:
    """ReDial's movie list: id → name (spaces collapsed), id → nbMentions."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return ({r["movieId"]: movie_name(r["movieName"]) for r in rows},
            {r["movieId"]: int(r["nbMentions"]) for r in rows})


def read_dialogues(path: Path, names: dict[str, str]) -> list[Dialogue]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            shown = {**names, **{i: movie_name(n) for i, n in d["movieMentions"].items()}}
            msgs = [Message(m["senderWorkerId"] == d["initiatorWorkerId"],
                            re.sub(r"\s{2,}", " ", MENTION.sub(lambda x: shown.get(x.group(1), x.group(0)), m["text"])).strip(),
                            MENTION.findall(m["text"])) for m in d["messages"]]
            forms = [d.get("initiatorQuestions") or {}, d.get("respondentQuestions") or {}]
            out.append(Dialogue(str(d["conversationId"]), msgs,
                                {i for i, q in forms[0].items() if q.get("liked") == 1},
                                {i for f_ in forms for i, q in f_.items() if q.get("suggested") == 1}))
    return out


def turns(d: Dialogue) -> list[list[Message]]:
    """The dialogue's turns: each seeker message alone, consecutive recommender messages merged."""
    out: list[list[Message]] = []
    for m in d.messages:
        if out and not m.seeker and not out[-1][-1].seeker:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def requests(d: Dialogue, item, both_sides: bool = False) -> list[Request]:
    """The requests of one dialogue; `item(id)` maps a ReDial id to the catalog (None: not held)."""
    out, earlier, seeker, context = [], [], [], []
    for turn in turns(d):
        named = list(dict.fromkeys(m for msg in turn for m in msg.movies))
        if not turn[0].seeker and (new := [m for m in named if m not in earlier]):
            films, targets, same = {item(m) for m in earlier} - {None}, [], []
            for m in new:
                film = item(m)
                (same if film in films else targets).append(m)
                films |= {film} - {None}
            if targets:
                out.append(Request(d.id, list(context if both_sides else seeker), list(earlier), targets,
                                   [m for m in named if m in earlier], [m for m in earlier if m in d.liked], same))
        seeker += [m for m in turn if m.seeker]
        context += turn
        earlier += [m for m in named if m not in earlier]
    return out


def sample_order(dialogues: list[Dialogue], seed: int) -> list[Dialogue]:
    """The dialogues in a seeded order: a --limit run is the same sample every time."""
    order = sorted(dialogues, key=lambda d: int(d.id))
    random.Random(seed).shuffle(order)
    return order


# --------------------------------------------------------------------------------------- mapping
def map_movies(index, names: dict[str, str], chat_pick) -> tuple[dict[str, int | None], Counter]:
    """Each ReDial movie's catalog id by the title linker (module docstring), and how each was decided."""
    from engine.cli.among import title_and_year

    out, how = {}, Counter()
    for rid, name in names.items():
        link = index.link(*title_and_year(name))
        if link.status == "ambiguous":
            pick = chat_pick(name)
            item = pick if pick is not None and any(c.id == pick.id for c in link.candidates) else link.candidates[0]
        else:
            item = link.item
        out[rid] = item.id if item is not None else None
        how[link.status] += 1
    return out, how


# --------------------------------------------------------------------------------------- metrics
def recall_at(rows: list[tuple[float, ...]], k: int = 1) -> float:
    """Recall@KS[k] over target rows of `hits`."""
    return sum(r[k] for r in rows) / max(1, len(rows))


def bootstrap(per_request: list[list[tuple[float, ...]]], dialog_of: list[str], seed: int,
              k: int = 1, draws: int = BOOTSTRAP) -> tuple[float, float]:
    """95 % interval of Recall@KS[k], resampling dialogues (a dialogue's requests are not independent)."""
    ids = {d: j for j, d in enumerate(dict.fromkeys(dialog_of))}
    hit, n = np.zeros(len(ids)), np.zeros(len(ids))
    for rows, d in zip(per_request, dialog_of):
        hit[ids[d]] += sum(r[k] for r in rows)
        n[ids[d]] += len(rows)
    pick = np.random.default_rng(seed).integers(0, len(ids), (draws, len(ids)))
    ratio = hit[pick].sum(1) / np.maximum(1, n[pick].sum(1))
    lo, hi = np.percentile(ratio, [2.5, 97.5])
    return float(lo), float(hi)


def table_row(name: str, per_request: list[list[tuple[float, ...]]], dialog_of: list[str], held: int,
              seed: int) -> list[str]:
    """recall_row's columns (R@1/10/50, R@10 over held targets), then hits, HR@10 and the interval."""
    rows = [r for req in per_request for r in req]
    lo, hi = bootstrap(per_request, dialog_of, seed)
    hr = [float(any(r[1] for r in req)) for req in per_request]
    return [*recall_row(name, rows, held), f"{int(sum(r[1] for r in rows))}/{len(rows)}",
            f"{np.mean(hr):.3f}", f"{lo:.3f}-{hi:.3f}"]


def own_list_check(reqs: list[Request], nb: dict[str, int]) -> dict[str, list[tuple[float, ...]]]:
    """Popularity by nbMentions over ReDial's own movie list, no catalog: repeated targets kept and removed."""
    order = sorted(nb, key=lambda m: (-nb[m], int(m)))
    out: dict[str, list[tuple[float, ...]]] = {"kept": [], "removed": []}
    for r in reqs:
        out["kept"] += [hits(order, m) for m in r.targets + r.same_film + r.repeats]
        seen = set(r.earlier)
        top = [m for m in order[:max(KS) + len(seen)] if m not in seen]
        out["removed"] += [hits(top, m) for m in r.targets + r.same_film]
    return out


# ------------------------------------------------------------------------------------------ main
def open_session(store: Path, args):
    """The chat on a temp copy of STORE (new users stay out of it), ranking without the LLM; its collaborative
    model is STORE's own cached fit, frozen."""
    from db import open_db
    from db.catalogs import use_catalog
    from db.scoring import PromptSettings
    from engine.chat.session import ChatSession
    from engine.collab.cache import CollabService

    copy = Path(tempfile.mkdtemp()) / "redial.db"
    with sqlite3.connect(store) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    no_llm = ZeroScorer(SimpleNamespace(prompts=PromptSettings()))
    session = ChatSession(copy, "redial-setup", args.model, dataset=args.dataset, n_candidates=args.candidates,
                          scorer_factory=lambda: no_llm)

    def original():
        db = open_db(store, create=False)
        use_catalog(db, "movie", session.catalog.dataset)
        return db

    session.collab = CollabService(original, "movie")
    session.collab.load()
    session.collab.refresh = lambda *a, **k: False
    session.load_model()
    return session


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="folder with dialogues.jsonl and movies_with_mentions.csv")
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: import into a temp store)")
    ap.add_argument("--dataset", default=None, help="catalog of --db (default: the store's)")
    ap.add_argument("--limit", type=int, default=None, help="the first N requests of the seeded order (whole dialogues)")
    ap.add_argument("--seed", type=int, default=0, help="order of the dialogues and the bootstrap")
    ap.add_argument("--part", choices=["fit", "validation", "all"], default="all")
    ap.add_argument("--both-sides", action="store_true", help="the chat reads the recommender's messages too")
    ap.add_argument("--among-catalog-only", action="store_true",
                    help="rank the whole catalog, not only ReDial's movies that it holds")
    ap.add_argument("--llm", action="store_true", help="add the chat with the LLM (slow: use --limit 100 or less)")
    ap.add_argument("--model", default=None, help="GGUF for --llm (default: the rec-tuned default model)")
    ap.add_argument("--candidates", type=int, default=50, help="the chat's candidates (its ranking is its top 50)")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers and every request's target ranks here")
    args = ap.parse_args()
    if not (args.data / "dialogues.jsonl").exists():
        sys.exit(f"no ReDial dialogues in {args.data} (dialogues.jsonl and movies_with_mentions.csv)")
    from tqdm import tqdm

    started, t0 = datetime.datetime.now(), time.perf_counter()
    names, nb = read_movies(args.data / "movies_with_mentions.csv")
    dialogues = [d for d in read_dialogues(args.data / "dialogues.jsonl", names) if args.part in ("all", part_of(d.id))]
    session = open_session(mls_store(args.db), args)
    collab, index = session.collab.current(), session.titles()
    items = {i.id: i for i in session.store.catalog()}
    by_pop = sorted(items, key=lambda i: (-float(collab.popularity([i])[0]), i))
    t_map = time.perf_counter()
    mapping, how = map_movies(index, names, session.find_title)
    t_map = time.perf_counter() - t_map
    world = Catalog(index, items, by_pop, {}, set(), collab, linked=dict(mapping))  # ids → catalog, cached in full

    reqs: list[Request] = []
    for d in sample_order(dialogues, args.seed):
        if args.limit is not None and len(reqs) >= args.limit:
            break
        reqs += requests(d, world.item, args.both_sides)
    reqs = reqs[:args.limit]
    pool = sorted(items) if args.among_catalog_only else sorted({i for i in mapping.values() if i is not None})
    total = Counter()
    for rid, n in nb.items():
        if (i := world.item(rid)) is not None:
            total[i] += n
    own = {d.id: Counter(i for m in d.messages for rid in m.movies if (i := world.item(rid)) is not None)
           for d in dialogues}
    every, loo = Mentions(total, defaultdict(Counter)), Mentions(total, own)

    names_rows = [CHAT, MENTIONS, MENTIONS_OWN_OUT, RATINGS, EASE_LIKES]
    results: dict[str, list[list[tuple[float, ...]]]] = {n: [] for n in names_rows}
    ranked_at: dict[str, list[list[int]]] = {n: [] for n in names_rows}
    seconds: Counter = Counter()

    def record(name: str, r: Request, ranked: list[int]) -> None:
        results[name].append([hits(ranked, world.item(m)) for m in r.targets])
        ranked_at[name].append([ranked.index(i) + 1 if (i := world.item(m)) in ranked else None for m in r.targets])

    tb = time.perf_counter()
    for r in reqs:
        named = set(world.ids(r.earlier))
        eligible = [i for i in pool if i not in named]
        record(MENTIONS, r, by_mentions(eligible, every, r.dialog, world))
        record(MENTIONS_OWN_OUT, r, by_mentions(eligible, loo, r.dialog, world))
        keep = set(eligible)
        record(RATINGS, r, [i for i in by_pop if i in keep][:max(KS)])
        record(EASE_LIKES, r, ease_ranking(collab, eligible, world.ids(r.likes), [], {}, max(KS)))
    seconds["baselines"] = time.perf_counter() - tb

    variants = [(CHAT, "no-llm")]
    if args.llm:
        from engine.llm.backends import open_scorer

        if args.limit is None or args.limit > 100:
            print("--llm on more than 100 requests: about 2 s a request on 2 cores", file=sys.stderr)
        real = open_scorer(args.model)
        variants.append((f"the chat, served ({real.name}'s P(Yes) beside the ranker's order)", "llm"))
        results[variants[-1][0]], ranked_at[variants[-1][0]] = [], []
    by_dialog: dict[str, list[Request]] = {}
    for r in reqs:
        by_dialog.setdefault(r.dialog, []).append(r)
    switched: dict[str, set[str]] = defaultdict(set)  # dialogues where the chat read "I am ..." as another user
    for name, tag in variants:
        if tag == "llm":
            session.scorer = real
        tc = time.perf_counter()
        with tqdm(total=len(reqs), desc=name[:40], file=sys.stderr, unit="request") as bar:
            for dialog, group in by_dialog.items():
                user = f"redial-{dialog}-{tag}"
                for r, ranked in zip(group, chat_rankings(session, group, pool, world, user)):
                    record(name, r, ranked)
                if session.user_name != f"{user}-0":
                    switched[tag].add(dialog)
                bar.update(len(group))
        seconds[name] = time.perf_counter() - tc

    dialog_of = [r.dialog for r in reqs]
    suggested = {d.id: d.suggested for d in dialogues}
    targets = [m for r in reqs for m in r.targets]
    held = sum(world.item(m) is not None for m in targets)
    mapped = sum(i is not None for i in mapping.values())
    n_dialogs = len(by_dialog)
    print(f"ReDial on {session.catalog.dataset}, {started:%Y-%m-%d %H:%M}: part {args.part}, seed {args.seed}, "
          f"{n_dialogs} of {len(dialogues)} dialogues, {len(reqs)} requests (recommender turns, consecutive "
          f"recommender messages merged, naming a movie new to the dialogue; "
          f"{sum(not r.seeker for r in reqs)} with nothing said before), {len(targets)} targets "
          f"({sum(len(r.repeats) for r in reqs)} repeated mentions and {sum(len(r.same_film) for r in reqs)} new ids "
          f"of a film already named removed; {sum(m in suggested[r.dialog] for r in reqs for m in r.targets) / max(1, len(targets)):.0%} "
          f"marked suggested by a form); the chat reads {'both sides' if args.both_sides else 'the seeker'}")
    print(f"Mapping (title linker, {t_map:.0f} s): {mapped:,} of ReDial's {len(names):,} movies map to the catalog "
          f"({mapped / len(names):.1%}; linked {how['linked']:,}, two films fit {how['ambiguous']:,}, none "
          f"{how['missing']:,}); the catalog holds {held} of the {len(targets)} targets ({held / max(1, len(targets)):.3f}: "
          f"the most any ranker can reach); candidates: {len(pool):,} "
          f"({'the whole catalog' if args.among_catalog_only else 'ReDial movies the catalog holds'}) less what the "
          f"dialogue named; the chat: {session.order_note}")
    header = ["ranker", *(f"R@{k}" for k in KS), f"R@10 over the {held} held", "R@10 hits", "HR@10",
              f"R@10 95% CI ({BOOTSTRAP} dialogue draws)"]
    rows = [table_row(n, per, dialog_of, held, args.seed) for n, per in results.items()]
    print_table(header, rows)
    print(f"({time.perf_counter() - t0:.0f} s in all; " + "; ".join(f"{n[:40]} {s:.0f} s" for n, s in seconds.items())
          + f"; the chat switched user on an \"I am ...\" message in {len(switched['no-llm'])} of {n_dialogs} dialogues)")
    check = own_list_check(reqs, nb)
    print("\nNo catalog: ReDial's own 6,924 movies by nbMentions (counts include these dialogues), same requests")
    print_table(["repeated targets", "targets", *(f"R@{k}" for k in KS)],
                [[kind, str(len(rs)), *(f"{recall_at(rs, j):.3f}" for j in range(len(KS)))] for kind, rs in check.items()])
    print("\nPublished on ReDial's own ~6.9k movies (quoted from ../shared/README.md, not re-measured; another "
          "catalog and candidate set than the rows above)")
    print_table(["model", "R@10", "repeated targets"], [list(p) for p in PUBLISHED])
    if args.json:
        args.json.write_text(json.dumps({
            "when": started.isoformat(timespec="seconds"), "args": {k: str(v) for k, v in vars(args).items()},
            "seconds": round(time.perf_counter() - t0, 1), "dataset": session.catalog.dataset,
            "mapping": {"movies": len(names), "mapped": mapped, **how}, "dialogues": n_dialogs,
            "requests": len(reqs), "targets": len(targets), "targets_held": held, "candidates": len(pool),
            "table": [dict(zip(header, r)) for r in rows], "no_catalog": {k: [recall_at(v, j) for j in range(len(KS))]
                                                                          for k, v in check.items()},
            "per_request": [{"dialog": r.dialog, "part": part_of(r.dialog), "targets": [world.item(m) for m in r.targets],
                             "switched_user": r.dialog in switched["no-llm"],
                             "ranks": {n: ranked_at[n][k] for n in ranked_at}} for k, r in enumerate(reqs)],
        }, indent=1))
    session.close()
    shutil.rmtree(Path(session.db_path).parent, ignore_errors=True)  # the temp copy with the chat's users


if __name__ == "__main__":
    main()
