"""`--among FILE` of `engine recommend` and `engine ask`: the items a list file names, read before anything runs.

One item a line: a catalog id, the catalog's name ("Toy Story (1995)") or exact title, as `engine rate
--item` takes them (db.catalog.resolve_item); else a title as the title linker reads it ("Terminator,
The", "the godfather 1972", "Cape Fear (1962)", a typo in a long title; engine.vocab.mentions). Blank
lines and lines starting with # are skipped. A line naming no item, or several, is an error naming its
line, and nothing else is done: a list that silently lost a film would rank another set than the one
asked for, and the fix (the id, or a year) is one edit away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from db.catalog import catalog_items, resolve_item
from db.errors import RecchatError
from engine.vocab.mentions import Link, TitleIndex

AMONG_HELP = ("Rank only the items FILE lists, one a line: a catalog id, name or title (as `engine rate --item`), "
              "or a title as the chat reads it ('Terminator, The', 'the godfather 1972'); blank lines and lines "
              "starting with # are skipped. A line naming no item or several stops the command with an error "
              "naming the line (nothing is ranked or written): a list that silently lost a film would rank "
              "another set than you asked for; write the id or add the year.")
_YEAR = re.compile(r"^(?P<title>.*\S)\s*(?:\((?P<paren>\d{4})\)|\s(?P<bare>\d{4}))$")


@dataclass(frozen=True)
class ListLine:
    """One item line of the file, with its 1-based line number for errors."""

    number: int
    text: str


def list_lines(path: str | Path) -> list[ListLine]:
    """The item lines of `path` (blank lines and # comments skipped); a file naming none is an error."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RecchatError(f"--among {path}: not UTF-8 text") from None
    except OSError as e:
        raise RecchatError(f"--among {path}: cannot read it ({e.strerror or e})") from None
    lines = [ListLine(n, s.strip()) for n, s in enumerate(text.splitlines(), 1)]
    lines = [line for line in lines if line.text and not line.text.startswith("#")]
    if not lines:
        raise RecchatError(f"--among {path} names no items (one id or title a line; # starts a comment)")
    return lines


def title_and_year(text: str) -> tuple[str, int | None]:
    """"Heat (1995)" and "heat 1995" → ("Heat", 1995); a title without a trailing year → (text, None)."""
    m = _YEAR.match(text)
    if not m:
        return text, None
    return m.group("title"), int(m.group("paren") or m.group("bare"))


def link_title(index: TitleIndex, text: str) -> Link:
    """What the title linker makes of a line; a trailing number that is part of the title ("Blade Runner
    2049") is tried as the title too when it names no film as a year."""
    title, year = title_and_year(text)
    link = index.link(title, year)
    if link.status == "missing" and year is not None and not re.search(r"\(\s*\d{4}\s*\)\s*$", text):
        # a year in parentheses is a year ("Jumanji (2017)" is not the 1995 film, "Renoir (2012)" not "2012")
        whole = index.link(text)
        if whole.status != "missing":
            return whole
    return link


def resolve_line(db: sqlite_utils.Database, line: ListLine, domain: str, index: Callable[[], TitleIndex]) -> int:
    """The item id a line names: the store's exact forms first, then the title linker (built on first need)."""
    try:
        return resolve_item(db, line.text, domain).id
    except RecchatError as exact:
        link = link_title(index(), line.text)
        if link.status == "linked":
            return link.item.id
        if link.status == "ambiguous":
            listing = "; ".join(f"{i.name} [id {i.id}]" for i in link.candidates)
            fix = "write the id" + ("" if title_and_year(line.text)[1] else " or add the year")
            raise RecchatError(f"line {line.number}: {line.text!r} names several items: {listing}; {fix}") from None
        raise RecchatError(f"line {line.number}: {exact}") from None


def read_among(db: sqlite_utils.Database, path: str | Path, domain: str) -> tuple[int, ...]:
    """The ids FILE names in the domain's active catalog, in file order, each once."""
    built: list[TitleIndex] = []

    def index() -> TitleIndex:
        if not built:
            built.append(TitleIndex.build(catalog_items(db, domain).values()))
        return built[0]

    ids: dict[int, None] = {}
    for line in list_lines(path):
        try:
            ids.setdefault(resolve_line(db, line, domain, index))
        except RecchatError as e:
            raise RecchatError(f"--among {path}, {e}") from None
    return tuple(ids)
