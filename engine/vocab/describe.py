"""Describing words read against the catalog's own vocabulary: its tags (MovieLens applications, the tag
genome), the people the store knows, runtimes, and a short reviewed list of the words people use for
several tags at once ("mind-bending" ~ mindfuck, surreal, psychological, thought-provoking...).

A word becomes a `Want`: a label the reply shows and the films it is about, each with a relevance 0-1.
Retrieval and the stack answer to it as a preference (engine.rank); "only" makes it a filter. A word that
looks like a description but names nothing the catalog knows is said back, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .genres import GENRE_WORDS
from .mentions import ARTICLES, KIND_WORDS, zipf

# Words people use for several tags at once: reviewed by hand against ml-latest-small's and the genome's
# tags (a tag the catalog lacks simply matches nothing). Keys are normalised phrases (see `norm`).
MOODS: dict[str, tuple[str, ...]] = {
    "mind bending": ("mindfuck", "mind-bending", "mind bending", "surreal", "psychological", "thought-provoking",
                     "twist ending", "nonlinear", "complicated", "dreamlike", "philosophical", "cerebral",
                     "psychological thriller", "reality or illusion"),
    "mind blowing": ("mindfuck", "mind-bending", "twist ending", "thought-provoking", "surreal"),
    "trippy": ("surreal", "trippy", "dreamlike", "psychedelic", "mindfuck"),
    "dark": ("dark", "dark comedy", "black comedy", "bleak", "disturbing", "grim", "dark humor", "noir", "dystopia"),
    "feel good": ("feel-good", "feel good movie", "heartwarming", "uplifting", "happy ending", "good feel", "cute",
                  "sweet", "touching"),
    "heartwarming": ("heartwarming", "feel-good", "uplifting", "touching", "sweet"),
    "uplifting": ("uplifting", "inspirational", "feel-good", "heartwarming", "inspiring"),
    "sad": ("sad", "tearjerker", "depressing", "emotional", "bittersweet", "melancholy", "melancholic"),
    "tearjerker": ("tearjerker", "sad", "emotional", "bittersweet"),
    "tear jerker": ("tearjerker", "sad", "emotional", "bittersweet", "touching"),
    "light": ("feel-good", "funny", "lighthearted", "light-hearted", "heartwarming", "sweet", "fun", "hilarious"),
    "lighter": ("feel-good", "funny", "lighthearted", "light-hearted", "heartwarming", "sweet", "fun", "hilarious"),
    "light hearted": ("feel-good", "funny", "lighthearted", "light-hearted", "heartwarming", "sweet", "fun"),
    "lighthearted": ("feel-good", "funny", "lighthearted", "light-hearted", "heartwarming", "sweet", "fun"),
    "happy": ("feel-good", "happy ending", "heartwarming", "uplifting", "funny", "sweet"),
    "cheerful": ("feel-good", "heartwarming", "uplifting", "funny"),
    "family": ("family", "kids", "children", "family friendly", "disney", "pixar", "animation"),
    "thought provoking": ("thought-provoking", "philosophical", "cerebral", "intellectual", "social commentary"),
    "cheesy": ("cheesy", "campy", "so bad it's good", "b-movie", "silly", "cult film"),
    "based on a true story": ("based on a true story", "true story", "based on true story", "biography",
                              "biopic", "history", "historical"),
    "true story": ("based on a true story", "true story", "based on true story", "biography", "biopic"),
    "superhero": ("superhero", "superheroes", "comic book", "super-hero", "marvel", "dc comics", "comics"),
    "marvel": ("marvel", "marvel cinematic universe", "superhero", "comic book", "avengers"),
    "dc": ("dc comics", "dc", "batman", "superman"),
    "pixar": ("pixar", "pixar animation"),
    "disney": ("disney", "disney animated feature", "walt disney", "disney renaissance"),
    "zombie": ("zombie", "zombies"),
    "vampire": ("vampire", "vampires"),
    "time travel": ("time travel", "time loop", "time-travel"),
    "twist": ("twist ending", "plot twist", "twist", "twists & turns"),
    "heist": ("heist", "robbery", "caper"),
    "space": ("space", "space travel", "outer space", "astronauts", "space opera"),
    "date night": ("romantic", "feel-good", "romance", "love story", "chick flick", "date movie"),
    "romantic": ("romantic", "romance", "love story"),
    "classic": ("classic", "imdb top 250", "afi 100"),
    "atmospheric": ("atmospheric", "moody", "visually appealing", "cinematography"),
    "quirky": ("quirky", "offbeat", "weird", "eccentric", "whimsical"),
    "epic": ("epic", "epic adventure", "grand"),
    "nostalgic": ("nostalgia", "nostalgic", "childhood", "coming of age"),
    "coming of age": ("coming of age", "coming-of-age", "adolescence", "teen", "high school"),
    "visually stunning": ("visually stunning", "visually appealing", "beautiful", "cinematography", "stylized"),
    "violent": ("violent", "violence", "gore", "brutal", "bloody"),
    "gory": ("gore", "gory", "bloody", "violent"),
    "slow burn": ("slow", "slow burn", "atmospheric", "meditative"),
    "christmas": ("christmas", "holiday"),
    "stephen king": ("stephen king",),
    "shakespeare": ("shakespeare",),
    "dystopian": ("dystopia", "dystopian", "post-apocalyptic", "totalitarianism"),
    "post apocalyptic": ("post-apocalyptic", "apocalypse", "dystopia"),
    "aliens": ("aliens", "alien", "alien invasion", "extraterrestrial"),
    "robots": ("robots", "robot", "artificial intelligence", "ai"),
    "war": ("war", "world war ii", "vietnam", "military"),
}
# Moods that take each other back: "something lighter now" after "mind-bending and dark" replaces the dark
_LIGHT = frozenset(["light", "lighter", "light hearted", "lighthearted", "happy", "cheerful", "feel good",
                    "heartwarming", "uplifting", "funny", "fun", "upbeat"])
_HEAVY = frozenset(["dark", "sad", "tearjerker", "tear jerker", "violent", "gory", "bleak", "disturbing", "depressing",
                    "mind bending", "mind blowing", "slow burn"])


def opposed(a: str, b: str) -> bool:
    """Two describing words one of which takes the other back (a light mood and a heavy one)."""
    a, b = norm(a), norm(b)
    return (a in _LIGHT and b in _HEAVY) or (a in _HEAVY and b in _LIGHT)


# Conversational words that are tags somewhere ("great", "movie", "good") but never a description here.
_CHAT_WORDS = frozenset(
    "a an the and or but not no some any something anything movie movies film films one ones show me please "
    "want would like love loved liked watch watched see seen good great best nice really very more less new old "
    "recent tonight today night i you we it that this these those my your with without from by for of in on to "
    "kind sort type something's what who which maybe also just lot bit little much many other another give find "
    "recommend suggest suggestion picks pick list top only".split())
_WORD = re.compile(r"[a-z0-9][a-z0-9'&.-]*")
_DESCRIPTIVE = re.compile(
    r"\b(?:something|anything|some|a|an|really|very|more|less|kinda|kind\s+of|pretty)\s+([a-z][a-z'-]+)"
    r"(?:\s+(?:and|or)\s+([a-z][a-z'-]+))?(?=\s+(?:movie|film|one|flick|story|stuff|thing|to\s+watch)s?\b|[\s,.!?]*$)", re.I)
_NOT = re.compile(r"\b(?:not|no|less|without|nothing|isn'?t|aren'?t|avoid)\s+(?:too\s+|so\s+|very\s+|that\s+)?$", re.I)
_ONLY = re.compile(r"\b(?:only|strictly|nothing\s+but|must\s+be)\s+(?:\w+\s+){0,2}$", re.I)
_PERSON = re.compile(r"\b(?:with|starring|by|directed\s+by|featuring|from)\s+((?:[A-Z][\w'.-]+\s*){1,3})|"
                     r"((?:[A-Z][\w'.-]+\s+){0,2}[A-Z][\w'.-]+)(?:'s)?\s+(?:movies|films|flicks|pictures)\b")
_RUNTIME = re.compile(r"\b(?:under|less\s+than|shorter\s+than|no\s+more\s+than|max(?:imum)?|at\s+most|within|"
                      r"no\s+longer\s+than|not\s+longer\s+than)\s+"
                      r"(an?\s+hour(?:\s+and\s+a\s+half)?|one\s+hour|two\s+hours|three\s+hours|\d+(?:\.\d+)?\s*"
                      r"(?:h|hrs?|hours?|min(?:ute)?s?))\b|\b(short|quick|long|epic-length|shorter)\s+(?:movie|film|one)s?\b|"
                      r"\b(?P<not_long>(?:not|nothing|isn'?t|no)\s+(?:too\s+|that\s+|so\s+|very\s+|overly\s+)?long)\b|"
                      r"\b(?:something|anything|a\s+bit|somewhat|bit)\s+(?P<short>short(?:er)?|quick)\b", re.I)
RUNTIME_WORDS = {"short": (0, 100), "not too long": (0, 120), "long": (150, 600)}  # minutes each word allows
_NUMBER_WORDS = {"an hour": 60, "a hour": 60, "one hour": 60, "an hour and a half": 90, "a hour and a half": 90,
                 "two hours": 120, "three hours": 180}


def norm(phrase: str) -> str:
    """Case, hyphens and plurals folded: "Mind-Bending" ~ "mind bending", "zombies" ~ "zombie"."""
    words = re.sub(r"[-_/]+", " ", phrase.lower()).split()
    return " ".join(_singular(w) for w in words)


def _singular(w: str) -> str:
    """A plural's trailing s dropped ("zombies", "heists"); phrase and tag fold the same way, so "comedies"
    and "comedie" meet even where English would not."""
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@dataclass(frozen=True)
class Want:
    """One describing word as the catalog reads it: the label the reply shows and what it is about."""

    label: str
    kind: str  # "tag", "person", "runtime"
    keys: tuple[str, ...] = ()  # tags, or a person's name
    minutes: tuple[int, int] | None = None  # runtime (low, high)


@dataclass
class WordsReading:
    wanted: list[Want] = field(default_factory=list)
    avoided: list[Want] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # describing words the catalog cannot read
    only: bool = False

    @property
    def any(self) -> bool:
        return bool(self.wanted or self.avoided or self.unknown)


@dataclass
class Vocabulary:
    """The catalog's describing words: tag -> {item: relevance}, person -> {item: relevance}, runtimes."""

    tags: dict[str, dict[int, float]]
    people: dict[str, dict[int, float]] = field(default_factory=dict)
    runtimes: dict[int, int] = field(default_factory=dict)
    min_films: int = 2  # a tag on fewer films is one person's note, not a word the catalog knows

    def __post_init__(self) -> None:
        self.by_norm: dict[str, list[str]] = {}
        for tag, films in self.tags.items():
            if len(films) >= self.min_films:
                self.by_norm.setdefault(norm(tag), []).append(tag)
        self.max_phrase = max((len(k.split()) for k in [*self.by_norm, *MOODS]), default=1)
        self.surnames: dict[str, list[str]] = {}
        for name in self.people:
            parts = name.split()
            if len(parts) >= 2:
                self.surnames.setdefault(parts[-1], []).append(name)

    # ------------------------------------------------------------- reading
    def want(self, label: str) -> Want | None:
        """The Want a label stands for (the conversation state keeps labels)."""
        key = norm(label)
        if key in MOODS:
            tags = tuple(t for m in MOODS[key] for t in self.by_norm.get(norm(m), []))
            return Want(label, "tag", tuple(dict.fromkeys(tags))) if tags else None
        if key in self.by_norm:
            return Want(label, "tag", tuple(self.by_norm[key]))
        if label.casefold() in self.people:
            return Want(label, "person", (label.casefold(),))
        if m := re.fullmatch(r"(\d+)-(\d+) min", label):
            return Want(label, "runtime", minutes=(int(m.group(1)), int(m.group(2))))
        if m := re.fullmatch(r"under (\d+) min", label):
            return Want(label, "runtime", minutes=(0, int(m.group(1))))
        if label in RUNTIME_WORDS:
            return Want(label, "runtime", minutes=RUNTIME_WORDS[label])
        return None

    def read(self, text: str) -> WordsReading:
        """Describing words of a message whose titles were blanked out (engine.chat.reading)."""
        out = WordsReading(only=bool(re.search(r"\b(?:only|strictly|nothing\s+but)\b", text, re.I)))
        taken = [False] * len(text)
        for m in _RUNTIME.finditer(text):
            want = self._runtime(m)
            if want:
                (out.avoided if _NOT.search(text[:m.start()]) else out.wanted).append(want)
            else:
                out.unknown.append(m.group(0).strip())
            _take(taken, m.start(), m.end())
        for start, end, name in self._people_in(text):
            out.wanted.append(Want(name.title(), "person", (name,)))
            _take(taken, start, end)
        low = text.lower()
        tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(low)]
        k = 0
        while k < len(tokens):
            hit = None
            for n in range(min(self.max_phrase, len(tokens) - k), 0, -1):
                start, end = tokens[k][0], tokens[k + n - 1][1]
                if any(taken[start:end]):
                    continue
                phrase = " ".join(t for _, _, t in tokens[k:k + n])
                key = norm(phrase)
                if n == 1 and key not in MOODS and (phrase in _CHAT_WORDS or phrase in GENRE_WORDS or key in GENRE_WORDS
                                                    or phrase.isdigit()):
                    continue
                if key in MOODS or key in self.by_norm:
                    if key not in MOODS and everyday(phrase) and not framed(text, tokens, k, n):
                        continue  # "Awesome, got both", "I have not seen it": conversation, though both are tags
                    hit = (n, phrase, start, end)
                    break
            if hit is None:
                k += 1
                continue
            n, phrase, start, end = hit
            want = self.want(phrase)
            if want is not None:
                negated = bool(_NOT.search(text[:start]))
                (out.avoided if negated else out.wanted).append(want)
            else:  # a reviewed word whose tags this catalog lacks
                out.unknown.append(phrase)
            _take(taken, start, end)
            k += n
        for m in _DESCRIPTIVE.finditer(text):
            for g in (1, 2):
                word = m.group(g)
                if not word or any(taken[m.start(g):m.end(g)]):
                    continue
                w = word.lower()
                if w in _CHAT_WORDS or w in GENRE_WORDS or norm(w) in GENRE_WORDS or w.endswith("er") and w[:-2] in GENRE_WORDS:
                    continue
                if _common(w):  # "else", "different", "interesting": conversation, not a description
                    continue
                out.unknown.append(word)
        out.wanted = _unique(out.wanted)
        out.avoided = _unique(out.avoided)
        return out

    def _runtime(self, m: re.Match) -> Want | None:
        if not self.runtimes:
            return None
        if m.group("not_long"):
            return self.want("not too long")
        if word := (m.group(2) or m.group("short") or "").lower():
            return self.want("short" if word in ("short", "quick", "shorter") else "long")
        raw = m.group(1).lower()
        if raw in _NUMBER_WORDS:
            limit = _NUMBER_WORDS[raw]
        else:
            value = float(re.match(r"\d+(?:\.\d+)?", raw).group())
            limit = int(value * 60) if re.search(r"\bh", raw) else int(value)
        return Want(f"under {limit} min", "runtime", minutes=(0, limit))

    def _people_in(self, text: str) -> list[tuple[int, int, str]]:
        """Names the store knows ("with Tom Hanks", "Nolan films", "directed by Greta Gerwig")."""
        if not self.people:
            return []
        out = []
        for m in _PERSON.finditer(text):
            g = 1 if m.group(1) else 2
            words = m.group(g).replace("'s", "").split()
            for n in range(len(words), 0, -1):  # the longest run of capitalised words that is a name
                for s in range(0, len(words) - n + 1):
                    cand = " ".join(words[s:s + n]).casefold()
                    names = [cand] if cand in self.people else self.surnames.get(cand, []) if n == 1 else []
                    if len(names) >= 1:
                        best = max(names, key=lambda nm: len(self.people[nm]))
                        out.append((m.start(g), m.end(g), best))
                        break
                else:
                    continue
                break
        return out

    # ------------------------------------------------------------ relevance
    def relevance(self, want: Want, item_ids) -> np.ndarray:
        ids = [int(i) for i in item_ids]
        if want.kind == "runtime":
            lo, hi = want.minutes
            return np.array([1.0 if i in self.runtimes and lo <= self.runtimes[i] <= hi else 0.0 for i in ids])
        sources = [self.tags.get(t, {}) for t in want.keys] if want.kind == "tag" else \
            [self.people.get(k, {}) for k in want.keys]
        return np.array([max((s.get(i, 0.0) for s in sources), default=0.0) for i in ids])

    def score(self, wanted: list[Want], avoided: list[Want], item_ids) -> np.ndarray:
        """How well each item answers the wanted words (their mean), minus the avoided ones: -1..1."""
        n = len(item_ids)
        pos = np.mean([self.relevance(w, item_ids) for w in wanted], axis=0) if wanted else np.zeros(n)
        neg = np.max([self.relevance(w, item_ids) for w in avoided], axis=0) if avoided else np.zeros(n)
        return pos - neg


