"""What a conversation has established so far, refined by each message and kept with the chat.

Liked and disliked titles, seeds ("something like X"), titles only mentioned, preferred and
excluded genres, years and the list length accumulate; a later word about the same title or genre
replaces an earlier one; "start over" clears it. It is stored as JSON in its own table (`chat_states`,
written every turn through the chat's on-disk journal), so `engine ask --chat ID` and a reopened chat
continue where they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from db.types import Item

from engine.vocab.describe import opposed

from .filters import DEFAULT_COUNT, Filters
from .reading import Polarity, Reading

OLDER_STEP = 10  # "something older" moves the newest allowed year this far below what was shown
NEWER_SPAN = 10  # "something newer" with no list on screen: the catalog's last ten years
OLDER_AGE = 25  # "something older", "a classic" with no list on screen: 25 years before the catalog's newest film


@dataclass
class ConversationState:
    liked: list[int] = field(default_factory=list)  # said to be liked (also written as ratings)
    disliked: list[int] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)  # "something like X", bare titles: seeds, no rating
    seen: list[int] = field(default_factory=list)  # "I've seen X": not recommended back, no seed
    related: list[int] = field(default_factory=list)  # "the new Lion King": the catalog's film seeds, may come back
    genres: list[str] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    only_genres: bool = False
    year_min: int | None = None
    year_max: int | None = None
    count: int = DEFAULT_COUNT
    author: str | None = None
    watchlist: bool = False  # "from my watchlist": rank only the person's watchlist
    words: list[str] = field(default_factory=list)  # describing words the list answers to ("mind-bending")
    avoid_words: list[str] = field(default_factory=list)  # "not dark": pushed down
    only_words: bool = False  # "only heist movies": the words are a filter
    popularity: str = "any"  # "hidden gems": low; "popular picks": high
    min_ratings: int = 0  # "at least 100 ratings"
    last: int | None = None  # the film named last, what "It was pretty boring" in the next message speaks of

    # ------------------------------------------------------------- reading
    def mention(self, item_id: int, polarity: Polarity | Literal["related"]) -> None:
        """The latest word about a title wins: it leaves every other list."""
        for name in ("liked", "disliked", "seeds", "seen", "related"):
            bucket = getattr(self, name)
            if item_id in bucket:
                bucket.remove(item_id)
        {"liked": self.liked, "disliked": self.disliked, "seed": self.seeds, "seen": self.seen,
         "related": self.related}[polarity].append(item_id)
        self.last = item_id

    def apply(self, reading: Reading, shown: list[Item], shown_years: list[int], latest_year: int | None = None) -> None:
        """Fold one message in; `shown` is the list on screen, for "the second one" and "older" (with nothing
        shown, "older" and "newer" are read against the catalog's newest year, `latest_year`)."""
        for m in reading.mentions:
            if m.item is None:
                continue
            if m.mention.related:  # a newer film of the name: its relative seeds, unless disliked
                if m.item.id not in self.mentioned or m.polarity == "disliked":
                    self.mention(m.item.id, "disliked" if m.polarity == "disliked" else "related")
            else:
                self.mention(m.item.id, m.polarity)
        for ref in reading.references:
            if shown and -len(shown) <= ref.index < len(shown):
                self.mention(shown[ref.index].id, "seed" if ref.polarity in ("liked", "seed") else ref.polarity)
        f = reading.filters
        for g in f.exclude_genres:
            if g in self.genres:
                self.genres.remove(g)
            if g not in self.exclude_genres:
                self.exclude_genres.append(g)
        if f.only:
            self.genres, self.only_genres = list(f.genres), True
        else:
            for g in f.genres:
                if g in self.exclude_genres:
                    self.exclude_genres.remove(g)
                if g not in self.genres:
                    self.genres.append(g)
        if f.year_min is not None or f.year_max is not None:
            self.year_min, self.year_max = f.year_min, f.year_max
        if f.older and shown_years:
            self.year_max, self.year_min = min(shown_years) - 1 if self.year_max is None else self.year_max - OLDER_STEP, None
        elif f.older and latest_year:
            self.year_max, self.year_min = latest_year - OLDER_AGE, None
        if f.newer and shown_years:
            self.year_min, self.year_max = max(shown_years) + 1 if self.year_min is None else self.year_min + OLDER_STEP, None
        elif f.newer and latest_year:
            self.year_min, self.year_max = latest_year - NEWER_SPAN, None
        if f.count:
            self.count = f.count
        if reading.author:
            self.author = reading.author
        if f.watchlist is not None:
            self.watchlist = f.watchlist
        if f.popularity is not None:
            self.popularity = f.popularity
        if f.min_ratings is not None:
            self.min_ratings = f.min_ratings
        self._apply_words(reading)

    def _apply_words(self, reading: Reading) -> None:
        """A describing word joins the wanted ones; "not X" moves it to the avoided ones (a correction)."""
        said = reading.words
        for want in said.wanted:
            self.avoid_words = [w for w in self.avoid_words if w.lower() != want.label.lower()]
            self.words = [w for w in self.words if not opposed(w, want.label)]  # "lighter now" after "dark"
            if want.label.lower() not in (w.lower() for w in self.words):
                self.words.append(want.label)
        for want in said.avoided:
            self.words = [w for w in self.words if w.lower() != want.label.lower()]
            if want.label.lower() not in (w.lower() for w in self.avoid_words):
                self.avoid_words.append(want.label)
        if said.wanted and said.only:
            self.only_words = True

    # -------------------------------------------------------------- using
    @property
    def mentioned(self) -> list[int]:
        return [*self.liked, *self.disliked, *self.seeds, *self.seen]

    @property
    def positive(self) -> list[int]:
        """Retrieval's seeds: what was liked or asked to be like, latest last."""
        return [*self.liked, *self.seeds, *self.related]

    @property
    def empty(self) -> bool:
        return self == ConversationState()

    def filters(self) -> Filters:
        return Filters(tuple(self.genres), tuple(self.exclude_genres), self.only_genres, self.year_min, self.year_max,
                       self.count)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict | None) -> "ConversationState":
        if not d:
            return cls()
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return replace(cls(), **known)
