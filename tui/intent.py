"""Reading a chat message without a big model: a few patterns for what people ask a recommender.

`parse` is pure: titles are looked up through the `find_title` callback (the session passes a
catalog lookup), so the rules are testable without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Generic, Literal, TypeVar

T = TypeVar("T")

Kind = Literal["recommend", "rate", "why", "undo", "user", "eval", "help", "empty", "unknown"]

DEFAULT_COUNT = 10
MAX_COUNT = 50

# Words people use → ML-100K genre names (the catalog's `genres` column).
GENRE_WORDS: dict[str, str] = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure",
    "animation": "Animation", "animated": "Animation", "cartoon": "Animation", "cartoons": "Animation",
    "children's": "Children's", "children": "Children's", "kids": "Children's", "family": "Children's",
    "comedy": "Comedy", "comedies": "Comedy", "funny": "Comedy", "funnier": "Comedy", "funniest": "Comedy",
    "humor": "Comedy", "humour": "Comedy", "crime": "Crime", "gangster": "Crime", "heist": "Crime",
    "documentary": "Documentary", "documentaries": "Documentary", "drama": "Drama", "dramas": "Drama",
    "fantasy": "Fantasy", "noir": "Film-Noir", "film-noir": "Film-Noir",
    "horror": "Horror", "scary": "Horror", "scarier": "Horror",
    "musical": "Musical", "musicals": "Musical", "mystery": "Mystery", "mysteries": "Mystery",
    "romance": "Romance", "romantic": "Romance", "romances": "Romance",
    "sci-fi": "Sci-Fi", "scifi": "Sci-Fi", "science-fiction": "Sci-Fi",
    "thriller": "Thriller", "thrillers": "Thriller", "suspense": "Thriller",
    "war": "War", "western": "Western", "westerns": "Western",
}
DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990}
ASK_WORDS = {"recommend", "recommendation", "recommendations", "suggest", "suggestion", "something", "anything",
             "movie", "movies", "film", "films", "book", "books", "watch", "read", "more", "show", "surprise",
             "another", "others", "else", "next", "picks", "give"}

HELP = ("I understand: 'something like Alien but funnier', genres ('comedy', 'no horror'), years "
        "('80s', 'after 1990', 'between 1970 and 1980'), 'show me 10', 'I liked Heat', "
        "\"didn't enjoy Cats\", 'why Fargo?', 'undo', '/user NAME', 'eval'. Keys: l/d like or dislike "
        "the selected row, u undo, w why, e evaluation runs, / back to typing.")


@dataclass(frozen=True)
class Request:
    """The filters of a recommendation request."""

    like_titles: tuple[str, ...] = ()  # as typed after "like"; resolved items are in Intent.items
    genres: tuple[str, ...] = ()
    exclude_genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    count: int = DEFAULT_COUNT

    def describe(self) -> str:
        parts = []
        if self.genres:
            parts.append("/".join(self.genres))
        if self.exclude_genres:
            parts.append("no " + "/".join(self.exclude_genres))
        if self.year_min and self.year_max:
            parts.append(f"{self.year_min}-{self.year_max}" if self.year_min != self.year_max else str(self.year_min))
        elif self.year_min:
            parts.append(f"from {self.year_min}")
        elif self.year_max:
            parts.append(f"up to {self.year_max}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Intent(Generic[T]):
    kind: Kind
    request: Request = Request()
    items: tuple[T, ...] = ()  # resolved titles: "more like" seeds, or the item to rate / explain
    title: str = ""  # the title text as typed (rate, why), for "I don't know X" replies
    liked: bool | None = None
    user: str = ""


@dataclass
class _Text:
    """The message with spans removed as they are understood, so a title's words are not re-read as filters."""

    s: str
    consumed: list[str] = field(default_factory=list)

    def take(self, pattern: re.Pattern) -> list[re.Match]:
        found = list(pattern.finditer(self.s))
        if found:
            self.s = pattern.sub(" ", self.s)
        return found


_RATE_LIKE = re.compile(r"^(?:i\s+(?:really\s+|also\s+|totally\s+)?(?:liked|loved|enjoyed|adored|like|love|enjoy)"
                        r"|(?:really\s+)?(?:liked|loved|enjoyed|adored))\s+(.+)$", re.I)
_RATE_DISLIKE = re.compile(
    r"^(?:i\s+)?(?:really\s+)?(?:didn'?t|did\s+not|don'?t|do\s+not)\s+(?:really\s+)?(?:like|enjoy|love|care\s+for)\s+(.+)$"
    r"|^(?:i\s+)?(?:really\s+)?(?:hated|disliked|hate|dislike|detested)\s+(.+)$"
    r"|^not\s+a\s+fan\s+of\s+(.+)$", re.I)
