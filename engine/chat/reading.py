"""What one message says about taste: each title's polarity in its clause, genres, years, references.

Pure functions over a message and a `TitleIndex`: no database, so every phrase is a fast test.

Polarity is read per mention, inside its clause (clauses end at . ; ! ? and at "but", "though",
"although", "however", "whereas"): a predicate right after the title wins ("Titanic was boring"),
else the last cue before it in the clause ("I loved Fargo and Pulp Fiction"), else the title is a
seed, as a bare list of titles in a recommender chat means "things like these".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from db.types import Item
from engine.vocab.describe import Vocabulary, WordsReading
from engine.vocab.genres import GENRE_WORDS
from engine.vocab.mentions import Mention, TitleIndex, capitalised, words

from . import sentiment
from .filters import Filters, mood_genre, read_filters

Polarity = Literal["liked", "disliked", "seen", "seed"]

_CLAUSE_BREAK = re.compile(r"[.;!?]+(?:\s|$)|\n|\b(?:but|though|although|however|whereas|while|except)\b", re.I)

# Cues before a title, by polarity. The last cue before the title wins; at the same end the longer
# match wins, so "didn't like" beats "like".
_BEFORE: list[tuple[Polarity, re.Pattern]] = [(p, re.compile(rx, re.I)) for p, rx in [
    ("disliked", r"\b(?:hated?|hates|disliked?|dislikes|detest(?:ed|s)?|loathed?|despised?|can'?t\s+stand|"
                 r"couldn'?t\s+stand|sick\s+of|tired\s+of|nothing\s+(?:\w+\s+){0,2}?like|anything\s+but|no\s+more|"
                 r"walked\s+out\s+(?:of|on)|fell\s+asleep\s+(?:in|during|watching)|turned\s+off|gave\s+up\s+on|"
                 r"can'?t\s+say\s+(?:that\s+)?i\s+(?:really\s+|much\s+)?(?:liked|enjoyed|loved|cared\s+for)|"
                 r"(?:not|never\s+been|wasn'?t|isn'?t|am\s+not|'m\s+not)\s+(?:[\w']+\s+){0,4}?fan\s+of)\s*(?:the\s+)?$"),
    ("disliked", r"\b(?:didn'?t|did\s+not|don'?t|do\s+not|never|wasn'?t|won'?t|not)\s+(?:\w+\s+){0,2}?"
                 r"(?:like|love|enjoy|care\s+for|into|impressed\s+by)(?:d|ed|s)?\b"),
    ("disliked", r"\b(?:not|no)\s*(?:the\s+)?$"),
    ("liked", r"\b(?:(?:loved?|loves|liked|likes|enjoy(?:ed|s)?|adored?|adores)(?:\s+(?:watching|seeing))?|dig|dug|treasure[ds]?|"
              r"(?:big|huge|great|massive|real|longtime)?\s*fan\s+of|into|(?:all[\s-]time\s+)?favou?rites?)\b"),
    ("liked", r"\b(?:i|we|really|also|do|just|totally|still|definitely|always)\s+(?:really\s+)?like\b"),
    ("seed", r"\b(?:like|similar\s+to|such\s+as|along\s+the\s+lines\s+of|in\s+the\s+vein\s+of|reminds?\s+me\s+of|"
             r"comparable\s+to|same\s+as|kind\s+of|sort\s+of|the\s+likes\s+of)\b"),
    # A film the person watched and brings up unprompted is a reference point: "I watched X", "have you seen X?"
    # are seeds (no rating); one they have not seen yet is only noted ("want to see X", "heard about X").
    ("seed", r"\b(?:seen|saw|watched|watching|read|know|remember|rewatched|finished)\b"),
    ("seen", r"\b(?:heard\s+of|heard\s+about|hear|heard|on\s+my\s+list|want\s+to\s+see|wanna\s+see|plan\s+to\s+see|"
             r"going\s+to\s+see|gonna\s+see|wait\s+to\s+see|looking\s+forward\s+to)\b"),
    ("seed", r"\b(?:something|anything|stuff|things|movies?|films?|books?|shows?|more|others?|ones?)\s+"
             r"(?:\w+\s+)?(?:like|similar\s+to)\b"),
]]
_PRAISE = (r"great|awesome|amazing|good|fantastic|excellent|brilliant|hilarious|funny|fun|perfect|wonderful|"
           r"incredible|outstanding|superb|cool|beautiful|classic|masterpiece|the\s+best|a\s+classic|"
           r"a\s+masterpiece|my\s+favou?rite|one\s+of\s+my\s+favou?rites|genius|epic|gorgeous|touching|moving|"
           r"enjoyable|entertaining|worth\s+(?:it|watching|a\s+watch)|underrated|solid|clever|sweet|cute|fun\s+to\s+watch")
_PAN = (r"boring|bad|terrible|awful|horrible|overrated|stupid|dull|meh|disappointing|lame|slow|dumb|"
        r"a\s+waste|the\s+worst|too\s+long|too\s+slow|cheesy|garbage|trash|painful|annoying|forgettable|"
        r"predictable|confusing|weird|too\s+much|not\s+for\s+me|a\s+letdown|mediocre|silly|pointless")
_HEDGE = r"ok|okay|alright|all\s+right|decent|fine|so\s*-?\s*so|watchable|average|passable"
_BE = r"(?:\(\d{4}\)\s*)?(?:is|was|were|are|'s|has\s+been|have\s+been|remains|felt|seemed|looked)"
_NEGATOR = re.compile(r"\b(?:not|never|no|hardly|nothing|isnt|wasnt|arent|werent|dont|didnt|doesnt)\b|n't\b", re.I)
# "X was not bad", "X is never boring", "X wasn't too good": a verb of being, at most three words, then a judgement;
# a negator among those words turns it ("not bad" is praise, "not great" a pan).
_JUDGED = re.compile(rf"^\W*(?:{_BE}(?:n'?t)?|isn'?t|wasn'?t|weren'?t|aren'?t)\s+((?:[\w']+\s+){{0,3}}?)"
                     rf"(?:(?P<praise>{_PRAISE})|(?P<pan>{_PAN})|(?P<hedge>{_HEDGE}))\b", re.I)
# Predicates right after a title, checked before the cues in front of it.
_AFTER: list[tuple[Polarity, re.Pattern]] = [(p, re.compile(rx, re.I)) for p, rx in [
    ("disliked", rf"^\W*(?:isn'?t|wasn'?t|weren'?t|aren'?t|is\s+not|was\s+not|isnt|wasnt)\s+(?:\w+\s+){{0,1}}?(?:my\s+"
                 rf"(?:thing|style|cup\s+of\s+tea|kind\s+of\s+(?:movie|film)|type|genre)|for\s+me)\b"),
    ("disliked", r"^\W*(?:sucked|sucks|stank|stinks|bored\s+me|put\s+me\s+to\s+sleep)\b"),
    ("seen", r"^\W*(?:is|are)\s+on\s+my\s+(?:watch\s*)?list\b"),
]]
# "…, I did not particularly like it", "and loved it": the person's own verb about the title just named (or, after
# a contrast, about the one before it: "Titanic was a good movie, although I did not particularly like it").
_OWN_VERB = re.compile(
    r"^\W*(?:and\s+|but\s+|though\s+|although\s+|however,?\s+|yet\s+)?(?:i\s+|we\s+)?(?:(?P<neg>didn'?t|did\s+not|don'?t|"
    r"do\s+not|never|can'?t\s+say\s+(?:that\s+)?i|couldn'?t\s+say\s+i|wasn'?t|was\s+not)\s+)?(?:\w+\s+){0,2}?"
    r"(?:(?P<love>loved|love|liked|like|enjoyed|enjoy|adored|adore|dug|really\s+liked)|(?P<hate>hated|hate|disliked|"
    r"dislike|couldn'?t\s+stand|can'?t\s+stand|was\s+bored\s+by)|(?P<fan>(?:a\s+|much\s+of\s+a\s+|the\s+biggest\s+|"
    r"big\s+|huge\s+)?fan\s+of))\s+(?:it|that|this|(?P<all>them|those|both|all\s+(?:of\s+them|three|two|four))|"
    r"the\s+(?:movie|film|first|second|sequel|one))\b", re.I)
# "... but I wasn't as impressed", "I was not a fan": the person's own judgement in a clause of its own
_OWN_JUDGEMENT = re.compile(r"^\W*(?:and\s+|but\s+|though\s+|although\s+|however,?\s+|yet\s+)?(?:i\s+(?P<neg>wasn'?t|was\s+not|"
                            r"am\s+not|'?m\s+not|wasnt)?|(?P<bare>not|never\s+been))\s*(?:as\s+|that\s+|very\s+|too\s+|really\s+|so\s+)?"
                            r"(?P<what>impressed|into\s+it|sold|convinced|a\s+fan|amazed|blown\s+away|disappointed|bored)\b", re.I)
# Someone else's verdict ("my husband loved X"): noted, not the person's own rating
_THIRD_PARTY = re.compile(r"\b(?:my\s+(?:husband|wife|son|daughter|kids|kid|friend|friends|boyfriend|girlfriend|mom|mother|dad|"
                          r"father|brother|sister|partner|family)|he|she|they)\s+(?:really\s+|all\s+)?(?:loved?|liked?|"
                          r"enjoyed|adored|hated|disliked)\s+(?:the\s+)?$", re.I)
# "and it was pretty good" inside the words after a title
_LATER_PRONOUN = re.compile(r"(?:\band|\bbut|,)\s+(?:it|that|this\s+one|that\s+one)\s+", re.I)
# "it was hilarious", "that one was boring": a judgement of the title just named, in the next clause or sentence
_PRONOUN = re.compile(r"^\W*(?:and\s+|but\s+|though\s+|although\s+|however,?\s+|yet\s+|also\s+)?(?:it|that|this|they|"
                      r"that\s+one|this\s+one|that\s+movie|this\s+movie|the\s+movie|the\s+film)(?=\s|')", re.I)
# Words after a title that turn to another film: what follows speaks of that one
_OTHER_FILM = re.compile(r"\b(?:the|that|this)\s+(?:new|old|other|first|second|third|original|newer|older|latest)\s+"
                         r"(?:one|movie|film|version)\b|\bthe\s+(?:sequel|remake|original|prequel|reboot)\b", re.I)
# Names and titles in the words a sentiment lexicon reads ("Super Troopers 2", "Good Will Hunting"): not verdicts
_NAMES = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:[A-Z0-9][\w'-]*|of|the|and|a))*\s+[A-Z0-9][\w'-]*|\(\d{4}\)")
# "never saw X but I will check it out", "haven't seen X yet": not seen, so neither liked nor disliked
_UNSEEN_BEFORE = re.compile(r"\b(?:haven'?t|have\s+not|has\s+not|hasn'?t|never|not|didn'?t|did\s+not|yet\s+to)\s+"
                            r"(?:\w+\s+){0,2}?(?:seen|see|saw|watched|watch|heard\s+of)\s+(?:it\s+)?(?:the\s+)?$|"
                            r"\b(?:i|i'?ve|i\s+keep|i'?ve\s+been|friends?|people|everyone)\s+(?:hear|heard|hearing|read|say|says|said|"
                            r"recommended)\s+(?:that\s+|good\s+things\s+about\s+|i\s+(?:go\s+)?(?:see|watch)\s+)?(?:the\s+)?$", re.I)
_UNSEEN_AFTER = re.compile(r"^\W*(?:(?:i|which\s+i|that\s+i)\s+)?(?:haven'?t|have\s+not|never|didn'?t|did\s+not)\s+"
                           r"(?:\w+\s+)?(?:seen|saw|watched|see|watch)\b|^\W*(?:(?:i'?ll|i\s+will|i\s+need\s+to|i\s+should|"
                           r"i'?m\s+going\s+to|i\s+want\s+to|i'?d\s+like\s+to)\s+(?:have\s+to\s+)?(?:check|watch|see|look))|"
                           r"^\W*(?:is|was|are)\s+(?:supposed|said)\s+to\s+be\b|^\W*(?:looks|sounds)\b", re.I)
_AFTER_WORDS = 8  # a predicate this many words after the title still speaks of it

Ordinal = Literal["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "last"]
ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6, "eighth": 7,
            "ninth": 8, "tenth": 9, "last": -1, "1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4}
_ORDINAL_REF = re.compile(r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")\s+(?:one|movie|film|book|pick|title)\b"
                          r"|(?:#|\bnumber\s+|\bno\.\s*)(\d{1,2})\b", re.I)


@dataclass(frozen=True)
class ReadMention:
    mention: Mention
    polarity: Polarity

    @property
    def item(self) -> Item | None:
        return self.mention.item


@dataclass(frozen=True)
class Reference:
    """"more like the second one", "not the first one": a row of the list on screen, by position."""

    index: int  # 0-based; -1 the last
    polarity: Polarity


@dataclass
class Reading:
    """Everything a message says about taste; empty fields when it says nothing of that kind."""

    mentions: list[ReadMention] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # titles clearly named that the catalog lacks
    references: list[Reference] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    author: str | None = None  # "books by X"
    words: WordsReading = field(default_factory=WordsReading)  # describing words: tags, people, runtime
    follow_up: Polarity | None = None  # "It was pretty boring": a verdict on the film named last, before this message

    def items(self, polarity: Polarity) -> list[Item]:
        return [m.item for m in self.mentions if m.polarity == polarity and m.item is not None]

    @property
    def says_something(self) -> bool:
        return bool(self.mentions or self.missing or self.references or self.author or self.filters.any or self.words.any
                    or self.follow_up)


def with_last_film(reading: Reading, item: Item | None) -> Reading:
    """The message's verdict on "it" ("It was pretty boring", "I loved it") as a mention of the film named last."""
    if reading.follow_up is None or item is None or reading.mentions:
        return reading
    return replace(reading, mentions=[ReadMention(Mention(item, "it", 0, 0), reading.follow_up)])


