"""Finding catalog titles in what people type: every mention in a message, in the forms people write.

A `TitleIndex` is built once per catalog from its items and rating counts. `find` walks a message's
words left to right and takes the longest title that starts at each word:
- the forms: leading article either way ("The Terminator" / "Terminator, The" / "Terminator"),
  numbers as digits or words ("12 Monkeys" / "Twelve Monkeys", "Part II"), the catalog's alternate
  titles in parentheses ("Se7en"), a sequel's short form before its colon ("Terminator 2"), case,
  accents and punctuation ignored, one or two typos in a long title;
- a year written after the title ("Heat (1995)", "heat 1995") picks among remakes; otherwise the
  most-rated item wins;
- titles made of ordinary words ("Heat", "Big", "It", "The Rock") only when the message marks them
  as a title: quoted, capitalised past the start of a sentence, or after a word such as "saw",
  "like" or "loved" with the title ending there. Ordinary means frequent in English text
  (wordfreq's Zipf scale), so the list follows the catalog instead of a hand-written stop list.

Books link the same way, by title, and "books by X" names an author (`find_author`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from db.types import Item

from .genres import GENRE_WORDS

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&", re.U)
NUMBER_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
                "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
                "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
                "hundred": "100", "thousand": "1000"}
ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8"}  # not i, v, x: words too
ARTICLES = {"the", "a", "an"}
TRAILING_ARTICLES = ("the", "a", "an", "la", "le", "les", "l'", "il", "el", "das", "der", "die", "det", "lo")
_TRAILING_ARTICLE = re.compile(r"^(?P<rest>.*),\s*(?P<article>" + "|".join(TRAILING_ARTICLES) + r")$", re.I)
_PARENS = re.compile(r"\s*\(([^()]*)\)")
_TRAILING_PARENS = re.compile(r"(?:\s*\([^()]*\))+\s*$")  # alternate titles close a title; "(Not)" inside one is a word
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_AKA = re.compile(r"^\s*a\.k\.a\.?\s+", re.I)  # ml-latest's "Seven (a.k.a. Se7en) (1995)"
QUOTES = "\"“”«»'‘’`"
SENTENCE_END = ".!?\n"

# Words after which a capitalised title is meant as one ("I love Heat", "the movie Speed").
CUE_WORDS = {"saw", "seen", "see", "watched", "watch", "watching", "like", "liked", "love", "loved", "enjoyed",
             "enjoy", "adore", "adored", "hated", "hate", "disliked", "favorite", "favourite", "fan", "called",
             "titled", "named", "than", "movie", "film", "book", "read", "about", "preferred", "prefer", "is", "was"}
# The cues after which even a lowercase ordinary-word title counts ("i saw heat", "something like speed"):
# not the present-tense verbs, which take ordinary nouns ("I love speed and action").
STRONG_CUES = {"saw", "seen", "watched", "liked", "loved", "enjoyed", "adored", "hated", "disliked", "favorite",
               "favourite", "called", "titled", "named", "than"}
_LIKE_SEED = re.compile(r"\b(?:something|anything|stuff|movies?|films?|books?|more|similar)\s+like\s*$", re.I)
# What may follow a lowercase ordinary-word title for it to count ("i loved heat and jaws").
BOUNDARY_WORDS = {"and", "or", "but", "was", "is", "were", "are", "too", "as", "also", "though", "because", "so",
                  "then", "yet", "nor", "with", "by", "in", "from", "more", "has", "had", "it"}
ORDINARY_ZIPF = 3.9  # a one-word title at least this frequent in English needs marking (heat 4.9, fargo 3.6)
COMMON_ZIPF = 5.0  # a many-word title whose words are all this frequent needs marking ("The Rock", "The Last Five Years")
KIND_WORDS = {"movie", "movies", "film", "films"}  # "Scary Movie", "Superhero Movie": what people call a kind of film
# One-word replies of a conversation ("Perfect!", "LOL", "Gotcha"): such a title counts only quoted or after a cue.
REPLY_WORDS = {"perfect", "lol", "gotcha", "thanks", "ok", "okay", "cool", "nice", "awesome", "sure", "wow", "great",
               "yes", "yeah", "yep", "nope", "hi", "hello", "hey", "bye", "sorry", "fine", "whatever", "oops", "agreed"}
FUNCTION_ZIPF = 6.0  # "It", "Big", "Us": a title only when capitalised (or quoted)
FUZZY_MIN_CHARS = 10  # typos are forgiven only in titles at least this long
# "Speed was awesome": a capitalised word opening a sentence is a title when a verdict follows it.
_VERDICT = re.compile(r"\s+(?:is|was)\s+(?:\w+\s+){0,4}?(?:great|awesome|amazing|good|fantastic|excellent|brilliant|"
                      r"hilarious|funny|boring|bad|terrible|awful|overrated|dull|a\s+classic|my\s+favou?rites?)\b", re.I)


@dataclass(frozen=True)
class Word:
    key: str  # folded: lowercase, no accents or apostrophes, numbers as digits
    start: int
    end: int
    raw: str


@dataclass(frozen=True)
class Mention:
    """A title found in a message; `item` is None for a named title the catalog lacks."""

    item: Item | None
    text: str  # the words as typed
    start: int
    end: int
    fuzzy: bool = False
    related: bool = False  # "the new Lion King": a newer film of the name; the catalog's is its nearest relative


@dataclass(frozen=True)
class Link:
    """What `TitleIndex.link` found: one item (linked), several (ambiguous) or none (missing)."""

    status: str  # "linked" | "ambiguous" | "missing"
    item: Item | None = None
    candidates: tuple[Item, ...] = ()  # ambiguous: the plausible items; missing: the same title in other years
    why: str = ""


@dataclass(frozen=True)
class _Entry:
    item: Item
    popularity: float
    short: bool  # the part before a colon: loses to a whole title with the same words


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    w = unicodedata.normalize("NFKD", word.lower())
    w = "".join(c for c in w if not unicodedata.combining(c)).replace("'", "").replace("’", "")
    if w == "&":
        return "and"
    return NUMBER_WORDS.get(w) or ROMAN.get(w) or w


def words(text: str) -> list[Word]:
    return [Word(fold(m.group()), m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def keys(text: str) -> tuple[str, ...]:
    return tuple(w.key for w in words(text))


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    """How common a word is in English (wordfreq's Zipf scale: 3 = once per million words, 6 = 'it')."""
    if word.isdigit():
        return 6.0
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def ordinariness(key: tuple[str, ...]) -> int:
    """0: a distinctive title; 1: ordinary words (needs marking); 2: a function word (needs a capital or quotes)."""
    content = [k for k in key if k not in ARTICLES] or list(key)
    if len(content) == 1:
        z = zipf(content[0])
        return 2 if z >= FUNCTION_ZIPF else 1 if z >= ORDINARY_ZIPF or content[0] in REPLY_WORDS else 0
    if content[-1] in KIND_WORDS or all(zipf(k) >= COMMON_ZIPF for k in content):
        return 1
    return 0


def title_forms(title: str, bare_forms: bool = True) -> list[tuple[tuple[str, ...], bool]]:
    """(folded words, short form?) for every way a catalog title is written (see the module docstring)."""
    tail = _TRAILING_PARENS.search(title)
    alts = [_AKA.sub("", a) for a in _PARENS.findall(tail.group())] if tail else []
    main = (title[:tail.start()] if tail else title).strip()
    forms: list[tuple[tuple[str, ...], bool]] = []
    for text in [main, *alts]:
        text = text.strip()
        if m := _TRAILING_ARTICLE.match(text):
            bare = m.group("rest").strip()
            full = f"{m.group('article')} {bare}"
        else:
            full = text
            first, _, rest = text.partition(" ")
            bare = rest if first.lower() in ARTICLES and rest else text
        for form in (full, bare) if bare_forms else (full,):
            k = keys(form)
            if k and (k, False) not in forms:
                forms.append((k, False))
        head = bare.split(":")[0]
        head_keys = keys(head)
        if ":" in bare and head_keys and (any(k.isdigit() for k in head_keys) or len(head_keys) >= 3):
            forms.append((head_keys, True))
    return forms


@dataclass
class TitleIndex:
    """Every title form of a catalog → its items, most rated first."""

    forms: dict[tuple[str, ...], list[_Entry]] = field(default_factory=dict)
    by_length: dict[int, list[str]] = field(default_factory=dict)  # joined forms for typo search, by word count
    longest: int = 1
    authors: dict[tuple[str, ...], str] = field(default_factory=dict)
    names: dict[tuple[str, ...], Item] = field(default_factory=dict)  # "Seven (Se7en) (1995)" as the catalog shows it
    heads: dict[tuple[str, ...], list[Item]] = field(default_factory=dict)  # "Star Wars" of "Star Wars: Episode IV..."

    @classmethod
    def build(cls, items: Iterable[Item], popularity: dict[int, float] | None = None) -> "TitleIndex":
        pop = popularity or {}
        index = cls()
        for item in items:
            index.names.setdefault(keys(item.name), item)
            if ":" in (item.title or ""):
                index.heads.setdefault(keys(_PARENS.sub("", item.title).split(":")[0]), []).append(item)
            for key, short in title_forms(item.title or item.name):
                index.forms.setdefault(key, []).append(_Entry(item, pop.get(item.id, 0), short))
            for author in (a.strip() for a in item.creators.split(",") if item.creators):
                if len(keys(author)) >= 2:
                    index.authors.setdefault(keys(author), author)
        for key, entries in index.forms.items():
            entries.sort(key=lambda e: (e.short, -e.popularity, e.item.id))
            index.longest = max(index.longest, len(key))
            joined = " ".join(key)
            if len(joined) >= FUZZY_MIN_CHARS and not entries[0].short and ordinariness(key) == 0:
                index.by_length.setdefault(len(key), []).append(joined)
        return index

    # ------------------------------------------------------------------ lookup
    def pick(self, key: tuple[str, ...], year: int | None = None) -> Item | None:
        entries = self.forms.get(key)
        if not entries:
            return None
        if year is not None:
            for e in entries:
                if e.item.year == year:
                    return e.item
        return entries[0].item

    def link(self, title: str, year: int | None = None, author: str = "") -> "Link":
        """The item a title and year from another service name (a Letterboxd or IMDb row), or why none.

        The same forms as a message (articles either way, accents, alternate titles, a typo in a long
        title); the year picks among remakes and may be off by one (festival against release year); an
        author narrows books. Two plausible items: ambiguous, with both; none: not in the catalog."""
        found: dict[int, Item] = {}
        for key, short in title_forms(title):
            for e in self.forms.get(key, []):
                if not e.short:
                    found.setdefault(e.item.id, e.item)
        if not found and year is not None:  # "Star Wars" (1977): the part before the colon of one title that year
            short = {i.id: i for k, _ in title_forms(title) for i in self.heads.get(k, []) if i.year == year}
            if len(short) == 1:
                found.update(short)
        if not found and (fuzzy := self._fuzzy_key(keys(_PARENS.sub("", title)))) is not None:
            found[fuzzy.id] = fuzzy
        cands = list(found.values())
        written = {k for k, _ in title_forms(title, bare_forms=False)}  # "Heat" is not "The Heat" when both exist
        as_written = [i for i in cands if written & {k for k, _ in title_forms(i.title or i.name, bare_forms=False)}]
        cands = as_written or cands
        if author and cands:
            surname = keys(author)[-1:] if keys(author) else ()
            cands = [i for i in cands if not surname or surname[0] in keys(i.creators)] or []
        if year is not None and cands:
            close = [i for i in cands if i.year == year] or [i for i in cands if i.year and abs(i.year - year) == 1]
            if not close and not (close := [i for i in cands if i.year is None]):
                return Link("missing", None, tuple(cands[:5]), "the catalog has it only from other years")
            cands = close
        if len(cands) == 1:
            return Link("linked", cands[0], tuple(cands))
        return Link("ambiguous" if cands else "missing", None, tuple(cands[:5]))

    def lookup(self, text: str) -> Item | None:
        """The item a whole string names (a title typed on its own: "rate Heat", "why Alien")."""
        ws = words(text)
        if (named := self.names.get(tuple(w.key for w in ws))) is not None:
            return named
        year = int(ws[-1].key) if len(ws) > 1 and _YEAR.match(ws[-1].key) else None
        key = tuple(w.key for w in (ws[:-1] if year else ws))
        return self.pick(key, year) or self.pick(tuple(w.key for w in ws)) or self._fuzzy_key(key)

    def find(self, text: str) -> list[Mention]:
        """Every catalog title in `text`, left to right, without overlaps."""
        ws = words(text)
        out: list[Mention] = []
        i = 0
        while i < len(ws):
            listed = bool(out) and _continues_list(text, out[-1].end, ws[i].start)
            hit = self._exact_at(text, ws, i, listed) or self._fuzzy_at(text, ws, i)
            if hit is None:
                i += 1
                continue
            mention, n = hit
            out.append(mention)
            i += n
        return out

    def _exact_at(self, text: str, ws: list[Word], i: int, listed: bool = False) -> tuple[Mention, int] | None:
        for n in range(min(self.longest, len(ws) - i), 0, -1):
            key = tuple(w.key for w in ws[i:i + n])
            if key not in self.forms or not marked(text, ws, i, n, ordinariness(key), listed):
                continue
            if inside_longer_name(text, ws, i, n, ordinariness(key)):
                return None  # "Avengers End Game", "Michael Douglas", "Toy Story 4": another title or a name
            year, used = _year_after(text, ws, i + n)
            item = self.pick(key, year)
            if year is not None and item.year != year:
                near = [e for e in self.forms[key] if e.item.year and abs(e.item.year - year) == 1]
                if not near:
                    return None  # "Little Women (2019)": a remake the catalog does not have
                item = near[0].item  # a year off by one, as people (and release dates) have it
            end = ws[i + n - 1 + used].end
            return Mention(item, text[ws[i].start:end], ws[i].start, end, related=newer_film(ws, i)), n + used
        return None

    def _fuzzy_at(self, text: str, ws: list[Word], i: int) -> tuple[Mention, int] | None:
        """One typo in a title of 10+ letters, two in 16+; the words must start alike."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        for n in range(min(self.longest, len(ws) - i), 1, -1):
            got = " ".join(w.key for w in ws[i:i + n])
            if len(got) < FUZZY_MIN_CHARS:
                break
            limit = 2 if len(got) >= 16 else 1
            choices = self.by_length.get(n, [])
            hit = process.extractOne(got, choices, scorer=Levenshtein.distance, score_cutoff=limit)
            if hit is None or hit[0][0] != got[0]:
                continue
            key = tuple(hit[0].split())
            if key[-1][:2] != ws[i + n - 1].key[:2]:
                continue
            if inside_longer_name(text, ws, i, n):
                return None
            item = self.pick(key)
            end = ws[i + n - 1].end
            return Mention(item, text[ws[i].start:end], ws[i].start, end, fuzzy=True), n
        return None

    def _fuzzy_key(self, key: tuple[str, ...]) -> Item | None:
        hit = self._fuzzy_at(" ".join(key), words(" ".join(key)), 0)
        return hit[0].item if hit and hit[1] == len(key) else None

    def find_author(self, text: str) -> str | None:
        """The catalog author a "books by X" names (full name, case and accents ignored)."""
        ws = words(text)
        for n in range(len(ws), 1, -1):
            for i in range(len(ws) - n + 1):
                name = self.authors.get(tuple(w.key for w in ws[i:i + n]))
                if name:
                    return name
        return None


def _year_after(text: str, ws: list[Word], j: int) -> tuple[int | None, int]:
    """A year written right after a title: "(1995)", "1995", ", 1995"."""
    if j < len(ws) and _YEAR.match(ws[j].key):
        between = text[ws[j - 1].end:ws[j].start]
        if between.strip(" (,") == "":
            return int(ws[j].key), 1
    return None, 0


def sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip(" \t" + QUOTES + "(*-")
    return not before or before[-1] in SENTENCE_END or before.endswith("...")


def quoted(text: str, start: int, end: int) -> bool:
    before, after = text[:start].rstrip(" "), text[end:].lstrip(" ")
    return bool(before) and bool(after) and before[-1] in QUOTES and after[0] in QUOTES


def capitalised(ws: Sequence[Word]) -> bool:
    """Every word but short joining words starts with a capital ("Men in Black", "Dazed and Confused")."""
    big = [w for w in ws if not (w.key in {"of", "the", "a", "an", "in", "and", "on", "to", "for", "at"} and len(ws) > 1)]
    return bool(big) and all(w.raw[0].isupper() or w.raw[0].isdigit() for w in big)


def cue_before(ws: list[Word], i: int, cues: set[str] = CUE_WORDS) -> bool:
    return any(w.key in cues for w in ws[max(0, i - 2):i])


def strong_cue_before(ws: list[Word], i: int) -> bool:
    """A strong cue right before the words, or before an article right before them ("saw the rock")."""
    if i >= 1 and ws[i - 1].key in STRONG_CUES:
        return True
    return i >= 2 and ws[i - 1].key in ARTICLES and ws[i - 2].key in STRONG_CUES


_JOINERS = {"of", "for", "in", "on", "to", "the", "a", "an", "at"}
_NOT_NAMES = {"i", "the", "a", "an", "and", "or", "but", "my", "mr", "mrs", "ms", "dr"}


def inside_longer_name(text: str, ws: list[Word], i: int, n: int, level: int = 1) -> bool:
    """The words continue a capitalised run ("Wonder Boys", "Avengers Infinity War", "Birds of Prey") or a
    sequel number follows them ("Toy Story 4"): a title or name the catalog does not hold."""
    j = i + n
    if j < len(ws) and _subtitle(text, ws[j - 1], ws[j]):
        return True  # "Avengers: Endgame", "Jumanji:next level": a longer title the catalog lacks
    if i >= 1 and _subtitle(text, ws[i - 1], ws[i]) and ws[i - 1].raw[0].isupper():
        return True
    if j < len(ws) and not _gap(text, ws[j - 1], ws[j]):
        nxt = ws[j]
        if nxt.key.isdigit() and len(nxt.key) < 3:
            return True
        if ws[j - 1].raw[0].isupper() or ws[j - 1].raw[0].isdigit():
            if nxt.raw[0].isupper() and nxt.key not in _NOT_NAMES:
                return True
            if nxt.key in _JOINERS - {"the", "a", "an"} and j + 1 < len(ws) and ws[j + 1].raw[0].isupper() \
                    and not _gap(text, nxt, ws[j + 1]) and ws[j + 1].key not in _NOT_NAMES:
                return True
    if i >= 1 and ws[i].raw[0].isupper() and not _gap(text, ws[i - 1], ws[i]):
        prev = ws[i - 1]
        if not level:  # a distinctive title keeps a name before it ("Tim Allen Santa Clause") but not a
            return (prev.raw[0].isupper() and prev.key not in _NOT_NAMES | _NEWER  # common word ("Black Panther")
                    and not sentence_start(text, prev.start) and zipf(prev.key) >= 4.6)
        if prev.raw[0].isupper() and prev.key not in _NOT_NAMES and \
                (not sentence_start(text, prev.start) or prev.raw.endswith(("'s", "’s"))
                 or (prev.key not in CUE_WORDS | STRONG_CUES and zipf(prev.key) < 5.0)):
            return True  # "Infinity War", "Gerald's Game", "Wonder Boys" (but "Loved Heat")
        if prev.key in _JOINERS and i >= 2 and not _gap(text, ws[i - 2], prev) and ws[i - 2].raw[0].isupper() \
                and ws[i - 2].key not in _NOT_NAMES and not sentence_start(text, ws[i - 2].start):
            return True  # "The Year Without a Santa Claus"
    return False


_NEWER = {"new", "newer", "newest", "latest", "upcoming", "recent", "remake", "reboot", "live", "sequel"}


def newer_film(ws: list[Word], i: int) -> bool:
    """"the new Lion King", "the latest Star Wars": a newer film of that name, not the catalog's."""
    before = [w.key for w in ws[max(0, i - 2):i] if w.key not in ARTICLES]
    return bool(before) and before[-1] in _NEWER


def _gap(text: str, a: Word, b: Word) -> bool:
    """Punctuation between two words: they do not run together."""
    return any(c in text[a.end:b.start] for c in ",;:.!?()\"“”/")


def _subtitle(text: str, a: Word, b: Word) -> bool:
    """A colon joins the words as title and subtitle: "Avengers: Endgame", "Jumanji:next level"."""
    between = text[a.end:b.start]
    return between.strip() == ":" and not between.startswith(" ") and (b.raw[0].isupper() or between == ":")


def _continues_list(text: str, prev_end: int, start: int) -> bool:
    """Only "," "and" "or" "&" lie between the previous title and this word: "saw Heat, Speed and Crash"."""
    between = text[prev_end:start]
    return re.fullmatch(r"\s*(?:,|&|\band\b|\bor\b)(?:\s|,|&|\band\b|\bor\b|\balso\b)*", between, re.I) is not None


def boundary_after(text: str, ws: list[Word], j: int) -> bool:
    if j >= len(ws):
        return True
    between = text[ws[j - 1].end:ws[j].start]
    return any(c in between for c in ",;:.!?()\"“”") or ws[j].key in BOUNDARY_WORDS


_PAREN_YEAR = re.compile(r"\s*\(\s*(?:18|19|20)\d\d\s*\)")


def marked(text: str, ws: list[Word], i: int, n: int, level: int, listed: bool = False) -> bool:
    """Whether the message marks words i..i+n as a title, as an ordinary-word title needs (module docstring).

    `listed`: the words follow another title with only "," / "and" / "or" between ("Heat, Speed and Crash")."""
    span = ws[i:i + n]
    if quoted(text, span[0].start, span[-1].end) or _PAREN_YEAR.match(text, span[-1].end):
        return True  # quoted, or followed by its year in parentheses: "It (2017)", "Up (2009)"
    if n == 1 and (len(span[0].key) <= 2 or span[0].key in GENRE_WORDS):
        return False  # "M", "War": a letter or a genre word is a title only in quotes
    if n == 1 and span[0].key in REPLY_WORDS:  # "Perfect!" is a reply; "I saw Perfect" a title
        return strong_cue_before(ws, i) or (capitalised(span) and cue_before(ws, i))
    if level == 0:
        return True
    caps = capitalised(span) and any(w.raw[0].isupper() for w in span)
    if level == 2:  # "It", "Big": a capital that is not just the sentence's, or a capital after a cue
        return caps and (not sentence_start(text, span[0].start) or cue_before(ws, i) or listed)
    if caps and (n > 1 or listed or not sentence_start(text, span[0].start) or _VERDICT.match(text, span[-1].end)
                 or re.match(r"\s*(?:[,.!?]|$)", text[span[-1].end:])):
        return True
    cued = listed or strong_cue_before(ws, i) or bool(_LIKE_SEED.search(text[:span[0].start]))
    return cued and boundary_after(text, ws, i + n)
