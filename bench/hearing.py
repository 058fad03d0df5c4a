"""Does the chat hear real people? ReDial seekers' own messages through the chat (issue 51).

    .venv/bin/engine data import movielens ../shared/data/ml-latest-small --db /tmp/hearing/store.db
    .venv/bin/python bench/hearing.py --db /tmp/hearing/store.db [--limit N] [--previous 1562c36 | --no-previous]
                                      [--json out.json] [--examples 3]

Data: ../shared/data/redial-dev/dialogues.jsonl (667 ReDial dialogues, half of its published test file; the
other half is held out and never read here). Each dialogue is a new user (`redial-<conversationId>`) on one
`ChatSession` over the store's catalog (ml-latest-small); every message of the seeker, with each `@id`
replaced by the movie's name as ReDial shows it ("Super Troopers (2001)"), goes through `session.handle` in
order. The recommender's messages are not fed, nothing is ranked (no scorer, no LLM), the collaborative model
is frozen and the store is a temporary copy, so dialogues never reach each other.

What is counted, per dialogue: whether the session changed user (its user name moved, a reply said so, or
a sentence started a movie night) or raised; per film the seeker brought up (named in a seeker message,
ReDial's form: not suggested by the recommender) that the catalog holds, what the chat did with it, from
the readings of the messages that named it (the Intent `handle` acted on, spied on by wrapping
`session._act`: the product code is untouched) and the user's ratings at the end:
saved as a like / a dislike, taken as a seed, marked seen, read but nothing kept (e.g. after a user switch),
or not linked at all. These are set against what the seeker answered in ReDial's form after the chat
(`initiatorQuestions`: liked 1, disliked 0, did not say 2).

The previous parser: the same logic against the code at --previous (default 1562c36, the commit before
issue 51), in a subprocess whose PYTHONPATH puts a git worktree of that commit first (`--impl-only`); the
table shows both columns. bench/hearing_audit.tsv holds 40 seeker messages judged by hand (what the text
says of the film); the bench reports how often each parser's reading matches the hand label, and how
often ReDial's form and the text disagree.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # appended: a PYTHONPATH naming the previous tree must win for `engine` and `db`

SHARED = ROOT.parent / "shared" / "data"  # bench.common's, not imported here: the previous run's bench may lack it
DIALOGUES = SHARED / "redial-dev" / "dialogues.jsonl"
AUDIT = ROOT / "bench" / "hearing_audit.tsv"
PREVIOUS = "1562c36"
LABEL = {0: "disliked", 1: "liked", 2: "unsaid"}
OUTCOMES = ("like", "dislike", "seed", "seen", "read, not kept", "not linked")
_AT = re.compile(r"@(\d+)")
DIRECTION = {"liked": 1, "seed": 1, "disliked": -1}  # the audit's coarse agreement: for, against, neither


# ------------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Said:
    """One seeker message as the chat gets it, and where each ReDial movie's name stands in it."""

    message_id: int
    text: str
    spans: tuple[tuple[str, int, int], ...]  # (ReDial movieId, start, end); none where cleaning moved it


def movie_name(raw: str) -> str:
    return " ".join(raw.split())


def seeker_messages(dialogue: dict, clean) -> list[Said]:
    """The seeker's messages in order, `@id` replaced by ReDial's name of the movie, cleaned as the chat
    cleans them (`clean`: engine.chat.text.clean_message), with each name's span in the cleaned text."""
    names = dialogue.get("movieMentions") or {}
    names = {k: movie_name(v) for k, v in names.items() if v} if isinstance(names, dict) else {}
    out = []
    for m in dialogue["messages"]:
        if m["senderWorkerId"] != dialogue["initiatorWorkerId"]:
            continue
        ids = _AT.findall(m["text"])
        text = clean(_AT.sub(lambda g: names.get(g.group(1), g.group(0)), m["text"])).text
        spans, at = [], 0
        for movie in ids:
            name = names.get(movie, "@" + movie)
            if (k := text.find(name, at)) >= 0:
                spans.append((movie, k, k + len(name)))
                at = k + len(name)
        if text:
            out.append(Said(int(m["messageId"]), text, tuple(spans)))
    return out