# A message that opens on the film just talked about: "It was pretty boring", "Well, that one was great", "I loved
# it" (past tense: "That's great!" answers the other side, "it was great talking to you" is about the chat)
_ABOUT_LAST = re.compile(r"^\W*(?:(?:well|honestly|yeah|yes|yep|no|nah|oh|hmm|actually|ok|okay|so),?\s+)*(?:(?:it|that\s+one|"
                         r"that\s+movie|the\s+movie|the\s+film)\s+(?:was|wasn'?t|wasnt)\b|i\s+(?:really\s+)?(?:loved|liked|"
                         r"enjoyed|hated|disliked|didn'?t\s+(?:like|enjoy|love))\s+(?:it|that\s+one)\b)", re.I)
_SOCIAL = re.compile(r"\b(?:talking|chatting|to\s+talk|to\s+chat|meeting|speaking|helping|nice\s+to|your\s+help|"
                     r"the\s+(?:chat|conversation|suggestions?|recommendations?))\b", re.I)


def about_last_film(text: str) -> Polarity | None:
    """The verdict a message without titles gives the film named before it, when it opens on that film."""
    first = clauses(text)[0] if text.strip() else (0, 0)
    said = text[first[0]:first[1]]
    opens = _ABOUT_LAST.search(said)
    if opens is None or _SOCIAL.search(text):
        return None
    verdict = follow_up(said[opens.start():].lstrip(" ,.!-"))
    return verdict if verdict in ("liked", "disliked") else None


def clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of `text`."""
    bounds, start = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        bounds.append((start, m.start()))
        start = m.end() if not m.group().strip().isalpha() else m.start()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if b > a]


def judged(after: str) -> Polarity | None:
    """A judgement right after a title: "was great", "was not bad" (liked), "is never boring", "wasn't too good";
    a hedge ("it was ok") is heard as a seed, no rating."""
    m = _JUDGED.search(after)
    if m is None:
        return None
    negated = bool(_NEGATOR.search(m.group(0)[:m.start("praise" if m.group("praise") else "pan" if m.group("pan")
                                                       else "hedge") - m.start()]))
    if m.group("hedge"):
        return "seed"
    return ("disliked" if negated else "liked") if m.group("praise") else ("liked" if negated else "disliked")


def own_verb(after: str) -> Polarity | None:
    """The person's verb about a title just named: "and loved it", "I did not particularly like it"."""
    m = _OWN_VERB.search(after)
    if m is None:
        return None
    positive = bool(m.group("love") or m.group("fan"))
    return ("disliked" if positive else "liked") if m.group("neg") else ("liked" if positive else "disliked")


def own_judgement(clause_text: str) -> Polarity | None:
    """ "but I wasn't as impressed", "I was disappointed", "but not a fan": the person's own judgement, no object named."""
    m = _OWN_JUDGEMENT.search(clause_text)
    if m is None:
        return None
    bad = m.group("what").lower() in ("disappointed", "bored")
    return "liked" if bool(m.group("neg") or m.group("bare")) == bad else "disliked"


