"""Genres, years, counts and refinements in a message ("80s sci-fi", "no horror", "only comedies", "older").

Read from the message with every title blanked out (engine.chat.reading), so "Star Wars" is not a
war film and "Sense and Sensibility" no filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.vocab.genres import genre

DEFAULT_COUNT = 10
MAX_COUNT = 50

DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990}

_COUNT = re.compile(r"\b(?:show|give|top|list|recommend|suggest)\s+(?:me\s+)?(\d{1,3})\b|\b(\d{1,3})\s+(?:more\s+)?"
                    r"(?:movies|films|books|items|picks|recommendations|suggestions|titles|results)\b", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s+(?:and|to|-)\s+((?:19|20)\d\d)\b|\b((?:19|20)\d\d)\s*-\s*((?:19|20)\d\d)\b", re.I)
_AFTER = re.compile(r"\b(after|since|newer\s+than|later\s+than|from)\s+((?:19|20)\d\d)(?:\s+on(?:wards?)?)?\b", re.I)
_BEFORE = re.compile(r"\b(before|older\s+than|earlier\s+than|until|up\s+to|till)\s+((?:19|20)\d\d)\b", re.I)
_NOT_BEFORE = re.compile(r"\b(?:nothing|no|not\s+anything|none)\s+(?:\w+\s+)?(before|older\s+than|earlier\s+than|"
                         r"after|newer\s+than|later\s+than)\s+((?:19|20)\d\d)\b", re.I)
_IN_YEAR = re.compile(r"\b(?:in|of)\s+((?:19|20)\d\d)\b", re.I)
_DECADE = re.compile(r"\b(?:the\s+)?'?((?:19|20)?\d)0'?s\b", re.I)
_DECADE_WORD = re.compile(r"\b(?:the\s+)?(" + "|".join(DECADE_WORDS) + r")\b", re.I)
_EXCLUDE = re.compile(r"\b(?:no|not|without|except|minus|nothing|avoid|hate|hated|dislike|don'?t\s+like|"
                      r"not\s+a\s+fan\s+of)\s+(?:any\s+|more\s+|too\s+|very\s+|so\s+|really\s+)?([\w'-]+)", re.I)
_ONLY = re.compile(r"\b(?:only|strictly|nothing\s+but|exclusively)\s+((?:[\w'-]+\s+)?[\w'-]+)", re.I)
_OLDER = re.compile(r"\b(?:older|earlier|classic|classics|old|vintage)\b", re.I)
_NEWER = re.compile(r"\b(?:newer|more\s+recent|recent|latest|modern)\b", re.I)
_WORD = re.compile(r"[\w'-]+")
_NOT_WATCHLIST = re.compile(r"\b(?:not|never|beyond|outside|forget|anything\s+but|besides)\s+(?:from\s+|on\s+|in\s+)?"
                            r"(?:my|the)\s+watch\s*-?\s*list\b", re.I)
_LOW_POP = re.compile(r"\b(?:hidden\s+gems?|less(?:er)?[\s-]+known|little[\s-]+known|under[\s-]*(?:rated|the[\s-]+radar|seen)|"
                      r"obscure|not\s+(?:so\s+|too\s+)?(?:popular|mainstream|famous)|off\s+the\s+beaten\s+path|"
                      r"niche|cult\s+classics?|deep\s+cuts?|nothing\s+(?:too\s+)?(?:popular|mainstream))\b", re.I)
_HIGH_POP = re.compile(r"\b(?:popular\s+(?:picks?|ones?|films?|movies?)|something\s+popular|crowd[\s-]*pleasers?|"
                       r"blockbusters?|mainstream|well[\s-]+known|everyone\s+(?:has\s+seen|knows))\b", re.I)
_MIN_RATINGS = re.compile(r"\bat\s+least\s+(\d[\d,]*)\s+(?:ratings|votes|reviews)\b", re.I)
# Who is watching: "for the kids", "family night" ask for children's films and no horror
_KIDS = re.compile(r"\b(?:for|with)\s+(?:the\s+|my\s+|our\s+|little\s+)?(?:kids?|children|little\s+ones|"
                   r"(?:\d+|\w+)[\s-]+year[\s-]+olds?|toddlers?|family)\b|\bkid[\s-]*friendly\b|\bfamily[\s-]*(?:friendly|"
                   r"movies?|films?|night)\b|\bsuitable\s+for\s+(?:kids|children)\b", re.I)
# A mood that leans on a genre besides its tags ("something lighter": comedies first; "a tear jerker": dramas)
MOOD_GENRES = {"lighter": "Comedy", "light": "Comedy", "light-hearted": "Comedy", "lighthearted": "Comedy",
               "happy": "Comedy", "cheerful": "Comedy", "upbeat": "Comedy", "feel-good": "Comedy",
               "tearjerker": "Drama", "tear-jerker": "Drama", "sad": "Drama"}
_MOOD = re.compile(r"\b(?:something|anything|a|more|bit|little|mood\s+for|feel(?:ing)?\s+like)\s+(?:\w+\s+)?("
                   + "|".join(sorted(MOOD_GENRES, key=len, reverse=True)) + r"|tear\s+jerker|feel\s+good)\b", re.I)


def mood_genre(word: str) -> str | None:
    """The genre a mood word leans on ("lighter": Comedy), if it is one."""
    return MOOD_GENRES.get(word.lower().replace(" ", "-"))


_WATCHLIST = re.compile(r"\b(?:from|on|in|off|of|through)\s+(?:my|the)\s+watch\s*-?\s*list\b|\bmy\s+watch\s*-?\s*list\b", re.I)


@dataclass(frozen=True)
class Filters:
    genres: tuple[str, ...] = ()  # a preference: boosted, unless `only`
    exclude_genres: tuple[str, ...] = ()
    only: bool = False  # "only comedies": the genres filter
    year_min: int | None = None
    year_max: int | None = None
    count: int | None = None
    older: bool = False  # "something older": earlier than what was shown
    newer: bool = False
    watchlist: bool | None = None  # "from my watchlist": only those; "not from my watchlist": the whole catalog again
    popularity: str | None = None  # "hidden gems": low; "popular picks": high (engine.rank.retrieval.POPULARITY)
    min_ratings: int | None = None  # "at least 100 ratings"

    @property
    def any(self) -> bool:
        return bool(self.genres or self.exclude_genres or self.year_min or self.year_max or self.count
                    or self.older or self.newer or self.watchlist is not None or self.popularity is not None
                    or self.min_ratings is not None)


class _Text:
    """The message with spans removed as they are understood, so one phrase is not read twice."""

    def __init__(self, s: str):
        self.s = s

    def take(self, pattern: re.Pattern) -> list[re.Match]:
        found = list(pattern.finditer(self.s))
        if found:
            self.s = pattern.sub(" ", self.s)
        return found


def read_filters(text: str, domain: str = "movie") -> Filters:
    t = _Text(text.replace("science fiction", "science-fiction").replace("Science Fiction", "science-fiction"))
    watchlist = False if t.take(_NOT_WATCHLIST) else True if t.take(_WATCHLIST) else None
    popularity = "low" if t.take(_LOW_POP) else "high" if t.take(_HIGH_POP) else None
    floor = t.take(_MIN_RATINGS)
    min_ratings = int(floor[-1].group(1).replace(",", "")) if floor else None
    year_min = year_max = None
    for m in t.take(_NOT_BEFORE):  # "nothing before 1980": from 1980 on
        if m.group(1).lower() in ("before", "older than", "earlier than"):
            year_min = int(m.group(2))
        else:
            year_max = int(m.group(2))
    for m in t.take(_BETWEEN):
        a, b = (int(g) for g in m.groups() if g)
        year_min, year_max = min(a, b), max(a, b)
    for m in t.take(_AFTER):
        year_min = int(m.group(2)) + (1 if m.group(1).lower() == "after" else 0)
    for m in t.take(_BEFORE):
        year_max = int(m.group(2)) - (1 if m.group(1).lower() == "before" else 0)
    for m in t.take(_IN_YEAR):
        year_min = year_max = int(m.group(1))
    for m in t.take(_DECADE_WORD):
        year_min, year_max = DECADE_WORDS[m.group(1).lower()], DECADE_WORDS[m.group(1).lower()] + 9
    for m in t.take(_DECADE):
        d = m.group(1)
        start = int(d) * 10 if len(d) == 3 else 1900 + int(d) * 10 if int(d) >= 2 else 2000 + int(d) * 10
        year_min, year_max = start, start + 9
    count = None
    for m in t.take(_COUNT):
        count = max(1, min(MAX_COUNT, int(next(g for g in m.groups() if g))))
    kids = bool(t.take(_KIDS))
    moods = [mood_genre(m.group(1)) for m in _MOOD.finditer(t.s)]
    exclude = [g for m in t.take(_EXCLUDE) if (g := genre(m.group(1)))] + (["Horror"] if kids else [])
    only = [g for m in _ONLY.finditer(t.s) for w in m.group(1).split() if (g := genre(w))]
    older, newer = bool(_OLDER.search(t.s)), bool(_NEWER.search(t.s))
    genres = list(only) + (["Children's"] if kids and not only else [])
    for g in moods:
        if g not in genres and g not in exclude and not only:
            genres.append(g)
    for w in _WORD.findall(t.s):
        g = genre(w)
        if g and g not in genres and g not in exclude:
            genres.append(g)
    return Filters(tuple(genres), tuple(dict.fromkeys(exclude)), bool(only), year_min, year_max, count,
                   older and not newer, newer and not older, watchlist, popularity, min_ratings)
