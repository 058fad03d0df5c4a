"""Requests to learn an order from, built at a temporal cut (engine.evaluation.temporal_split) from what each
person rated before it and liked after it, so the ranker learns the task it is measured on.

Kinds, per person with a like in the cut's window:
- "for me": their history before the cut -> their likes in the window;
- "like X": one of those likes as the seed ("something like X") -> their other likes in the window that are
  like X (among X's NEAR nearest films of the catalog, collaboratively or by content): what someone asking
  for "something like X" would accept, not whatever they liked next (a first fit on every later like learned
  to ignore the seed and answer "more like Raising Arizona" with Toy Story);
- "words": the tags of one of those likes (known at the cut), as describing words (InstructRec's way of
  writing a request from a held-out item's attributes) -> their likes in the window those words describe;
- "genre": one genre of one of those likes, asked for -> their likes in the window of that genre.
Films first rated in the window are new at the cut: no ratings, no tags, as a released film is. A person
with no history before the cut gets the same kinds with nothing rated (the cold start).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from db.knowledge import FilmFacts
from engine.rank.signals import Ask, Signals

from .temporal_split import Cut

KINDS = ("for me", "like X", "words", "genre")
PER_USER = {"for me": 1, "like X": 2, "words": 2, "genre": 1}  # requests of each kind per person and cut
WORDS_PER_REQUEST = 2  # the held-out film's most applied tags
NEAR = 200  # a "like X" target is among X's NEAR nearest films (of about 9,000) by EASE or by content
Relevance = Callable[[tuple[str, ...]], Callable[[np.ndarray], np.ndarray]]  # words -> (ids -> relevance)


@dataclass(frozen=True)
class LtrRequest:
    user_id: int
    kind: str
    cut: int  # index of the cut whose signals it reads
    ask: Ask
    exclude: frozenset[int]  # rated before the cut, and the seed
    targets: frozenset[int]
    said: str = ""  # the seed's id, the words or the genre: what the person asked


def neighbourhood(signals: Signals, catalog: np.ndarray, n: int = NEAR) -> Callable[[int], frozenset[int]]:
    """X -> the `n` films of the catalog nearest X by its EASE row, and the `n` nearest by content."""
    catalog = np.asarray(catalog, dtype=np.int64)

    def near(x: int) -> frozenset[int]:
        ease = signals.collab.ease_scores([x], catalog)
        content = signals.content.similarity(catalog, [x])[0]
        top = [np.argsort(-v, kind="stable")[:n] for v in (ease, content)]
        return frozenset(catalog[np.concatenate(top)].tolist()) - {x}
    return near


def requests_at(index: int, c: Cut, films: list[FilmFacts], relevance_of: Relevance | None = None,
                per_user: dict[str, int] = PER_USER, min_tag_films: int = 2, seed: int = 0,
                users: set[int] | None = None, near: Callable[[int], frozenset[int]] | None = None
                ) -> list[LtrRequest]:
    """Every kind of request for each person with a like in the cut's window (or only `users`). `films`: as known
    at the cut (their tags applied before it); `relevance_of` turns words into a relevance (the describing-words
    reader, engine.vocab.describe); without it no "words" request is made. `near`: X -> the films like X
    (`neighbourhood`); without it a "like X" request's targets are all the other later likes."""
    rng = random.Random(f"{seed}-{index}")
    by_id = {f.item_id: f for f in films}
    tag_films: dict[str, int] = {}
    for f in films:
        for t in f.tags:
            tag_films[t] = tag_films.get(t, 0) + 1
    out: list[LtrRequest] = []
    for u in sorted(c.future):
        later = c.later_likes(u)
        if not later or (users is not None and u not in users):
            continue
        history = c.history.get(u, [])
        liked = tuple(h.item_id for h in history if h.liked)
        disliked = tuple(h.item_id for h in history if not h.liked)
        rated = frozenset(h.item_id for h in history)
        base = Ask(liked, disliked, at=c.at)

        def add(kind: str, ask: Ask, targets, said: str = "", exclude=rated) -> None:
            targets = frozenset(targets) - exclude
            if targets:
                out.append(LtrRequest(u, kind, index, ask, frozenset(exclude), targets, said))

        if per_user.get("for me"):
            add("for me", base, later)
        for x in rng.sample(later, min(per_user.get("like X", 0), len(later))):
            like_x = near(x) if near is not None else None
            add("like X", Ask(liked, disliked, seeds=(x,), at=c.at),
                [i for i in later if i != x and (like_x is None or i in like_x)], str(x), rated | {x})
        if relevance_of is not None:
            tagged = [i for i in later if any(tag_films.get(t, 0) >= min_tag_films for t in by_id[i].tags)]
            for i in rng.sample(tagged, min(per_user.get("words", 0), len(tagged))):
                tags = sorted((t for t in by_id[i].tags if tag_films.get(t, 0) >= min_tag_films),
                              key=lambda t: (-by_id[i].tags[t], t))[:WORDS_PER_REQUEST]
                rel = relevance_of(tuple(tags))
                scores = rel(np.array(later, dtype=np.int64))
                add("words", Ask(liked, disliked, relevance=rel, at=c.at),
                    [j for j, s in zip(later, scores) if s > 0], ", ".join(tags))
        genred = [i for i in later if by_id[i].genres and by_id[i].genres != ("(no genres listed)",)]
        for i in rng.sample(genred, min(per_user.get("genre", 0), len(genred))):
            g = rng.choice(sorted(by_id[i].genres))
            add("genre", Ask(liked, disliked, genres=(g,), at=c.at), [j for j in later if g in by_id[j].genres], g)
    return out