def follow_up(clause_text: str) -> Polarity | None:
    """A clause without a title that judges the one just named: "It was hilarious", "though I didn't like it"."""
    if verdict := own_verb(clause_text) or own_judgement(clause_text):
        return verdict
    if (m := _PRONOUN.search(clause_text)) is not None:
        return judged(clause_text[m.end():]) or listed_verdict(clause_text[m.end():])
    return None


def listed_verdict(after: str) -> Polarity | None:
    """The fixed phrases after a title: "sucked", "bored me", "wasn't for me", "is on my list"."""
    for polarity, rx in _AFTER:
        if rx.search(after):
            return polarity
    return None


def polarity_of(text: str, mention: Mention, clause: tuple[int, int], next_start: int) -> Polarity:
    """A predicate right after the title, else the last cue before it in its clause, else how the words after
    it feel (engine.chat.sentiment), else a seed."""
    after = text[mention.end:min(clause[1], next_start)]
    if (other := _OTHER_FILM.search(after)) is not None:  # "... I heard the new one was lame": another film
        after = after[:other.start()]
    after = " ".join(after.split()[:_AFTER_WORDS])
    before = text[clause[0]:mention.start]
    if _UNSEEN_AFTER.search(after) or _UNSEEN_BEFORE.search(before) or _THIRD_PARTY.search(before):
        return "seen"
    later = _LATER_PRONOUN.search(after)
    for verdict in (listed_verdict(after), judged(after), own_verb(after),
                    judged(after[later.end() - 1:]) if later else None):
        if verdict is not None:
            return verdict
    best: tuple[int, int, Polarity] | None = None
    for polarity, rx in _BEFORE:
        for m in rx.finditer(before):
            cand = (m.end(), m.end() - m.start(), polarity)
            if best is None or cand[:2] > best[:2]:
                best = cand
    if best:
        return best[2]
    # only what follows the title speaks of it: what comes before is often the greeting or another film
    return sentiment.verdict(_NAMES.sub(" ", after)) or "seed"


