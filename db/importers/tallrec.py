"""TALLRec JSON splits: a list of {instruction, input, output}; the items named in inputs join the catalog."""

from __future__ import annotations

import re
from pathlib import Path

import sqlite_utils

from ..prompt import parse_input
from ..sample_files import iter_json_array, sample_error
from .report import ImportReport
from .writer import ItemRecord, writing

_MOVIE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)$")
_BOOK = re.compile(r'^"(?P<title>.*)" written by (?P<author>.*)$', re.S)


def catalog_record(domain: str, name: str) -> ItemRecord:
    if domain == "movie":
        m = _MOVIE.match(name)
        return ItemRecord("movie", "tallrec", name, name, m.group("title") if m else name, int(m.group("year")) if m else None)
    m = _BOOK.match(name)
    title, author = (m.group("title"), m.group("author")) if m else (name, "")
    return ItemRecord("book", "tallrec", name, name, title, None, author)


def import_tallrec(db: sqlite_utils.Database, path: str | Path, domain: str) -> ImportReport:
    path = Path(path)
    report = ImportReport(f"tallrec ({domain})")
    names: dict[str, None] = {}
    for lineno, obj in iter_json_array(path):
        report.read += 1
        err = sample_error(obj)
        if err is None:
            try:
                parsed = parse_input(domain, obj["input"])
            except ValueError as e:
                err = str(e)
        if err:
            report.skip(path, lineno, err)
            continue
        for n in [*parsed.liked, *parsed.disliked, parsed.target]:
            names.setdefault(n)
    with writing(db) as w:
        for n in names:
            # A title already in the catalog (e.g. from ML-100K) is the same item: don't duplicate it.
            if w.item_by_name(domain, n) is None:
                w.item(catalog_record(domain, n))
    report.added = {"items": w.added["items"]}
    return report
