"""Conversational benchmark on INSPIRED (Hayati et al., EMNLP 2020): real people asking for movies.

    .venv/bin/python bench/inspired.py [--data DIR] [--splits dev test] [--db STORE] [--dataset NAME] [--no-llm-only]

Data: `dev.tsv` and `test.tsv` of the public repository sweetpeach/Inspired (data/dialog_data/),
looked for in --data, then bench/data/inspired/, then downloaded from GitHub (not committed: 2.5 MB).

Three parts, one run:
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
3. The published protocol (the CRS papers' Recall@K on INSPIRED; He et al., CIKM 2023), beside table 2 and
   leaving it as it was: a ranking at every recommender turn that names movies; each movie it names that the
   dialogue had not named before is one target (repeated ones removed: Kostric & Balog 2026 find about half the
   accuracy reported with repeats comes from repeating them); Recall@1/10/50 over the targets. The candidates
   are INSPIRED's own movies of the split (every movie annotated in its dialogues, either speaker) that map to the
   catalog by the title-and-year mapping above, less those the dialogue already named. Rankers: popularity by
   the split's mention counts (in its other dialogues: a popularity baseline counts its training dialogues, never
   the one it ranks for), the catalog's popularity, EASE + annotated genres (perfect linking: the seeker's
   annotated movies and genres before the turn), and `engine ask` (ChatSession(..., among=those movies), the
   seeker's messages in order) without and with the LLM. A check ranks INSPIRED's own movie list by mention
   counts with no catalog at all, repeats kept and removed; the published figures are printed apart, quoted.
   Where it cannot match theirs: only movies the MovieLens catalog holds can be candidates, and a target it
   lacks (INSPIRED's 2019 films; ml-latest-small ends in 2018, ML-100K in 1998) is a miss for every ranker, so
   Recall@10 over the targets the catalog holds is printed too; the candidates are the split's movies (a few
   hundred), not the dataset's whole list (train, dev and test), which makes a top 10 easier; mention counts
   come from the split's other ~98 dialogues, not about 800 training ones; `engine ask` reads only the seeker's
   messages (the chat is the recommender), where the published models read both sides; nothing here is trained
   on INSPIRED (their models are).
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
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

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


def ease_ranking(collab, eligible: list[int], seeds: list[int], genres: list[str], genre_of: dict[int, str],
                 n: int = TOP) -> list[int]:
    from engine.rank.retrieval import rank_ids

    ids = [i for i in eligible if i not in seeds]
    if genres:
        ids = [i for i in ids if any(g in genre_of[i] for g in genres)] or ids
    return [i for i, _ in rank_ids(collab, ids, seeds, n)]


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


# ------------------------------------------------------------------------- the published protocol
KS = (1, 10, 50)
# INSPIRED Recall@10 as published, each ranking the dataset's own movies (not re-measured here), as the issue
# quotes them: (model, Recall@10, repeated items, source).
PUBLISHED = [("popularity", "0.155", "kept", "as quoted in the issue"),
             ("KGSF", "0.165", "kept", "as quoted in the issue"),
             ("C2-CRS", "0.242", "kept", "as quoted in the issue"),
             ("MCCRS", "0.275", "kept", "MCCRS, 2025 (as quoted in the issue)"),
             ("GPT-4 zero-shot", "0.185", "removed", "He et al., CIKM 2023 (as quoted in the issue)")]


@dataclass
class Turn:
    """A recommender turn that names movies: the published protocol ranks once per such turn."""

    split: str
    dialog: str
    seeker: list[Utterance]  # the seeker's messages before it (what `engine ask` reads)
    earlier: list[str]  # every movie annotated before it, by either speaker
    targets: list[str]  # the movies it names that the dialogue had not named before (repeats removed)
    repeats: list[str]  # the movies it names again (only the with-repeats check counts them)


@dataclass
class Catalog:
    """What the rankers read of the catalog (built once in main); annotations map by title and year."""

    index: object  # engine.vocab.mentions.TitleIndex
    items: dict[int, object]
    by_pop: list[int]  # the catalog's rating counts, most first
    genre_of: dict[int, str]
    spelled: set[str]
    collab: object
    linked: dict[str, int | None] = field(default_factory=dict)  # annotation → catalog id, cached

    def __post_init__(self) -> None:
        self.pop_rank = {i: k for k, i in enumerate(self.by_pop)}

    def item(self, annotated: str) -> int | None:
        if annotated not in self.linked:
            found = catalog_item(self.index, annotated)
            self.linked[annotated] = found.id if found else None
        return self.linked[annotated]

    def ids(self, annotated: list[str]) -> list[int]:
        return list(dict.fromkeys(i for m in annotated if (i := self.item(m)) is not None))


@dataclass
class Mentions:
    """How often each movie is named in a split's dialogues. A dialogue's own mentions are left out of its
    ranking: a popularity baseline counts its training dialogues, never the one it ranks for."""

    total: Counter
    per_dialog: dict[str, Counter]

    @classmethod
    def count(cls, dialogs: dict[str, list[Utterance]], key=lambda m: m) -> Mentions:
        per = {d: Counter(k for u in utts for m in u.movies if (k := key(m)) is not None)
               for d, utts in dialogs.items()}
        return cls(sum(per.values(), Counter()), per)

    def elsewhere(self, dialog: str, key) -> int:
        return self.total[key] - self.per_dialog[dialog][key]


def recommender_turns(split: str, dialogs: dict[str, list[Utterance]]) -> list[Turn]:
    out = []
    for dialog, utts in dialogs.items():
        seeker: list[Utterance] = []
        earlier: list[str] = []
        for u in utts:
            named = list(dict.fromkeys(u.movies))
            if u.speaker == "SEEKER":
                seeker.append(u)
            elif named:
                out.append(Turn(split, dialog, list(seeker), list(earlier),
                                [m for m in named if m not in earlier], [m for m in named if m in earlier]))
            earlier += [m for m in named if m not in earlier]
    return out


def split_movies(dialogs: dict[str, list[Utterance]]) -> set[str]:
    """Every movie annotated in a split, by either speaker: INSPIRED's own catalog for that split."""
    return {m for utts in dialogs.values() for u in utts for m in u.movies}


