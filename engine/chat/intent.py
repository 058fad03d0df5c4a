"""Reading a chat message without a big model: commands first, then what it says about taste.

`parse` is pure: titles are found through a `TitleIndex` (engine.vocab.mentions), taste through
engine.chat.reading, so the rules are testable without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from db.types import Item
from engine.vocab.describe import Vocabulary
from engine.vocab.genres import GENRE_WORDS
from engine.vocab.mentions import TitleIndex

from .reading import ORDINALS, Reading, read

Kind = Literal["chat", "greeting", "why", "undo", "user", "with", "alone", "eval", "help", "reset", "export", "empty", "unknown"]

ASK_WORDS = {"recommend", "recommendation", "recommendations", "suggest", "suggestion", "suggestions", "something",
             "anything", "movie", "movies", "film", "films", "book", "books", "watch", "read", "more", "show",
             "surprise", "another", "others", "else", "next", "picks", "give", "ideas", "options", "what", "any"}

HELP = ("Tell me what you like, as you would a friend: 'I loved Fargo and Pulp Fiction but hated Titanic', "
        "'something like Alien but funnier', 'my favorite movie is Mr. Holland's Opus'. Describe it: 'mind-bending "
        "and dark', 'heist movies', 'anything with Tom Hanks', 'from my watchlist' ('not dark' takes a word back). "
        "Then refine: 'no horror', 'only comedies', 'something older', '80s', 'more like the second one', "
        "'show me 20'; 'start over' "
        "clears it. 'export this list' (to FILE.csv / .json / .md) writes it for Letterboxd's import. The list: Match is what orders it (how strongly the model puts it among your next likes, "
        "the first row full); P(like) is the chance you like it once watched. Also: 'why Fargo?' (what put it "
        "there), 'undo', '/user NAME', '/with alex' (one list for the people present; 'just me' ends it), 'eval'. Keys: l/d like or dislike the selected row, u undo, w why, "
        "e evaluation runs, / back to typing.")

GREETING = ("Hello! Tell me a film you loved or one you didn't, or what you're in the mood for ('something "
            "mind-bending and dark', 'a comedy for the kids'), and I'll rank films for you.")
# Small talk people open and close with ("I am great", "how are you?", "thanks!"): answered, never read as taste
_SMALL_TALK = re.compile(r"^(?:(?:hi|hello|hey|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day))(?:\s+there)?"
                         r"|(?:i'?m|i\s+am|doing|all)\s+(?:(?:very|pretty|really|just|so|quite)\s+)?(?:good|great|fine|well|"
                         r"ok(?:ay)?|alright|excellent|wonderful|fantastic|not\s+bad)|how\s+are\s+you(?:\s+(?:doing|today))?"
                         r"|(?:and\s+)?(?:you|yourself)|thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much)?|thx|ty|bye|goodbye|"
                         r"see\s+(?:you|ya)|have\s+a\s+(?:good|great|nice)\s+(?:day|night|one|evening))"
                         r"(?:[\s,.!?]+(?:and\s+)?(?:you|yourself|thanks?(?:\s+you)?|for\s+asking|there|today|"
                         r"how\s+are\s+you(?:\s+(?:doing|today))?))*[\s,.!?:)]*$", re.I)
_WHY = re.compile(r"^why\s+(?:did\s+you\s+(?:recommend|suggest|pick)\s+|is\s+|this\s+|recommend\s+)?(.+?)\??$", re.I)
# A switch of user is a command ("/user bob"); a sentence ("switch to bob", "log in as bob") only when it names
# a user the store knows and says nothing else. "I am ..." is never one: people write "I am great", "I am a fan of".
_USER_COMMAND = re.compile(r"^/(?:user|switch|login)\s+(\S.*)$", re.I)
_USER_SENTENCE = re.compile(r"^(?:switch\s+(?:user\s+)?to|log\s*in\s+as|(?:this\s+is|it'?s)\s+user)\s+(\S.*?)[.!]?$", re.I)
_WITH_COMMAND = re.compile(r"^/with\s+(\S.*?)[.!]?$", re.I)
# "movie night with alex", "watching with alex and sam": one list for the people present, when each is a user
# the store knows ("watching with my wife tonight, something funny" is a request, and creates nobody)
_WITH_SENTENCE = re.compile(r"^(?:(?:i'?m\s+|we'?re\s+|i\s+am\s+|we\s+are\s+)?watching\s+with|movie\s+night\s+with)"
                            r"\s+(\S.*?)[.!]?$", re.I)
_NAMES = re.compile(r"\s*(?:,|\band\b|&)\s*", re.I)
_ALONE = re.compile(r"^(?:/alone|just\s+me|only\s+me|by\s+myself|alone(?:\s+now)?)[.!]?$", re.I)
_RESET = re.compile(r"^(?:let'?s\s+)?(?:start\s+(?:over|again|afresh)|reset|restart|clear|forget\s+(?:it|that|"
                    r"everything|all\s+that)|new\s+(?:search|chat|conversation))\b", re.I)
_WORD = re.compile(r"[\w'-]+")
_EXPORT = re.compile(r"^(?:please\s+)?(?:/?export|save)(?:\s+(?:this|the|that|my|these))?(?:\s+(?:list|results|picks|"
                     r"films|movies|ones|it))?(?:\s+(?:to|as|into)\s+([^\s,;]+))?"
                     r"(?:\s*[,;]?\s*(?:and\s+)?(replace|overwrite)(?:\s+(?:it|the\s+file|that|them))?)?\s*[.!]?$", re.I)
# "the first one", "the 2nd", "number 3", "#3", "the last movie": a row of the list, as "more like the second one"
_POSITION = re.compile(r"^(?:the\s+)?(?:(" + "|".join(ORDINALS) + r")(?:\s+(?:one|movie|film|book|pick|title|row))?"
                       r"|(?:#|number\s+|no\.\s*)(\d{1,2}))$", re.I)


@dataclass(frozen=True)
class Intent:
    kind: Kind
    reading: Reading | None = None
    item: Item | None = None  # the item a "why X" asks about
    title: str = ""  # the title as typed ("why X"), for "I don't know X" replies
    user: str = ""
    position: int | None = None  # "why the first one": a row of the list on screen (0-based, -1 the last)
    replace: bool = False  # "export to x.csv, replace it": overwrite an existing file (never otherwise)


def _strip_title(s: str) -> str:
    return s.strip().strip("\"'“”‘’").strip().rstrip("?.!").strip()


def parse(message: str, index: TitleIndex, domain: str = "movie", vocab: Vocabulary | None = None,
          known_user: Callable[[str], bool] | None = None) -> Intent:
    text = message.strip()
    low = text.lower().rstrip("!. ")
    if not text:
        return Intent("empty")
    if low in {"help", "?", "h", "what can you do", "what can you do?", "commands"}:
        return Intent("help")
    if _SMALL_TALK.match(text):
        return Intent("greeting")
    if low in {"undo", "/undo", "take that back"}:
        return Intent("undo")
    if low in {"eval", "/eval", "evaluation", "auc", "show eval", "evals"}:
        return Intent("eval")
    if _RESET.match(low):
        return Intent("reset")
    if m := _EXPORT.match(text):  # "export this list", "export to movies.csv": the path, if given, in `title`
        return Intent("export", title=m.group(1) or "", replace=bool(m.group(2)))
    if m := _WITH_COMMAND.match(text):  # "/with alex": one list for the people present
        return Intent("with", user=_strip_title(m.group(1)))
    if (m := _WITH_SENTENCE.match(text)) and known_names(m.group(1), known_user):
        return Intent("with", user=_strip_title(m.group(1)))
    if _ALONE.match(low):
        return Intent("alone")
    if m := _USER_COMMAND.match(text):
        return Intent("user", user=_strip_title(m.group(1)))
    if (m := _USER_SENTENCE.match(text)) and known_names(m.group(1), known_user, many=False):
        return Intent("user", user=_strip_title(m.group(1)))
    if low in {"why", "why this", "why that", "why this one"}:
        return Intent("why")
    if m := _WHY.match(text):
        title = _strip_title(m.group(1))
        if (row := _POSITION.match(title)) is not None:
            pos = ORDINALS[row.group(1).lower()] if row.group(1) else int(row.group(2)) - 1
            return Intent("why", title=title, position=pos)
        return Intent("why", item=index.lookup(title), title=title)
    reading = read(text, index, domain, vocab)
    if reading.says_something or looks_like_request(text):
        return Intent("chat", reading)
    return Intent("unknown", reading)


def known_names(said: str, known_user: Callable[[str], bool] | None, many: bool = True) -> bool:
    """Every name in `said` ("alex", "alex and sam") is a user the store knows: only then is a sentence a switch."""
    if known_user is None:
        return False
    names = split_names(_strip_title(said)) if many else [_strip_title(said)]
    return bool(names) and all(known_user(n) for n in names)


def split_names(said: str) -> list[str]:
    """The people a "/with" or "movie night with" names: "alex, sam and kim" -> alex, sam, kim."""
    return [n for n in _NAMES.split(said) if n]


def looks_like_request(s: str) -> bool:
    ws = {w.lower() for w in _WORD.findall(s)}
    return bool(ws & ASK_WORDS) or any(w in GENRE_WORDS for w in ws)