def form(dialogue: dict) -> dict[str, dict]:
    q = dialogue.get("initiatorQuestions")
    return q if isinstance(q, dict) else {}


# ------------------------------------------------------------------------------------ one dialogue
def catalog_film(session, name: str):
    """The catalog's item for ReDial's "Title (Year)": the session's title index, its year within one of
    ReDial's ("Jumanji (2017)" is not the catalog's Jumanji (1995), though the index would give it)."""
    hit = session.find_title(name) if name else None
    year = re.search(r"\((\d{4})\)$", name)
    if hit is not None and year and hit.year and abs(hit.year - int(year.group(1))) > 1:
        return None
    return hit


@dataclass
class Film:
    movie: str  # ReDial movieId
    name: str  # as ReDial shows it
    label: str  # liked / disliked / unsaid: the seeker's form
    catalog: int | None  # the catalog item the session's title index gives ReDial's title and year
    catalog_name: str
    suggested: bool  # the recommender's film (form: suggested 1), not one the seeker brought up
    linked: set[int] = field(default_factory=set)  # items the chat linked where the name stands
    read: list[str] = field(default_factory=list)  # polarities it read there, in order
    messages: list[str] = field(default_factory=list)  # the seeker's messages that name it
    outcome: str = ""

    @property
    def in_catalog(self) -> bool:
        return self.catalog is not None

    @property
    def misread(self) -> bool:
        """Linked where its name stands, to another item than ReDial's film."""
        return bool(self.linked) and self.catalog not in self.linked


@dataclass
class Heard:
    conversation: str
    changed_user: str = ""  # the message that switched user (or started a movie night)
    crashed: str = ""  # the first exception, one line
    films: list[Film] = field(default_factory=list)  # every film of the form that a seeker message names
    readings: dict[tuple[int, str], str] = field(default_factory=dict)  # (messageId, movieId) → polarity read


def hear(session, dialogue: dict) -> Heard:
    """Feed one ReDial dialogue's seeker messages to `session` as a new user; what the chat did with each film
    the seeker brought up. Calls only what the chat had before issue 51 (handle, switch_user, find_title)."""
    from engine.chat.text import clean_message

    cid = str(dialogue["conversationId"])
    out = Heard(cid)
    session.with_users = ()
    session.switch_user(f"redial-{cid}")
    start_name, start_id = session.user_name, session.user_id
    answers = form(dialogue)
    films: dict[str, Film] = {}
    names = {k: movie_name(v) for k, v in (dialogue.get("movieMentions") or {}).items() if v} \
        if isinstance(dialogue.get("movieMentions"), dict) else {}
    acted: list = []
    product_act, wrapped = session._act, "_act" in vars(session)
    session._act = lambda intent: (acted.append(intent), product_act(intent))[1]
    try:
        for said in seeker_messages(dialogue, clean_message):
            acted.clear()
            try:
                reply = session.handle(said.text)
            except Exception as e:  # counted, and the dialogue goes on
                out.crashed = out.crashed or f"{type(e).__name__}: {e} | {said.text[:120]}"
                continue
            changed = reply.user_changed or session.user_name != start_name or bool(session.with_users)
            if changed and not out.changed_user:
                out.changed_user = said.text
            intent = acted[-1] if acted else None
            mentions = intent.reading.mentions if intent is not None and intent.kind == "chat" and intent.reading else []
            for movie, a, b in said.spans:
                q = answers.get(movie)
                if q is None:
                    continue
                here = [m for m in mentions if m.item is not None and m.mention.start < b and m.mention.end > a]
                out.readings[(said.message_id, movie)] = here[0].polarity if here else "none"
                film = films.get(movie)
                if film is None:
                    hit = catalog_film(session, names.get(movie, ""))
                    film = films[movie] = Film(movie, names.get(movie, ""), LABEL.get(int(q.get("liked", 2)), "unsaid"),
                                               hit.id if hit is not None else None, hit.name if hit is not None else "",
                                               int(q.get("suggested", 0)) == 1)
                film.messages.append(said.text)
                for m in here:
                    film.linked.add(m.item.id)
                    film.read.append(m.polarity)
    finally:
        if wrapped:
            session._act = product_act
        else:
            del session._act
    rated = {h.item_id: h.liked for h in session.store.history(start_id)}
    seeds = set(session.state.seeds) if session.user_name == start_name else set()
    for film in films.values():
        items = film.linked | ({film.catalog} if film.catalog is not None else set())
        verdicts = {rated[i] for i in items if i in rated}
        film.outcome = ("like" if True in verdicts else "dislike" if False in verdicts
                        else "seed" if "seed" in film.read or items & seeds else "seen" if "seen" in film.read
                        else "read, not kept" if film.read else "not linked")
        out.films.append(film)
    return out


