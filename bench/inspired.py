"""Conversational benchmark on INSPIRED (Hayati et al., EMNLP 2020): real people asking for movies.

    .venv/bin/python bench/inspired.py [--data DIR] [--splits dev test] [--db STORE] [--dataset NAME] [--no-llm-only]

Data: `dev.tsv` and `test.tsv` of the public repository sweetpeach/Inspired (data/dialog_data/),
looked for in --data, then bench/data/inspired/, then downloaded from GitHub (not committed: 2.5 MB).

Two tables, one run:
1. Linking: the title linker (engine.vocab.mentions) on every seeker message against the dataset's
   annotated movie mentions that map to the catalog (title and year; ML-100K unless --dataset names
   another catalog of --db, e.g. ml-latest-small): precision and recall.
   Annotations whose title appears nowhere in the message (e.g. "Hi there!" annotated "Being There")
   are counted apart. INSPIRED's annotations are incomplete (many named films carry none) and some are
   wrong ("I appreciate the help." annotated "The Help"), so every disagreement was judged by hand
   once, in bench/inspired_audit.tsv (split, disagreement, verdict, film, the utterance's first 60
   characters): a link the annotation lacks is right or wrong; an annotation the linker missed is
   right (a real miss) or wrong. The judged precision and recall count against annotations judged
   right plus links judged right; a disagreement the file does not judge counts against the linker.
   The raw columns count "the new Lion King" as a link to The Lion King, as the annotators do; the
   judged ones do not, as the chat does not (it names the newer film missing and seeds with its relative).
2. Recommendation: per dialogue, the seeker's messages up to the first recommender turn that
   suggests a catalog movie; ground truth the catalog movies suggested there (minus any the seeker
   named). Each seeker is a new user. HR@10, Recall@10 and NDCG@10 of:
   - `engine ask`: the chat's own code (ChatSession.handle for each message, then its ranking);
   - the same without the LLM (its P(Yes) held at 0, the stack without the LLM): the LLM's ablation;
   - the previous parser (tui/intent.py as of c945969, one "like X" seed per message, ratings only
     for a whole-message "I liked X"), ranked by the same retrieval and stack;
   - popularity, and recent popularity (each rating weighted 0.5 ** (age / RECENT_HALF_LIFE days), the
     half-life bench/time_aware.py chose on ml-latest-small's validation users); EASE from the annotated mentions (perfect linking); the same keeping the genres
     the dataset annotates in the seeker's messages.
The collaborative model is fitted once on the catalog and frozen, so dialogues do not leak into each other.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, age_weights, ml100k_store, print_table  # noqa: E402

URL = "https://raw.githubusercontent.com/sweetpeach/Inspired/master/data/dialog_data/{split}.tsv"
LOCAL = ROOT / "bench" / "data" / "inspired"
AUDIT = ROOT / "bench" / "inspired_audit.tsv"
PREVIOUS_PARSER = ("c945969", "tui/intent.py")
TOP = 10
RECENT_HALF_LIFE = 1460  # days
# INSPIRED genre words → MovieLens genres (the "genres" column of seeker utterances); `catalog_genre`
# spells them as the served catalog does (ML-100K "Children's", the later releases "Children").
GENRES = {"action": "Action", "adventure": "Adventure", "animation": "Animation", "animated": "Animation",
          "comedy": "Comedy", "comedies": "Comedy", "funny": "Comedy", "crime": "Crime", "documentary": "Documentary",
          "documentaries": "Documentary", "drama": "Drama", "fantasy": "Fantasy", "horror": "Horror",
          "scary": "Horror", "musical": "Musical", "musicals": "Musical", "mystery": "Mystery", "romance": "Romance",
          "romantic": "Romance", "romantic comedy": "Romance", "sci-fi": "Sci-Fi", "science fiction": "Sci-Fi",
          "thriller": "Thriller", "thrillers": "Thriller", "suspense": "Thriller", "war": "War", "western": "Western",
          "family": "Children's", "kids": "Children's", "superhero": "Action", "comic book": "Action"}


# ------------------------------------------------------------------------------------------ data
def tsv(split: str, data: Path | None) -> Path:
    for folder in [data, LOCAL]:
        if folder and (folder / f"{split}.tsv").exists():
            return folder / f"{split}.tsv"
    LOCAL.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(URL.format(split=split), timeout=30) as r:
            (LOCAL / f"{split}.tsv").write_bytes(r.read())
    except OSError as e:
        sys.exit(f"cannot download INSPIRED {split}.tsv ({e}); put dev.tsv and test.tsv of "
                 f"github.com/sweetpeach/Inspired data/dialog_data/ in {LOCAL} or pass --data DIR")
    return LOCAL / f"{split}.tsv"


@dataclass
class Utterance:
    speaker: str
    text: str
    movies: list[str]  # annotated "Title (Year)"
    genres: list[str]


@dataclass
class Case:
    dialog: str
    seeker: list[Utterance]
    truth: set[int]
    annotated: list[int] = field(default_factory=list)  # catalog items the seeker's messages are annotated with
    genres: list[str] = field(default_factory=list)


def dialogues(path: Path) -> dict[str, list[Utterance]]:
    csv.field_size_limit(10 ** 7)
    out: dict[str, list[Utterance]] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            text = (row.get("text") or "").replace("QUOTATION_MARK", '"')
            movies = [m.strip() for m in (row.get("movies") or "").split(";") if m.strip()]
            genres = [g.strip() for g in (row.get("genres") or "").split(";") if g.strip()]
            out.setdefault(row["dialog_id"], []).append(Utterance(row["speaker"], text, movies, genres))
    return out


def catalog_genre(genre: str, spelled: set[str]) -> str:
    """A MovieLens genre as the catalog spells it ("Children's" in ML-100K, "Children" later)."""
    fold = genre.lower().removesuffix("'s")
    return next((g for g in sorted(spelled) if g.lower().removesuffix("'s") == fold), genre)


def catalog_item(index, annotated: str):
    """The catalog item an annotation "Title (Year)" names: same folded title form and year."""
    from engine.vocab.mentions import keys

    m = re.match(r"^(.*)\s+\((\d{4})\)$", annotated)
    if not m:
        return None
    year = int(m.group(2))
    for key in {keys(m.group(1)), keys(re.sub(r"^(the|a|an)\s+", "", m.group(1), flags=re.I))}:
        for e in index.forms.get(key, []):
            if e.item.year == year and not e.short:
                return e.item
    return None


def cases(dialogs: dict[str, list[Utterance]], index, spelled: set[str]) -> list[Case]:
    out = []
    for dialog, utts in dialogs.items():
        seeker: list[Utterance] = []
        for u in utts:
            if u.speaker == "SEEKER":
                seeker.append(u)
                continue
            suggested = {i.id for m in u.movies if (i := catalog_item(index, m))}
            if suggested and seeker:
                named = [i.id for s in seeker for m in s.movies if (i := catalog_item(index, m))]
                truth = suggested - set(named)
                if truth:
                    genres = [catalog_genre(GENRES[g.lower()], spelled) for s in seeker for g in s.genres if g.lower() in GENRES]
                    out.append(Case(dialog, seeker, truth, list(dict.fromkeys(named)), list(dict.fromkeys(genres))))
                break
            if suggested:
                break
    return out


# --------------------------------------------------------------------------------------- linking
def audit_verdicts(path: Path = AUDIT) -> dict[tuple[str, str, str, str], str]:
    """(split, "linked" | "annotated", film, utterance[:60]) → "right" | "wrong" (see the module docstring)."""
    with open(path, encoding="utf-8", newline="") as f:
        return {(r["split"], r["disagreement"], r["item"], r["utterance (first 60 characters)"]): r["verdict"]
                for r in csv.DictReader(f, delimiter="\t")}


def linking(dialogs: dict[str, list[Utterance]], index, verbose: bool, split: str = "",
            audit: dict[tuple[str, str, str, str], str] | None = None) -> dict:
    from engine.vocab.mentions import keys, title_forms

    tp = fp = fn = related = 0
    j_tp = j_found = j_truth = unjudged = 0  # against the judged truth (module docstring)
    judged: dict[tuple[str, str], dict[str, set[str]]] = {}  # (split, utterance[:60]) → verdict kind → films
    for (s, kind, name, text), v in (audit or {}).items():
        judged.setdefault((s, text), {}).setdefault(f"{kind} {v}", set()).add(name)
    in_catalog = {e.item.name for es in index.forms.values() for e in es}
    unfindable = []
    wrong, missed = [], []
    for utts in dialogs.values():
        for u in utts:
            if u.speaker != "SEEKER":
                continue
            gold = {i.id: i for m in u.movies if (i := catalog_item(index, m))}
            mentions = [m for m in index.find(u.text) if m.item is not None]
            found = {m.item.id: m for m in mentions}  # as annotated: "the new Terminator" is The Terminator
            # the judged columns follow the chat: "the new Lion King" is a film the catalog lacks, seeded by its relative
            related += sum(m.related for m in mentions)
            text_keys = " " + " ".join(keys(u.text)) + " "
            for i, item in gold.items():
                if not any(" " + " ".join(k) + " " in text_keys for k, _ in title_forms(item.title)):
                    unfindable.append((u.text[:90], item.name))
            verdicts = judged.get((split, u.text[:60]), {})
            newer = {m.item.name for m in mentions if m.related}
            got, annotated = {m.item.name for m in mentions if not m.related}, {i.name for i in gold.values()} - newer
            truth = (annotated - verdicts.get("annotated wrong", set())) | (verdicts.get("linked right", set()) & in_catalog)
            j_tp, j_found, j_truth = j_tp + len(got & truth), j_found + len(got), j_truth + len(truth)
            seen = set().union(*verdicts.values()) if verdicts else set()
            unjudged += len((got ^ annotated) - seen)
            tp += len(gold.keys() & found.keys())
            fp += len(found.keys() - gold.keys())
            fn += len(gold.keys() - found.keys())
            wrong += [(u.text[:90], found[i].item.name) for i in found.keys() - gold.keys()]
            missed += [(u.text[:90], gold[i].name) for i in gold.keys() - found.keys()]
    n_unf = len(unfindable)
    res = {"precision_judged": j_tp / max(1, j_found), "recall_judged": j_tp / max(1, j_truth), "unjudged": unjudged}
    res |= {"gold": tp + fn, "found": tp + fp, "tp": tp, "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn),
           "unfindable": n_unf, "recall_audited": tp / max(1, tp + fn - n_unf), "related": related}
    if verbose:
        for name, rows in (("linked, not annotated", wrong), ("annotated, not linked", missed),
                           ("annotated, title not in the text", unfindable)):
            print(f"-- {name} ({len(rows)})")
            for r in rows:
                print("   ", r)
    return res


# -------------------------------------------------------------------------------------- rankers
def metrics(ranked: list[int], truth: set[int]) -> tuple[float, float, float]:
    top = ranked[:TOP]
    hits = [i for i, x in enumerate(top) if x in truth]
    dcg = sum(1 / math.log2(i + 2) for i in hits)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(truth), TOP)))
    return float(bool(hits)), len(hits) / len(truth), dcg / idcg


class ZeroScorer:
    """The LLM's ablation: P(Yes) held at 0.5 (logit 0), and no stack of its own (the stack without the LLM ranks)."""

    def __init__(self, inner):
        self.prompts, self.name, self.identity = inner.prompts, "no-llm", "no-llm"

    def score(self, prompts):
        from db.scoring import Score

        return [Score(0.0, 0.0) for _ in prompts]