def seeker_genres(seeker: list[Utterance], spelled: set[str]) -> list[str]:
    """The genres annotated in the seeker's messages, as the catalog spells them (as `cases` reads them)."""
    return list(dict.fromkeys(catalog_genre(GENRES[g.lower()], spelled) for s in seeker for g in s.genres
                              if g.lower() in GENRES))


def hits(ranked: list, target) -> tuple[float, ...]:
    """1/0 per K in KS: the target is in the top K (a target the catalog lacks, None, is a miss)."""
    return tuple(float(target is not None and target in ranked[:k]) for k in KS)


def by_mentions(eligible: list[int], mentions: Mentions, dialog: str, world: Catalog) -> list[int]:
    """INSPIRED's own popularity: mentions in the split's other dialogues; ties by the catalog's rating count."""
    return sorted(eligible, key=lambda i: (-mentions.elsewhere(dialog, i), world.pop_rank[i]))[:max(KS)]


def own_list_check(turns: list[Turn], dialogs: dict[str, list[Utterance]]) -> dict[str, list[tuple[float, ...]]]:
    """Popularity by mention counts over INSPIRED's own movie list, no catalog involved: the same protocol with
    repeated targets kept (as the published popularity row) and removed; ties by title."""
    mentions = Mentions.count(dialogs)
    names = sorted(mentions.total)
    out: dict[str, list[tuple[float, ...]]] = {"kept": [], "removed": []}
    for t in turns:
        order = sorted(names, key=lambda m: (-mentions.elsewhere(t.dialog, m), m))
        out["kept"] += [hits(order, m) for m in t.targets + t.repeats]
        seen = set(t.earlier)
        order = [m for m in order if m not in seen]
        out["removed"] += [hits(order, m) for m in t.targets]
    return out


def chat_rankings(session, turns: list[Turn], pool: list[int], world: Catalog, user: str) -> list[list[int]]:
    """`engine ask` through each dialogue: its seeker messages in order (ChatSession.handle), and at each turn
    with a new target the chat's ranking of `pool` (ChatSession.among) less what the dialogue already named."""
    out: list[list[int]] = []
    dialog, fed = None, 0
    for k, t in enumerate(turns):
        if t.dialog != dialog:
            dialog, fed = t.dialog, 0
            session.among = tuple(pool)
            session.switch_user(f"{user}-{k}")
        for u in t.seeker[fed:]:
            session.handle(u.text)
        fed = len(t.seeker)
        if not t.targets:
            out.append([])
            continue
        named = set(world.ids(t.earlier))
        session.among = tuple(i for i in pool if i not in named)
        ranked = final_ranking(session, replace(session.plan(), count=max(KS)))
        if not set(ranked) <= set(session.among):
            sys.exit(f"engine ask ranked items outside --among at {t.dialog}: the protocol would leak")
        out.append(ranked)
    session.among = None
    return out


