"""What a sentence feels about a film when no rule of engine.chat.reading names a verdict ("X is such a
sweet story", "X dragged on forever"): VADER's lexicon, with its negation, contrast and booster rules.

VADER scores words the way reviews of products use them; in a film chat many of its negative words describe
what a film is about, not what the person thought ("a scary movie", "killer", "war", "sad", "dark"), so those
are neutral here. The thresholds were chosen on ReDial's development dialogues (bench/hearing.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LIKE_AT = 0.5  # compound score at or above: a like
DISLIKE_AT = -0.35  # at or below: a dislike; between the two the title stays a seed

# Content words, not verdicts: what a film is about or how it feels on purpose.
FILM_WORDS = frozenset("""
scary scare scared scares creepy horror horrific horrifying terrifying terror terrified frightening fright
dark darker darkest sad sadness cry crying cried tears tragic tragedy grim bleak disturbing disturbed twisted
kill killed killer killers killing kills murder murdered murderer murders death dead die dies dying war wars
fight fighting fights battle battles evil demon demons devil monster monsters zombie zombies ghost ghosts
haunted haunting crime criminal criminals violent violence blood bloody gore gory weapon weapons gun guns
shoot shooting attack attacked alien aliens villain villains revenge prison cancer suicide hell insane crazy
mad intense suspense thriller thrillers mystery shock shocking danger dangerous dead weird strange
cheesy no want wanted need needs please ok okay fine
""".split())


@lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    a = SentimentIntensityAnalyzer()
    for word in FILM_WORDS:
        a.lexicon.pop(word, None)
    return a


def verdict(text: str) -> Literal["liked", "disliked"] | None:
    """A like or a dislike when the words around a title are clearly one or the other, else None."""
    if not text.strip():
        return None
    score = analyzer().polarity_scores(text)["compound"]
    return "liked" if score >= LIKE_AT else "disliked" if score <= DISLIKE_AT else None
