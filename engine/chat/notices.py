"""The words of the chat's replies about what it understood and what the catalog holds: the "Got it"
summary, the catalog notice and hint, titles it cannot find, and what a plan will score.

Pure functions of what the session read: a reply reads the same wherever it is composed.
"""

from __future__ import annotations

import re

from db.knowledge import Knowledge
from db.types import Item

from .planning import Plan
from .reading import Reading
from .state import ConversationState


def opening(catalog_note: str, knows: Knowledge | None) -> list[str]:
    """The chat's first notices: which catalog it holds, and what it knows of a film beyond its ratings."""
    return [catalog_note[:1].upper() + catalog_note[1:] + "."] + ([knows.describe()] if knows else [])


def understood(st: ConversationState, names: dict[int, str], reading: Reading | None = None,
               from_likes: bool = False) -> str:
    """What the conversation holds now, in words, so a person can correct it (`from_likes`: with nothing said,
    the list comes from the person's stored likes, not from popularity)."""
    if st.empty:
        if reading is None or reading.says_something:
            return ""
        return ("Nothing new to go on, so these come from what you rated before." if from_likes
                else "Nothing to go on yet, so here are popular picks.")
    bits = []
    if st.liked:
        bits.append("you like " + and_(names[i] for i in st.liked))
    if st.disliked:
        bits.append(("not " if st.liked else "you don't like ") + and_(names[i] for i in st.disliked))
    if st.seeds or st.related:
        bits.append("something like " + and_(names[i] for i in [*st.seeds, *st.related]))
    if st.seen:
        bits.append("seen " + and_(names[i] for i in st.seen))
    if st.genres:
        bits.append(("only " if st.only_genres else "") + "/".join(st.genres).lower())
    if st.exclude_genres:
        bits.append("no " + "/".join(st.exclude_genres).lower())
    if st.year_min and st.year_max:
        bits.append(f"{st.year_min}-{st.year_max}" if st.year_min != st.year_max else str(st.year_min))
    elif st.year_min:
        bits.append(f"from {st.year_min}")
    elif st.year_max:
        bits.append(f"up to {st.year_max}")
    if st.author:
        bits.append(f"by {st.author}")
    if st.watchlist:
        bits.append("from your watchlist")
    if st.words:
        bits.insert(0, ("only " if st.only_words else "") + ", ".join(st.words))
    if st.popularity != "any":
        bits.append("half of them less known" if st.popularity == "low" else "popular picks first")
    if st.min_ratings:
        bits.append(f"at least {st.min_ratings:,} ratings")
    if st.avoid_words:
        bits.append("not " + ", ".join(st.avoid_words))
    return "Got it: " + "; ".join(bits) + "."


def unknown_words(words: list[str], has_runtimes: bool) -> str:
    """Describing words the catalog cannot read, said back rather than dropped."""
    if not words:
        return ""
    runtime = [w for w in words if re.search(r"\d|hour|min|short|long", w, re.I)]
    other = [w for w in words if w not in runtime]
    parts = []
    if other:
        parts.append("I don't know " + and_(f"'{w}'" for w in other) + " here (not a tag or person this catalog has)")
    if runtime and not has_runtimes:
        parts.append("I don't know runtimes in this catalog, so I left '" + runtime[0] + "' out "
                     "(`engine data import imdb-datasets DIR` adds them)")
    return "; ".join(parts) + "." if parts else ""


def newer_catalog_hint(domain: str, info, years: tuple[int, int] | None, imdb_linked: bool = False) -> str:
    """Which catalog the chat holds and the command that brings the films it lacks (said once per chat)."""
    held = f"This chat's catalog is {info.dataset} ({info.n_items:,} items" if info else "This chat has no catalog"
    held += f", {years[0]}-{years[1]}" if info and years else ""
    if domain == "movie" and imdb_linked:
        return (held + "); `engine data fetch imdb-datasets` then `engine data import imdb-datasets DIR` adds every "
                "film to date with enough IMDb votes, linked to this catalog.")
    if domain == "movie":
        return (held + "); `engine data import movielens ml-latest-small` fetches and imports movies up to "
                "2018 (ml-32m: up to 2023), and `chat --dataset ml-latest-small` chats on it.")
    return held + ("); " if info else "; ") + "`engine data import recbole DIR` or `engine data import bookcrossing DIR` brings another."


def missing_note(title: str, close: list[Item]) -> str:
    return f"{title} (did you mean {' or '.join(i.name for i in close)}?)" if close else title


def unknown_title(title: str, close: list[Item]) -> str:
    if not close:
        return f"I don't know a title like '{title}'."
    return f"I don't know '{title}'. Did you mean: " + "; ".join(i.name for i in close) + "?"


def describe(plan: Plan, user_name: str) -> str:
    """What happens next with a plan: what it gave up, and how many candidates the ranker ordered."""
    parts = [plan.note] if plan.note else []
    if not plan.candidates:
        parts.append("Nothing left to recommend: everything that matches is rated or mentioned, or the filter is too narrow.")
    else:
        parts.append(f"Ranked {len(plan.candidates)} candidates for {user_name}; the first {min(plan.count, len(plan.candidates))} "
                     f"follow, with the LLM's P(Yes).")
    return " ".join(parts)


def saved_note(n: int) -> str:
    return f"Saved {n} rating{'s' * (n > 1)} ('undo' takes {'them' if n > 1 else 'it'} back)." if n else ""


def and_(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