def recorder(results: dict[str, list[tuple[float, ...]]], world: Catalog):
    """record(ranker, turn, ranking): one row of hits per target of the turn, into `results`."""

    def record(name: str, turn: Turn, ranked: list[int]) -> None:
        results.setdefault(name, []).extend(hits(ranked, world.item(m)) for m in turn.targets)

    return record


def recall_row(name: str, rows: list[tuple[float, ...]], held: int) -> list[str]:
    """Recall@1/10/50 over every target, and Recall@10 over the targets the catalog holds."""
    n = max(1, len(rows))
    return [name, *(f"{sum(r[j] for r in rows) / n:.3f}" for j in range(len(KS))),
            f"{sum(r[1] for r in rows) / max(1, held):.3f}"]


def coverage(world: Catalog, split_dialogs: dict[str, dict[str, list[Utterance]]]) -> None:
    """How many of INSPIRED's movies the catalog holds, per split and over both."""
    parts, every = [], set()
    for split, dialogs in split_dialogs.items():
        movies = split_movies(dialogs)
        every |= movies
        held = sum(world.item(m) is not None for m in movies)
        parts.append(f"{split} {held} of {len(movies)} ({held / max(1, len(movies)):.0%})")
    held = sum(world.item(m) is not None for m in every)
    print(f"INSPIRED's movies the catalog holds (title and year): {'; '.join(parts)}; "
          f"all splits {held} of {len(every)} ({held / max(1, len(every)):.0%})")


def published_protocol(session, world: Catalog, split_dialogs: dict[str, dict[str, list[Utterance]]],
                       no_llm_only: bool, served, no_llm_stack) -> None:
    """The published protocol's tables (module docstring, part 3), beside today's."""
    real_scorer, real_stack = served
    print(f"\nThe published protocol on {session.catalog.dataset}: a ranking at every recommender turn that names "
          f"movies, over INSPIRED's movies of the split that the catalog holds, less those the dialogue already "
          f"named; targets named earlier in the dialogue removed; Recall@{'/'.join(map(str, KS))} per target")
    coverage(world, split_dialogs)
    check_rows = []
    for split, dialogs in split_dialogs.items():
        turns = recommender_turns(split, dialogs)
        own = own_list_check(turns, dialogs)
        check_rows += [[f"{split}, repeated targets {kind}", str(len(rows)),
                        *(f"{sum(r[j] for r in rows) / max(1, len(rows)):.3f}" for j in range(len(KS)))]
                       for kind, rows in own.items()]
        pool = sorted({i for m in split_movies(dialogs) if (i := world.item(m)) is not None})
        mentions = Mentions.count(dialogs, world.item)
        results: dict[str, list[tuple[float, ...]]] = {}
        record = recorder(results, world)
        t0 = time.perf_counter()
        for t in turns:
            if not t.targets:
                continue
            named = set(world.ids(t.earlier))
            eligible = [i for i in pool if i not in named]
            record("popularity by INSPIRED's mention counts (the split's other dialogues)", t,
                   by_mentions(eligible, mentions, t.dialog, world))
            keep = set(eligible)
            record("popularity (the catalog's rating counts)", t, [i for i in world.by_pop if i in keep][:max(KS)])
            record("EASE + annotated genres (perfect linking)", t,
                   ease_ranking(world.collab, eligible, world.ids([m for s in t.seeker for m in s.movies]),
                                seeker_genres(t.seeker, world.spelled), world.genre_of, max(KS)))
        variants = [("engine ask (stack without the LLM)", ZeroScorer(real_scorer), no_llm_stack, "no-llm")]
        if not no_llm_only:
            variants.append(("engine ask (served: the stack with the LLM)", real_scorer, real_stack, "llm"))
        for name, scorer, stack, tag in variants:
            session.scorer, session.stack = scorer, stack
            for t, ranked in zip(turns, chat_rankings(session, turns, pool, world, f"inspired-pub-{split}-{tag}")):
                if t.targets:
                    record(name, t, ranked)
        session.scorer, session.stack = real_scorer, real_stack
        targets = [m for t in turns for m in t.targets]
        held = sum(world.item(m) is not None for m in targets)
        print(f"\n{split}: {sum(bool(t.targets) for t in turns)} recommender turns name a movie new to the dialogue "
              f"({len(targets)} targets; {sum(len(t.repeats) for t in turns)} repeated ones removed); the catalog "
              f"holds {held} of the targets ({held / max(1, len(targets)):.3f}: the most any ranker can reach) and "
              f"{len(pool)} of the split's movies, the candidates ({time.perf_counter() - t0:.0f} s)")
        print_table(["ranker", *(f"R@{k}" for k in KS), f"R@10 over the {held} targets the catalog holds"],
                    [recall_row(name, rows, held) for name, rows in results.items()])
    print("\nProtocol check, no catalog: popularity by mention counts (the split's other dialogues) over INSPIRED's "
          "own movie list")
    print_table(["split", "targets", *(f"R@{k}" for k in KS)], check_rows)
    print("\nPublished on INSPIRED's own catalog (not re-measured here; quoted, not re-checked against the papers)")
    print_table(["model", "R@10", "repeated targets", "source"], [list(r) for r in PUBLISHED])
    print("Repeated items: Kostric & Balog (2026) find about half the accuracy reported with repeats comes from "
          "repeating them; the rows above with repeats kept are not comparable to those with them removed.")