_WHY = re.compile(r"^why\s+(?:did\s+you\s+(?:recommend|suggest|pick)\s+|is\s+|this\s+|recommend\s+)?(.+?)\??$", re.I)
_USER = re.compile(r"^/?(?:user|switch\s+to|login|log\s+in\s+as|i\s+am)\s+(\S.*)$", re.I)
_LIKE_REF = re.compile(r"\b(?:more\s+like|something\s+like|stuff\s+like|similar\s+to|like)\s+(.+)$", re.I)
_COUNT = re.compile(r"\b(?:show|give|top|list|recommend|suggest)\s+(?:me\s+)?(\d{1,3})\b|\b(\d{1,3})\s+(?:more\s+)?"
                    r"(?:movies|films|books|items|picks|recommendations|suggestions|titles|results)\b", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s+(?:and|to|-)\s+((?:19|20)\d\d)\b|\b((?:19|20)\d\d)\s*-\s*((?:19|20)\d\d)\b", re.I)
_AFTER = re.compile(r"\b(after|since|newer\s+than|later\s+than|from)\s+((?:19|20)\d\d)(?:\s+on(?:wards?)?)?\b", re.I)
_BEFORE = re.compile(r"\b(before|older\s+than|earlier\s+than|until|up\s+to|till)\s+((?:19|20)\d\d)\b", re.I)
_IN_YEAR = re.compile(r"\b(?:in|of)\s+((?:19|20)\d\d)\b", re.I)
_DECADE = re.compile(r"\b(?:the\s+)?'?((?:19|20)?\d)0'?s\b", re.I)
_DECADE_WORD = re.compile(r"\b(?:the\s+)?(" + "|".join(DECADE_WORDS) + r")\b", re.I)
_EXCLUDE = re.compile(r"\b(?:no|not|without|except|minus|nothing|but\s+not|avoid)\s+(?:any\s+|more\s+|too\s+|very\s+|so\s+)?([\w'-]+)", re.I)
_WORD = re.compile(r"[\w'-]+")


def _first(m: re.Match) -> str:
    return next(g for g in m.groups() if g)


def _strip_title(s: str) -> str:
    return s.strip().strip("\"'“”‘’").strip().rstrip("?.!").strip()


def _resolve_prefix(words: list[str], find_title: Callable[[str], T | None]) -> tuple[T | None, int]:
    """The longest leading run of words that names a title: "Alien but funnier" → Alien, 1 word."""
    for n in range(len(words), 0, -1):
        hit = find_title(" ".join(words[:n]))
        if hit is not None:
            return hit, n
    return None, 0


def parse(message: str, find_title: Callable[[str], T | None] = lambda s: None) -> Intent[T]:
    text = message.strip()
    low = text.lower().rstrip("!. ")
    if not text:
        return Intent("empty")
    if low in {"help", "?", "h", "what can you do", "what can you do?", "commands"}:
        return Intent("help")
    if low in {"undo", "/undo", "take that back"}:
        return Intent("undo")
    if low in {"eval", "/eval", "evaluation", "auc", "show eval", "evals"}:
        return Intent("eval")
    if m := _USER.match(text):
        return Intent("user", user=_strip_title(m.group(1)))
    if low in {"why", "why this", "why that", "why this one"}:
        return Intent("why")
    if m := _WHY.match(text):
        title = _strip_title(m.group(1))
        item = find_title(title)
        return Intent("why", items=(item,) if item is not None else (), title=title)
    for pattern, liked in ((_RATE_DISLIKE, False), (_RATE_LIKE, True)):
        if m := pattern.match(text):
            title = _strip_title(_first(m))
            if title.lower() in GENRE_WORDS or title.lower().rstrip("s") in GENRE_WORDS:
                break  # "I like comedies" is a request, not a rating
            item = find_title(title)
            if item is not None or not _looks_like_request(title):
                return Intent("rate", items=(item,) if item is not None else (), title=title, liked=liked)
            break
    return _request(text, find_title)


def _looks_like_request(s: str) -> bool:
    words = {w.lower() for w in _WORD.findall(s)}
    return bool(words & ASK_WORDS) or any(w in GENRE_WORDS for w in words)


def _request(text: str, find_title: Callable[[str], T | None]) -> Intent[T]:
    t = _Text(text)
    seeds: list[T] = []
    like_titles: list[str] = []
    if m := _LIKE_REF.search(t.s):
        words = _strip_title(m.group(1)).split()
        item, n = _resolve_prefix(words, find_title)
        if item is not None:
            seeds.append(item)
            like_titles.append(" ".join(words[:n]))
            t.s = t.s[: m.start()] + " " + " ".join(words[n:])
    year_min = year_max = None
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
    count = DEFAULT_COUNT
    for m in t.take(_COUNT):
        count = max(1, min(MAX_COUNT, int(_first(m))))
    exclude = []
    for m in t.take(_EXCLUDE):
        g = _genre(m.group(1))
        if g:
            exclude.append(g)
    genres = []
    for w in _WORD.findall(t.s.replace("science fiction", "science-fiction")):
        g = _genre(w)
        if g and g not in genres and g not in exclude:
            genres.append(g)
    req = Request(tuple(like_titles), tuple(genres), tuple(exclude), year_min, year_max, count)
    understood = seeds or genres or exclude or year_min or year_max or count != DEFAULT_COUNT
    if understood or _looks_like_request(text):
        return Intent("recommend", request=req, items=tuple(seeds))
    return Intent("unknown")


def _genre(word: str) -> str | None:
    w = word.lower()
    return GENRE_WORDS.get(w) or (GENRE_WORDS.get(w[:-1]) if w.endswith("s") else None)