EVERYDAY_ZIPF = 4.5  # at or above (wordfreq's scale): "awesome", "book", "music"; below: "heist", "zombie", "twist"
_FRAME_AFTER = frozenset(KIND_WORDS) | frozenset("flick flicks one ones story stories stuff adaptation adaptations "
                                                 "show shows series".split())
_FRAME_BEFORE = frozenset("something anything some more less about with into like love enjoy prefer want".split())
_ACKNOWLEDGING = frozenset("awesome interesting cool great amazing nice perfect fun bad sad wow sweet fine".split())


def everyday(phrase: str) -> bool:
    """Every word of it is an everyday English word: a tag such as "awesome" or "not seen" that people also
    say in passing, so it is read only where it describes (`framed`)."""
    return all(zipf(w) >= EVERYDAY_ZIPF for w in phrase.split())


def framed(text: str, tokens: list[tuple[int, int, str]], k: int, n: int) -> bool:
    """Tokens k..k+n sit where a description does: before a film noun or a genre ("christmas movies", "an
    emotional drama") or ending in one ("an animal movie", "a British comedy"), after a request word
    ("something fun", "about the future", "set in space"), the whole message ("Christmas!"), or written
    as a name ("Will Smith", "loved Marvel's"; not one capital word opening a sentence: "Awesome, got both")."""
    words = [t for _, _, t in tokens]
    after = words[k + n] if k + n < len(words) else ""
    before = [w for w in words[max(0, k - 3):k] if w not in ARTICLES][-1:] or [""]
    last = words[k + n - 1]
    capitals = [text[a:a + 1].isupper() for a, _, _ in tokens[k:k + n]]
    opens = k == 0 or text[:tokens[k][0]].rstrip()[-1:] in (".", "!", "?")
    whole = len([w for w in words if w != "please"]) == n and not (n == 1 and last in _ACKNOWLEDGING)  # "Awesome!"
    return (whole or any(w in _FRAME_AFTER or w in GENRE_WORDS or norm(w) in GENRE_WORDS for w in (after, last))
            or before[0] in _FRAME_BEFORE or words[max(0, k - 2):k] == ["set", "in"]
            or (all(capitals) and (n > 1 or not opens)))


def _common(word: str) -> bool:
    """An everyday word (Zipf frequency >= 5: "else", "different") rather than a describing one ("cozy")."""
    return zipf(word) >= 5.0


def _take(taken: list[bool], start: int, end: int) -> None:
    taken[start:end] = [True] * (end - start)


def _unique(wants: list[Want]) -> list[Want]:
    seen, out = set(), []
    for w in wants:
        if w.label.lower() not in seen:
            seen.add(w.label.lower())
            out.append(w)
    return out