def read(text: str, index: TitleIndex, domain: str = "movie", vocab: Vocabulary | None = None) -> Reading:
    """Read a message: mentions with polarity, missing titles, references to the shown list, filters, and
    describing words against the catalog's vocabulary (`vocab`, when the catalog has one)."""
    found = index.find(text)
    cl = clauses(text)
    read_mentions = []
    for k, m in enumerate(found):
        clause = next((c for c in cl if c[0] <= m.start < c[1]), (0, len(text)))
        next_start = found[k + 1].start if k + 1 < len(found) else len(text)
        read_mentions.append(ReadMention(m, polarity_of(text, m, clause, next_start)))
    read_mentions = with_follow_ups(text, cl, with_shared_verdicts(text, cl, read_mentions))
    blanked = _blank(text, [(m.start, m.end) for m in found])
    missing = missing_titles(blanked)
    for name in missing:  # a title the catalog lacks is no request either: "Avengers: Infinity War" is not war films
        blanked = blanked.replace(name, " " * len(name))
    refs = []
    for m in _ORDINAL_REF.finditer(blanked):
        index_ = ORDINALS[m.group(1).lower()] if m.group(1) else int(m.group(2)) - 1
        clause = next((c for c in cl if c[0] <= m.start() < c[1]), (0, len(text)))
        refs.append(Reference(index_, polarity_of(text, Mention(None, m.group(), m.start(), m.end()), clause, len(text))))
        blanked = _blank(blanked, [(m.start(), m.end())])
    author = None
    if domain == "book" and (m := re.search(r"\b(?:books?|novels?|anything|something|stuff)\s+(?:\w+\s+)?(?:by|from)\s+(.+)", blanked, re.I)):
        author = index.find_author(m.group(1))
    filters = read_filters(blanked, domain)
    described = vocab.read(blanked) if vocab is not None else WordsReading()
    # a mood the catalog has no tag for is still answered by the genre it leans on ("lighter": comedies)
    described.unknown = [w for w in described.unknown if mood_genre(w) not in filters.genres]
    last = about_last_film(text) if not found and not refs and not missing else None
    return Reading(read_mentions, missing, refs, filters, author, described, last)