# ------------------------------------------------------------------------------------------ main
def describing_words(described: list[tuple]) -> None:
    """The cases where real seekers described what they wanted in words the catalog reads (bench/describe.py's
    question on people's own words): HR@10 with the words read, with them dropped, and the baseline."""
    if not described:
        return
    said = sorted({w for _, words, *_ in described for w in words})
    print(f"\nCases whose seeker used a describing word the catalog reads: {len(described)} "
          f"({', '.join(f'{sp} {sum(d[0] == sp for d in described)}' for sp in sorted({d[0] for d in described}))}); "
          f"words read: {', '.join(said[:30])}{' …' if len(said) > 30 else ''}")
    rows = []
    for k, name in ((2, "engine ask (stack without the LLM), words read"),
                    (3, "the same, words dropped (the chat before describing words)"),
                    (4, "EASE + annotated genres (perfect linking)")):
        hr = [float(bool(d[5] & set(d[k][:TOP]))) for d in described]
        rows.append([name, f"{np.mean(hr):.3f}", str(int(sum(hr)))])
    print_table(["ranker", f"HR@{TOP}", "hits"], rows)


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
    from engine.vocab.describe import Vocabulary

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
    split_dialogs: dict[str, dict[str, list[Utterance]]] = {}
    audit = audit_verdicts()
    for split in args.splits:
        dialogs = split_dialogs[split] = dialogues(tsv(split, args.data))
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
    described: list[tuple] = []  # cases whose seeker used a describing word the catalog reads
    rows: dict[str, list[tuple[float, float, float]]] = {}
    hits: dict[tuple[str, str], list[float]] = {}  # (ranker, split) → HR@10 per case

    def record(name, ranked, case):
        rows.setdefault(name, []).append(metrics(ranked, case.truth))
        hits.setdefault((name, split), []).append(rows[name][-1][0])

    session.load_model()
    real_scorer, real_stack, real_note = session.scorer, None, session.order_note
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
            if tag == "no-llm" and session.state.words:  # the seeker described: the same case with the words dropped
                said, vocab = list(session.state.words), session.vocabulary()
                session._vocab = Vocabulary({})
                session.switch_user(f"{user}-{tag}-no-words")
                for u in case.seeker:
                    session.handle(u.text)
                described.append((split, said, ranked, final_ranking(session, session.plan()),
                                  ease_ranking(collab, eligible, case.annotated, case.genres, genre_of), case.truth))
                session._vocab = vocab
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
    describing_words(described)

    world = Catalog(index, catalog, by_pop, genre_of, spelled, collab)
    published_protocol(session, world, split_dialogs, args.no_llm_only, (real_scorer, real_stack), no_llm.stack)
    session.close()


if __name__ == "__main__":
    main()