def previous_parser():
    """tui/intent.py as it was before this change, loaded from git (a baseline, not product code)."""
    rev, path = PREVIOUS_PARSER
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("previous_intent")
    sys.modules[mod.__name__] = mod  # dataclasses look their module up
    exec(compile(src, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod


_ARTICLE_LAST = re.compile(r"^(?P<rest>.*), (?P<article>the|a|an|la|le|les|il|el|das|der|die)$", re.I)


def title_key(title: str) -> str:
    """The previous session's title normalisation: "Godfather, The" and "the godfather" compare equal."""
    t = title.strip().lower()
    if m := _ARTICLE_LAST.match(t):
        t = f"{m.group('article')} {m.group('rest')}"
    return " ".join(re.findall(r"\w+", t))


def previous_find_title(session, text: str):
    """The previous session's title lookup: FTS words, exact title, then prefix, then all words."""
    from db.legacy import fts_by_rating_count

    words = re.findall(r"\w+", text.lower())
    if not words or len(words) > 12:
        return None
    q = " ".join(f'"{w}"*' for w in words)
    key = title_key(text)
    exact, starts, contains = [], [], []
    for row in fts_by_rating_count(session.db, q, session.domain):
        t = title_key(row.title)
        if t == key or title_key(row.name) == key:
            exact.append(row)
        elif t.startswith(key + " ") or t.startswith(key + ":"):
            starts.append(row)
        elif all(any(tw.startswith(w) for tw in t.split()) for w in words) and len(key) >= 4:
            contains.append(row)
    for group in (exact, starts, contains):
        if group:
            return group[0]
    return None


def previous_plan(session, prev, case: Case):
    """What the previous chat did with these messages: ratings for whole-message "I liked X", the last
    request's filters and its one "like X" seed; then the same retrieval as today."""
    from db.types import Interaction
    from engine.chat.planning import Plan
    from engine.rank.recommend import retrieve, stored_part
    from engine.rank.retrieval import Query

    request, seeds = prev.Request(), ()
    for u in case.seeker:
        intent = prev.parse(u.text, lambda t: previous_find_title(session, t))
        if intent.kind == "rate" and intent.items:
            session.rate(intent.items[0], bool(intent.liked))
        elif intent.kind == "recommend":
            request, seeds = intent.request, intent.items
    now = time.time()
    context = [Interaction(s.id, s.name, True, None, now, s.genres) for s in seeds]
    query = Query(None, request.year_min, request.year_max, request.genres, request.exclude_genres, session.domain)
    history, cands = retrieve(session.db, session.collab.current(), session.user_id, query, session.n_candidates, context)
    return Plan(tuple(seeds), history, cands, TOP, own=stored_part(history, context))


def final_ranking(session, plan) -> list[int]:
    ranking = None
    for ranking in session.rank(plan):
        pass
    return [r.item.id for r in ranking.items] if ranking else []


def ease_ranking(collab, eligible: list[int], seeds: list[int], genres: list[str], genre_of: dict[int, str]) -> list[int]:
    from engine.rank.retrieval import rank_ids

    ids = [i for i in eligible if i not in seeds]
    if genres:
        ids = [i for i in ids if any(g in genre_of[i] for g in genres)] or ids
    return [i for i, _ in rank_ids(collab, ids, seeds, TOP)]


def recent_popularity(store: Path, dataset: str) -> dict[int, float]:
    """Each item's ratings weighted by their age, counted back from the catalog's newest rating."""
    from db import open_db
    from db.catalogs import use_catalog
    from db.snapshot import read_domain

    db = open_db(store, create=False)
    use_catalog(db, "movie", dataset)
    rated = [(h.item_id, h.ts) for hs in read_domain(db, "movie").timelines.values() for h in hs]
    out: dict[int, float] = {}
    for (item, _), w in zip(rated, age_weights([ts for _, ts in rated], RECENT_HALF_LIFE)):
        out[item] = out.get(item, 0.0) + float(w)
    return out


# ------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="folder with dev.tsv and test.tsv")
    ap.add_argument("--splits", nargs="+", default=["dev", "test"])
    ap.add_argument("--db", default=None, help="store with the catalog imported (default: ML-100K into a temp store)")
    ap.add_argument("--dataset", default=None, help="catalog of --db to map to (e.g. ml-latest-small; default: the store's)")
    ap.add_argument("--model", default=None, help="GGUF (default: the rec-tuned SmolLM2)")
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--no-llm-only", action="store_true", help="skip the rows that run the LLM (minutes)")
    ap.add_argument("--verbose", action="store_true", help="list linking errors and each case")
    args = ap.parse_args()

    from engine.chat.session import ChatSession

    store = ml100k_store(args.db)
    copy = Path(tempfile.mkdtemp()) / "inspired.db"  # new users and their ratings stay out of the store
    with sqlite3.connect(store) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    session = ChatSession(copy, "inspired-setup", args.model, n_candidates=args.candidates, dataset=args.dataset)
    session.collab.load()
    session.collab.refresh = lambda *a, **k: None  # frozen: one dialogue's ratings never reach another's model
    index = session.titles()
    collab = session.collab.current()
    catalog = {i.id: i for i in (e.item for es in index.forms.values() for e in es)}
    genre_of = {i: it.genres for i, it in catalog.items()}
    spelled = {g.strip() for it in catalog.values() for g in it.genres.split(",") if g.strip()}
    by_pop = sorted(catalog, key=lambda i: (-float(collab.popularity([i])[0]), i))
    recent = recent_popularity(copy, session.catalog.dataset)
    by_recent = sorted(catalog, key=lambda i: (-recent.get(i, 0.0), i))

    link_rows, all_cases = [], []
    audit = audit_verdicts()
    for split in args.splits:
        dialogs = dialogues(tsv(split, args.data))
        t0 = time.perf_counter()
        res = linking(dialogs, index, args.verbose, split, audit)
        per_msg = (time.perf_counter() - t0) / max(1, sum(u.speaker == "SEEKER" for d in dialogs.values() for u in d))
        link_rows.append([split, str(res["gold"]), str(res["found"]), f"{res['precision']:.3f}", f"{res['recall']:.3f}",
                          str(res["unfindable"]), f"{res['recall_audited']:.3f}", str(res["related"]),
                          f"{res['precision_judged']:.3f}", f"{res['recall_judged']:.3f}", str(res["unjudged"]),
                          f"{per_msg * 1000:.1f}"])
        got = cases(dialogs, index, spelled)
        all_cases += [(split, c) for c in got]
        print(f"{split}: {len(dialogs)} dialogues, {len(got)} cases with a catalog suggestion after seeker messages")
    print("\nLinking: seeker messages, annotated mentions that are in the catalog")
    print_table(["split", "annotated", "linked", "precision", "recall", "title not in text", "recall without those",
                 "newer film (not a link)", "precision (judged)", "recall (judged)", "unjudged", "ms/message"], link_rows)

    prev = previous_parser()
    rows: dict[str, list[tuple[float, float, float]]] = {}
    hits: dict[tuple[str, str], list[float]] = {}  # (ranker, split) → HR@10 per case

    def record(name, ranked, case):
        rows.setdefault(name, []).append(metrics(ranked, case.truth))
        hits.setdefault((name, split), []).append(rows[name][-1][0])

    session.load_model()
    real_scorer, real_stack, real_note = session.scorer, session.stack, session.stack_note
    from engine.rank.stack import choose_stack

    no_llm = choose_stack("no-llm", "no-llm", "movie", collab.kind, session.catalog.dataset)
    t0 = time.perf_counter()
    for k, (split, case) in enumerate(all_cases):
        user = f"inspired-{split}-{k}"
        eligible = list(catalog)
        record("popularity", [i for i in by_pop if i not in case.annotated][:TOP], case)
        record(f"recent popularity ({RECENT_HALF_LIFE}-day half-life)",
               [i for i in by_recent if i not in case.annotated][:TOP], case)
        record("EASE, annotated mentions (perfect linking)", ease_ranking(collab, eligible, case.annotated, [], genre_of), case)
        record("EASE + annotated genres (perfect linking)",
               ease_ranking(collab, eligible, case.annotated, case.genres, genre_of), case)
        variants = [("no-llm", ZeroScorer(real_scorer), no_llm.stack)]
        if not args.no_llm_only:
            variants.append(("llm", real_scorer, real_stack))
        for tag, scorer, stack in variants:
            session.scorer, session.stack = scorer, stack
            session.switch_user(f"{user}-{tag}")
            for u in case.seeker:
                session.handle(u.text)
            ranked = final_ranking(session, session.plan())
            record("engine ask" + (" (stack without the LLM)" if tag == "no-llm" else ""), ranked, case)
            if args.verbose and tag == "no-llm":
                base = ease_ranking(collab, eligible, case.annotated, case.genres, genre_of)
                print(case.dialog, "|", session.understood(), "| genres", case.genres,
                      "| truth", [catalog[i].name for i in case.truth], "| hit", bool(case.truth & set(ranked[:TOP])),
                      "baseline hit", bool(case.truth & set(base)))
                for u in case.seeker:
                    print("    seeker:", u.text[:150])
            session.switch_user(f"{user}-{tag}-prev")
            record("previous parser" + (" (stack without the LLM)" if tag == "no-llm" else ""),
                   final_ranking(session, previous_plan(session, prev, case)), case)
    seconds = time.perf_counter() - t0
    session.scorer, session.stack = real_scorer, real_stack

    n = len(all_cases)
    print(f"\nRecommendation on {session.catalog.dataset} ({len(catalog):,} items): {n} cases ({', '.join(args.splits)}), "
          f"top {TOP}; model {real_scorer.name}: {real_note}; without the LLM: {no_llm.note}")
    baselines = [name for name in rows if not name.startswith(("engine ask", "previous parser"))]
    best = max(sum(h for h, _, _ in rows[name]) / n for name in baselines)
    table = []
    for name, ms in rows.items():
        hr, rec, ndcg = (sum(m[j] for m in ms) / n for j in range(3))
        per_split = [f"{sum(h) / len(h):.3f} ({len(h)})" for sp in args.splits if (h := hits.get((name, sp)))]
        table.append([name, f"{hr:.3f}", f"{rec:.3f}", f"{ndcg:.3f}", f"{hr / best:.2f}x" if best else "-", *per_split])
    print_table(["ranker", f"HR@{TOP}", f"Recall@{TOP}", f"NDCG@{TOP}", "HR / best baseline",
                 *[f"HR@{TOP} {sp} (cases)" for sp in args.splits]], table)
    print(f"({seconds:.0f} s for the rankers)")
    session.close()


if __name__ == "__main__":
    main()
