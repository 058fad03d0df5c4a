"""Requests that describe rather than name: does the top 10 carry what was asked for?

    .venv/bin/python bench/describe.py [--db STORE] [--users new,ml-latest-small-1] [--json FILE]

Forty requests, written before any tuning the way people type them (moods, themes, franchises and
studios, people, and mixes with titles), each with the catalog tags that judge it. A top-10 film counts
when it carries one of them (a MovieLens tag application, or genome relevance >= 0.5 where the release
has a genome): precision@10 by the catalog's own data. Rankers, same users, same run:

- the chat now: `ChatSession.handle` then its ranking (retrieval, the stack without the LLM: the LLM's
  P(Yes) held at 0, as bench/inspired.py's ablation row), describing words read;
- the chat as it was: the same code with an empty vocabulary (every describing word dropped);
- plain full-text match: the films whose title or tags contain the request's words, most matched first,
  popularity breaking ties.
Users: a new one (no history) and a real one with a long history. Also: how many replies hide a word they
could not read (a describing word missing from both "Got it" and "I don't know").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import mls_store, print_table  # noqa: E402


@dataclass(frozen=True)
class Request:
    text: str
    gold: tuple[str, ...]  # tags that make a film an answer
    kind: str  # mood, theme, franchise, person, mix


REQUESTS = [
    Request("something mind-bending", ("mindfuck", "surreal", "psychological", "thought-provoking", "twist ending",
                                       "dreamlike", "philosophical", "nonlinear"), "mood"),
    Request("a dark movie", ("dark", "dark comedy", "black comedy", "disturbing", "bleak"), "mood"),
    Request("something mind-bending and dark, newer than 2000", ("mindfuck", "surreal", "psychological", "dark",
                                                                 "disturbing", "thought-provoking", "twist ending"), "mix"),
    Request("heist movies", ("heist",), "theme"),
    Request("a time travel movie", ("time travel",), "theme"),
    Request("zombie films please", ("zombies", "zombie"), "theme"),
    Request("superhero movies", ("superhero", "comic book", "marvel", "super-hero"), "franchise"),
    Request("something from Disney", ("disney", "disney animated feature"), "franchise"),
    Request("Pixar films", ("pixar", "pixar animation"), "franchise"),
    Request("anything with a twist ending", ("twist ending",), "theme"),
    Request("a feel-good movie", ("feel-good", "heartwarming", "uplifting", "feel good movie"), "mood"),
    Request("something atmospheric", ("atmospheric",), "mood"),
    Request("a quirky comedy", ("quirky",), "mood"),
    Request("something surreal", ("surreal",), "mood"),
    Request("a thought-provoking film", ("thought-provoking", "philosophical"), "mood"),
    Request("christmas movies", ("christmas",), "theme"),
    Request("dystopian sci-fi", ("dystopia", "dystopian"), "theme"),
    Request("movies set in space", ("space", "space travel"), "theme"),
    Request("something about aliens", ("aliens", "alien invasion"), "theme"),
    Request("a Stephen King adaptation", ("stephen king",), "person"),
    Request("Shakespeare adaptations", ("shakespeare",), "person"),
    Request("mafia movies", ("mafia", "organized crime", "gangsters"), "theme"),
    Request("a psychological thriller", ("psychological", "psychology", "psychological thriller"), "mood"),
    Request("something about mental illness", ("mental illness",), "theme"),
    Request("high school movies", ("high school",), "theme"),
    Request("a movie about journalism", ("journalism",), "theme"),
    Request("holocaust films", ("holocaust",), "theme"),
    Request("a boxing movie", ("boxing",), "theme"),
    Request("some anime", ("anime",), "theme"),
    Request("something with ghosts", ("ghosts",), "theme"),
    Request("a good revenge movie", ("revenge",), "theme"),
    Request("something visually stunning", ("visually appealing", "visually stunning", "cinematography", "beautiful"), "mood"),
    Request("a satire", ("satire", "political satire"), "mood"),
    Request("something like Inception but funnier", ("funny", "comedy", "dark comedy", "hilarious"), "mix"),
    Request("anything with Leonardo DiCaprio", ("leonardo dicaprio",), "person"),
    Request("Tom Hanks movies", ("tom hanks",), "person"),
    Request("an emotional drama", ("emotional", "sad", "tearjerker"), "mood"),
    Request("something bittersweet", ("bittersweet",), "mood"),
    Request("a movie about religion", ("religion",), "theme"),
    Request("I loved The Matrix, something with a twist like it", ("twist ending", "mindfuck", "surreal"), "mix"),
]


class ZeroScorer:
    """P(Yes) held at 0.5 (logit 0): the stack without the LLM ranks, as bench/inspired.py's ablation."""

    name = "no-llm"
    identity = None

    def __init__(self):
        from db.scoring import PromptSettings

        self.prompts = PromptSettings()

    def score(self, prompts):
        from db.scoring import Score

        return [Score(0.0, 0.0) for _ in prompts]