# ----------------------------------------------------------------------------------- the numbers
def share(k: int, n: int) -> dict:
    return {"k": k, "n": n, "share": round(k / n, 4) if n else None}


def summarise(heard: list[Heard], audit: list[dict]) -> dict:
    films = [f for h in heard for f in h.films if not f.suggested]
    named_disliked = [f for h in heard for f in h.films if f.in_catalog and f.label == "disliked"]
    held = [f for f in films if f.in_catalog]
    by = {lab: [f for f in held if f.label == lab] for lab in ("liked", "disliked", "unsaid")}
    out = Counter(f.outcome for f in held)
    count = lambda lab, *outs: sum(f.outcome in outs for f in by[lab])
    heard_films = sum(f.outcome in ("like", "dislike", "seed") for f in held)
    wrong = count("liked", "dislike") + count("disliked", "like", "seed")
    s = {
        "dialogues": len(heard),
        "changed_user_or_crashed": share(sum(bool(h.changed_user or h.crashed) for h in heard), len(heard)),
        "changed_user": sum(bool(h.changed_user) for h in heard),
        "crashed": sum(bool(h.crashed) for h in heard),
        "films_brought_up": len(films),
        "films_in_catalog": len(held),
        "films_not_in_catalog": len(films) - len(held),
        "linked_to_another_item": sum(f.misread for f in films),
        "outcomes": dict(out),
        "liked_saved_or_seed": share(count("liked", "like", "seed"), len(by["liked"])),
        "liked_not_linked": share(count("liked", "not linked"), len(by["liked"])),
        "liked_by_outcome": {o: count("liked", o) for o in OUTCOMES},
        "disliked_saved_as_dislike": share(count("disliked", "dislike"), len(by["disliked"])),
        "disliked_seed_or_like": share(count("disliked", "like", "seed"), len(by["disliked"])),
        "disliked_by_outcome": {o: count("disliked", o) for o in OUTCOMES},
        "disliked_any_saved_as_dislike": share(sum(f.outcome == "dislike" for f in named_disliked), len(named_disliked)),
        "disliked_any_seed_or_like": share(sum(f.outcome in ("like", "seed") for f in named_disliked), len(named_disliked)),
        "wrong_way_round": share(wrong, heard_films),
        "unsaid_saved_as_rating": share(count("unsaid", "like", "dislike"), len(by["unsaid"])),
        "unsaid_by_outcome": {o: count("unsaid", o) for o in OUTCOMES},
    }
    read = {(h.conversation, mid, movie): pol for h in heard for (mid, movie), pol in h.readings.items()}
    rows = [(r, read[key]) for r in audit if (key := (r["conversationId"], int(r["messageId"]), r["movieId"])) in read]
    sign = lambda label: DIRECTION.get(label, 0)
    s["audit"] = {"rows": len(audit), "covered": len(rows), "match": sum(r["label_hand"] == pol for r, pol in rows),
                  "same_direction": sum(sign(r["label_hand"]) == sign(pol) for r, pol in rows),
                  "wrong_way": sum(sign(r["label_hand"]) * sign(pol) < 0 for r, pol in rows),
                  "readings": {f"{r['conversationId']}/{r['messageId']}/{r['movieId']}": pol for r, pol in rows}}
    return s