def with_shared_verdicts(text: str, cl: list[tuple[int, int]], mentions: list[ReadMention]) -> list[ReadMention]:
    """ "I saw Blade and Watchmen, loved both": a verdict on "both" / "them" / "all of them" after the last title
    of a clause is also the verdict on the titles before it there that had none."""
    out = list(mentions)
    for k, m in enumerate(mentions):
        clause = next((c for c in cl if c[0] <= m.mention.start < c[1]), (0, len(text)))
        verdict = _OWN_VERB.search(" ".join(text[m.mention.end:clause[1]].split()[:_AFTER_WORDS]))
        if verdict is None or not verdict.group("all") or m.polarity not in ("liked", "disliked"):
            continue
        for j in range(k):
            if out[j].mention.start >= clause[0] and out[j].polarity in ("seed", "seen"):
                out[j] = ReadMention(out[j].mention, m.polarity)
    return out


_CONTRAST = re.compile(r"^\W*(?:but|though|although|however|yet|whereas|while)\b", re.I)


def with_follow_ups(text: str, cl: list[tuple[int, int]], mentions: list[ReadMention]) -> list[ReadMention]:
    """A clause with no title that judges "it" speaks of the title just before it: "I've seen Fargo. It was
    great" (a like), "Titanic was a good movie, although I did not particularly like it" (a dislike: after a
    contrast the person's own word wins over what they said of the film)."""
    out = list(mentions)
    for a, b in cl:
        if any(a <= m.mention.start < b for m in mentions):
            continue
        before = [k for k, m in enumerate(out) if m.mention.end <= a]
        if not before:
            continue
        k = before[-1]
        last = out[k]
        if _UNSEEN_AFTER.search(text[last.mention.end:a]) or _UNSEEN_BEFORE.search(text[:last.mention.start][-60:]):
            continue  # not seen: what they say of it is what they expect, not what they thought
        clause = text[a:b]
        verdict = follow_up(clause)
        if verdict is None or verdict == "seen":
            continue
        if last.polarity in ("seed", "seen") or (_CONTRAST.search(clause) and own_verb(clause)):
            out[k] = ReadMention(last.mention, verdict)
    return out


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with spans replaced by spaces, so a title's words ("Star Wars") are not read as filters."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


_NAMED_AFTER = re.compile(r"\b(?:saw|seen|watched|loved|liked|enjoyed|hated|disliked|like|love|about|called|titled|"
                          r"named|favou?rite\s+(?:movie|film|book)\s+(?:is|was))\s+(?:the\s+(?:movie|film|book)\s+)?",
                          re.I)
_QUOTED = re.compile(r"[\"“«]([^\"”»]{2,60})[\"”»]")
_SMALL = {"of", "the", "a", "an", "in", "and", "on", "to", "for", "at", "vs", "with"}
_NOT_TITLES = {"I", "I'm", "I've", "I'd", "It", "It's", "The", "A", "And", "But", "So", "Oh", "OK", "Ok", "Yes", "No",
               "Netflix", "Hulu", "Amazon", "Disney", "Marvel", "DC", "Pixar", "HBO", "Prime", "TV", "Mr", "Mrs", "Ms",
               "Dr"}


_LIST_BREAK = re.compile(r"\s*(?:,|&|\band\b|\bor\b)\s*")
_LIST_END = re.compile(r"[.;!?()\"“”]|\s(?:but|though|although|because|since|so)\s")


def listed_names(rest: str) -> list[str]:
    """The capitalised names listed at the start of `rest` ("Oppenheimer and Dune: Part Two, and Heat"), each
    as written, up to the first piece that is not one."""
    end = _LIST_END.search(rest)
    names = []
    for piece in _LIST_BREAK.split(rest[:end.start() if end else len(rest)]):
        ws = words(piece)
        run = []
        for w in ws:
            if w.raw[0].isupper() or w.raw[0].isdigit() or (run and w.key in _SMALL):
                run.append(w)
            else:
                break
        while run and run[-1].key in _SMALL:
            run.pop()
        if not run or not capitalised(run):
            break
        names.append(piece[run[0].start:run[-1].end].strip())
        if len(run) < len(ws):  # the piece went on in lower case: the list ends here
            break
    return names


def missing_titles(blanked: str) -> list[str]:
    """Titles the message clearly names that the catalog lacks: quoted, or capitalised after "saw", "loved"…"""
    out: list[str] = []
    for m in _QUOTED.finditer(blanked):
        if m.group(1).strip() and m.group(1).strip().lower() not in GENRE_WORDS:
            out.append(m.group(1).strip())
    for m in _NAMED_AFTER.finditer(blanked):
        for name in listed_names(blanked[m.end():]):
            if name not in _NOT_TITLES and name.lower() not in GENRE_WORDS and name not in out:
                out.append(name)
    return out