def answers(top: list[int], gold: tuple[str, ...], tags: dict[str, dict[int, float]]) -> float:
    carriers = set().union(*(tags.get(t, {}).keys() for t in gold))
    return sum(1 for i in top[:10] if i in carriers) / 10


def best_possible(gold, tags, rated: set[int]) -> float:
    """The precision a perfect ranker reaches: films the user has rated never come back."""
    return min(1.0, len(set().union(*(tags.get(t, {}).keys() for t in gold)) - rated) / 10)


def chat_top(session, text: str) -> tuple[list[int], str]:
    session.state = type(session.state)()
    session.shown = []
    reply = session.handle(text)
    if reply.plan is None:
        return [], reply.text
    ranking = list(session.rank(reply.plan))[-1]
    return [r.item.id for r in ranking.items], reply.text


_STOP = frozenset("a an the some something anything movie movies film films please with about from like it i "
                  "loved set in good but funnier".split())


def fulltext_top(text: str, docs: dict[int, str], popularity: dict[int, float], rated: set[int]) -> list[int]:
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP]
    scored = []
    for i, doc in docs.items():
        if i in rated:
            continue
        hits = sum(1 for w in words if re.search(rf"\b{re.escape(w)}", doc))
        if hits:
            scored.append((hits, popularity.get(i, 0.0), i))
    scored.sort(reverse=True)
    return [i for _, _, i in scored[:10]]


def hidden_words(reply: str, text: str, session) -> bool:
    """A request whose describing words the reply neither shows nor says it could not read: every request
    here describes, so a reply that shows no word, no genre and no "I don't know" dropped one silently."""
    read = session.vocabulary().read(text)
    said = [w.label for w in read.wanted] + read.unknown
    if not said:
        return not re.search(r"Got it: [^.]*(?:action|comedy|drama|crime|horror|sci-fi|thriller|animation|"
                             r"romance|war|fantasy|mystery|documentary|musical|western|children)", reply, re.I)
    return any(w.lower() not in reply.lower() for w in said)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="store with ml-latest-small imported (default: a temp store)")
    ap.add_argument("--users", default="describe-bench-new,ml-latest-small-414")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from db import open_db
    from db.catalog import catalog_items
    from db.knowledge import tag_relevance
    from engine.chat.session import ChatSession
    from engine.vocab.describe import Vocabulary

    path = mls_store(args.db)
    db = open_db(path)
    tags = tag_relevance(db, "movie")
    items = catalog_items(db, "movie")
    by_item: dict[int, list[str]] = {}
    for tag, films in tags.items():
        for i in films:
            by_item.setdefault(i, []).append(tag)
    docs = {i: (it.title + " " + " ".join(by_item.get(i, []))).lower() for i, it in items.items()}
    rows, report = [], {}
    t0 = time.perf_counter()
    for user in args.users.split(","):
        session = ChatSession(path, user, scorer_factory=ZeroScorer, new_chat=True)
        from engine.rank.stack import find_stack

        session.load_model()
        session.stack = find_stack(None, "movie", session.collab.current().kind, session.catalog.dataset)
        popularity = dict(zip(items, session.collab.current().popularity(list(items)).tolist()))
        rated = {h.item_id for h in session.history()}
        now_vocab = session.vocabulary()
        per = {"chat now": [], "chat as it was (words dropped)": [], "full-text over titles and tags": []}
        hidden = 0
        for req in REQUESTS:
            top, reply = chat_top(session, req.text)
            per["chat now"].append(answers(top, req.gold, tags))
            hidden += hidden_words(reply, req.text, session)
            session.store._vocab = Vocabulary({})  # the chat reads its words through its store
            top, _ = chat_top(session, req.text)
            per["chat as it was (words dropped)"].append(answers(top, req.gold, tags))
            session.store._vocab = now_vocab
            per["full-text over titles and tags"].append(answers(fulltext_top(req.text, docs, popularity, rated),
                                                                 req.gold, tags))
        session.close()
        ceiling = float(np.mean([best_possible(r.gold, tags, rated) for r in REQUESTS]))
        for name, vals in per.items():
            rows.append([user, name, f"{np.mean(vals):.3f}",
                         f"{np.mean([v for v, r in zip(vals, REQUESTS) if r.kind != 'mix']):.3f}",
                         f"{np.mean([v for v, r in zip(vals, REQUESTS) if r.kind == 'mix']):.3f}", f"{ceiling:.3f}"])
        report[user] = {"precision@10": {k: float(np.mean(v)) for k, v in per.items()},
                        "per_request": {k: dict(zip([r.text for r in REQUESTS], v)) for k, v in per.items()},
                        "replies hiding a word": hidden, "best possible": ceiling}
        print(f"{user}: {hidden} of {len(REQUESTS)} replies hide a describing word")
    print(f"\n{len(REQUESTS)} requests on ml-latest-small (1,572 tagged films), top 10 judged by the catalog's tags; "
          f"{time.perf_counter() - t0:.0f} s")
    print_table(["user", "ranker", "precision@10", "without mixes", "mixes with titles", "best possible"], rows)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
