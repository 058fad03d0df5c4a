"""Shared records passed between db, trainer, engine and tui. Defined once, imported everywhere."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Domain = Literal["movie", "book"]
DOMAINS: tuple[str, ...] = ("movie", "book")
FeedbackSource = Literal["import", "chat", "cli"]


@dataclass(frozen=True)
class Item:
    """A catalog entry. `name` is the exact string a prompt shows (e.g. "Toy Story (1995)")."""

    id: int
    domain: str
    name: str
    title: str
    year: int | None = None
    creators: str = ""
    genres: str = ""
    text: str = ""


@dataclass(frozen=True)
class Interaction:
    """One rating event of a user's history, in the order the source recorded it."""

    item_id: int
    name: str
    liked: bool
    rating: float | None
    ts: float
    genres: str = ""  # the item's catalog genres, for prompts with item text


@dataclass
class Sample:
    """A TALLRec sample. The extra ids make per-user metrics possible; TALLRec readers ignore them."""

    instruction: str
    input: str
    output: str
    user_id: int | None = None
    item_id: int | None = None
    history: list[int] = field(default_factory=list)

    @property
    def label(self) -> int:
        return 1 if self.output.strip().startswith("Yes") else 0

    def to_json(self) -> dict:
        d = asdict(self)
        if self.user_id is None:
            for key in ("user_id", "item_id", "history"):
                d.pop(key)
        return d