FAILURES = [  # (kind, label, outcomes)
    ("liked film not linked", "liked", ("not linked",)),
    ("liked film saved as a dislike", "liked", ("dislike",)),
    ("liked film only marked seen, or read and not kept", "liked", ("seen", "read, not kept")),
    ("disliked film saved as a like or taken as a seed", "disliked", ("like", "seed")),
    ("disliked film not saved as a dislike (seen / not linked / not kept)", "disliked", ("seen", "not linked", "read, not kept")),
    ("unsaid film saved as a rating", "unsaid", ("like", "dislike")),
]


def failures(heard: list[Heard]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for kind, label, outs in FAILURES:
        out[kind] = [{"conversation": h.conversation, "film": f.name, "did": f.outcome, "read": f.read,
                      "said": f.label, "messages": f.messages,
                     "catalog": f.catalog_name, "linked": sorted(f.linked)}
                     for h in heard for f in h.films
                     if not f.suggested and f.in_catalog and f.label == label and f.outcome in outs]
    out["film linked to another item than ReDial's"] = [
        {"conversation": h.conversation, "film": f.name, "did": f.outcome, "read": f.read, "said": f.label,
         "messages": f.messages, "catalog": f.catalog_name, "linked": sorted(f.linked)}
        for h in heard for f in h.films if not f.suggested and f.misread]
    out["dialogue changed user"] = [{"conversation": h.conversation, "messages": [h.changed_user]}
                                    for h in heard if h.changed_user]
    out["dialogue crashed"] = [{"conversation": h.conversation, "messages": [h.crashed]} for h in heard if h.crashed]
    return out


# ------------------------------------------------------------------------------------ one parser
def working_session(store: Path, dataset: str | None):
    """A ChatSession on a temporary copy of `store`, serving the source's cached collaborative model (fitted
    once on first use, then linked, not refitted) and frozen: a rating never refits it."""
    from db import open_db
    from db.catalogs import use_catalog
    from engine.chat.session import ChatSession
    from engine.collab.cache import cache_path, load_or_fit

    src = open_db(store, create=False)
    use_catalog(src, "movie", dataset)
    load_or_fit(src, "movie")
    copy = Path(tempfile.mkdtemp(prefix="hearing-")) / "store.db"
    with sqlite3.connect(store) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    dst = open_db(copy, create=False)
    use_catalog(dst, "movie", dataset)
    cached, linked = cache_path(src, "movie"), cache_path(dst, "movie")
    try:
        os.link(cached, linked)
    except OSError:
        linked = None  # the copy fits its own (about 45 s)
    session = ChatSession(copy, "redial-setup", dataset=dataset)
    session.collab.load()
    session.collab.refresh = lambda *a, **k: False
    session.titles()
    return session, linked


def run_impl(args) -> dict:
    import engine
    from tqdm import tqdm

    from db.errors import RecchatError

    print(f"[hearing] engine from {engine.__file__}", file=sys.stderr)
    dialogues = [json.loads(line) for line in DIALOGUES.read_text().splitlines() if line.strip()][: args.limit]
    audit = read_audit(AUDIT)
    store = Path(args.db)
    try:
        session, linked = working_session(store, args.dataset)
    except RecchatError as e:  # a store of a newer schema than this code: the catalog imported by this code
        if "newer than this program" not in str(e) or not args.own_store:
            raise
        store = Path(args.own_store)
        print(f"[hearing] {e}: using {store}", file=sys.stderr)
        if not store.exists():
            from db import open_db
            from db.importers.movielens import import_movielens

            import_movielens(open_db(store), SHARED / "ml-latest-small")
        session, linked = working_session(store, args.dataset)
    t0 = time.perf_counter()
    try:
        heard = [hear(session, d) for d in tqdm(dialogues, desc="dialogues", file=sys.stderr)]
    finally:
        session.close()
        shutil.rmtree(Path(session.db_path).parent, ignore_errors=True)  # the temporary copy and its users
        if linked is not None:
            linked.unlink(missing_ok=True)
    return {"engine": engine.__file__, "store": str(store), "seconds": round(time.perf_counter() - t0, 1),
            "summary": summarise(heard, audit), "failures": failures(heard)}


def read_audit(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def previous_tree(commit: str) -> tuple[Path, str]:
    """A git worktree of `commit` (an existing one, else one made under /tmp): the previous parser's code."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    listing = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    for block in listing.split("\n\n"):
        lines = dict(ln.split(" ", 1) for ln in block.splitlines() if " " in ln)
        if lines.get("HEAD") == sha and Path(lines["worktree"]) != ROOT:
            return Path(lines["worktree"]), sha
    tree = Path(tempfile.gettempdir()) / f"recchat-prev-{sha[:12]}"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT, check=True, capture_output=True)
    return tree, sha


def run_previous(args, commit: str) -> dict:
    tree, sha = previous_tree(commit)
    out = Path(tempfile.mkdtemp(prefix="hearing-prev-")) / "previous.json"
    own = Path(args.db).with_name(f"{Path(args.db).stem}.prev-{sha[:7]}.db")  # if --db is too new for it
    cmd = [sys.executable, str(Path(__file__).resolve()), "--impl-only", "--json", str(out), "--db", str(args.db),
           "--own-store", str(own)]
    cmd += ["--limit", str(args.limit)] if args.limit else []
    cmd += ["--dataset", args.dataset] if args.dataset else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])}
    subprocess.run(cmd, env=env, check=True)
    result = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    if not Path(result["engine"]).resolve().is_relative_to(tree.resolve()):
        sys.exit(f"the previous run imported {result['engine']}, not {tree}: check the PYTHONPATH precedence")
    return result


# ------------------------------------------------------------------------------------------ report
def cell(s: dict | None) -> str:
    if s is None:
        return "-"
    return f"{s['share']:.3f} ({s['k']}/{s['n']})" if s["n"] else "- (0/0)"


def report(runs: dict[str, dict], audit: list[dict]) -> None:
    from bench.common import print_table

    names = list(runs)
    col = lambda key: [cell(runs[n]["summary"][key]) for n in names]
    num = lambda f: [str(f(runs[n]["summary"])) for n in names]
    rows = [
        ["dialogues", "", *num(lambda s: s["dialogues"])],
        ["changed user or crashed (changed / crashed)", "0",
         *[f"{cell(runs[n]['summary']['changed_user_or_crashed'])} ({runs[n]['summary']['changed_user']} / "
           f"{runs[n]['summary']['crashed']})" for n in names]],
        ["films the seeker brought up: in the catalog / not", "",
         *num(lambda s: f"{s['films_in_catalog']} / {s['films_not_in_catalog']}")],
        ["liked: saved as a like or taken as a seed", ">= 0.85", *col("liked_saved_or_seed")],
        ["liked: not linked at all", "", *col("liked_not_linked")],
        ["liked: like / seed / dislike / seen / not kept", "",
         *num(lambda s: " / ".join(str(s["liked_by_outcome"][o]) for o in ("like", "seed", "dislike", "seen",
                                                                            "read, not kept")))],
        ["disliked: saved as a dislike", ">= 0.6", *col("disliked_saved_as_dislike")],
        ["disliked: taken as a seed or like", "<= 0.05", *col("disliked_seed_or_like")],
        ["disliked: like / seed / dislike / seen / not kept / not linked", "",
         *num(lambda s: " / ".join(str(s["disliked_by_outcome"][o]) for o in ("like", "seed", "dislike", "seen",
                                                                               "read, not kept", "not linked")))],
        ["disliked, any film the seeker named (the recommender's too): saved as a dislike", "",
         *col("disliked_any_saved_as_dislike")],
        ["  the same: taken as a seed or like", "", *col("disliked_any_seed_or_like")],
        ["wrong way round, of films heard (saved or seeded)", "<= 0.01", *col("wrong_way_round")],
        ["not judged (liked 2): saved as a rating", "<= 0.02", *col("unsaid_saved_as_rating")],
        ["films linked to another item than ReDial's title and year", "", *num(lambda s: s["linked_to_another_item"])],
        ["hand audit: reading = hand label (exact / same direction / opposite)", "",
         *num(lambda s: f"{s['audit']['match']} / {s['audit']['same_direction']} / {s['audit']['wrong_way']} "
                        f"of {s['audit']['covered']}")],
    ]
    print_table(["", "goal", *names], rows)
    if audit:
        judged = {"liked", "disliked"}
        opposite = sum(r["label_redial"] in judged and r["label_hand"] in judged and r["label_redial"] != r["label_hand"]
                       for r in audit)
        form_only = sum(r["label_redial"] in judged and r["label_hand"] not in judged for r in audit)
        text_only = sum(r["label_redial"] == "unsaid" and r["label_hand"] in judged for r in audit)
        print(f"\nhand audit ({len(audit)} messages, {AUDIT.name}): the form and the text disagree on "
              f"{opposite + form_only + text_only}: opposite verdicts {opposite}, the form judges and the text does not "
              f"{form_only}, the text judges and the form does not {text_only}")


def print_failures(run: dict, per_kind: int) -> None:
    print(f"\nFailures of '{run.get('name', 'now')}' (up to {per_kind} a kind):")
    for kind, rows in run["failures"].items():
        print(f"- {kind}: {len(rows)}")
        for r in rows[:per_kind]:
            film = (f"{r['film']} [{r['catalog'] or 'linked ' + str(r['linked'])}] (said {r['said']}; did {r['did']}; "
                    f"read {r['read']}): " if "film" in r else "")
            print(f"    {r['conversation']}: {film}{' / '.join(m[:160] for m in r['messages'][:2])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: import into a temp store)")
    ap.add_argument("--dataset", default=None, help="the store's catalog to use (default: the largest)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    ap.add_argument("--previous", default=PREVIOUS, help="the commit of the previous parser (default %(default)s)")
    ap.add_argument("--no-previous", action="store_true", help="only the code as it is now")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    ap.add_argument("--examples", type=int, default=3, help="failure examples printed per kind (now)")
    ap.add_argument("--no-ablation", action="store_true",
                    help="skip the column of today's parser without the sentiment lexicon (VADER)")
    ap.add_argument("--impl-only", action="store_true", help=argparse.SUPPRESS)  # one parser's numbers, as JSON
    ap.add_argument("--own-store", default=None, help=argparse.SUPPRESS)  # its store when --db's schema is newer
    args = ap.parse_args()
    if not DIALOGUES.exists():
        sys.exit(f"{DIALOGUES} is absent")
    if args.impl_only:
        result = run_impl(args)
        args.json.write_text(json.dumps(result, indent=1)) if args.json else print(json.dumps(result["summary"]))
        return
    from bench.common import mls_store

    args.db = str(mls_store(args.db))
    started = time.strftime("%Y-%m-%d %H:%M")
    runs = {}
    if not args.no_previous:
        runs[f"previous ({args.previous})"] = run_previous(args, args.previous)
    runs["now"] = run_impl(args)
    if not args.no_ablation:  # the sentiment lexicon's part: the same code with engine.chat.sentiment silenced
        from engine.chat import sentiment

        verdict, sentiment.verdict = sentiment.verdict, lambda text: None
        try:
            runs["now, rules only (no VADER)"] = run_impl(args)
        finally:
            sentiment.verdict = verdict
    print(f"ReDial dev half on {args.db}: run {started}; "
          + "; ".join(f"{n}: {r['seconds']:.0f} s, code {Path(r['engine']).parents[1]}, store {r['store']}" for n, r in runs.items()))
    report(runs, read_audit(AUDIT))
    print_failures(runs["now"], args.examples)
    if args.json:  # no machine paths in what is written: the store and the code by name
        named = {n: {**r, "engine": "working tree" if n.startswith("now") else f"worktree of {args.previous}",
                     "store": Path(r["store"]).name} for n, r in runs.items()}
        args.json.write_text(json.dumps({"run": started, "db": Path(args.db).name, "limit": args.limit, **named}, indent=1))


if __name__ == "__main__":
    main()
