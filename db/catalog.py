"""Find catalog items the way a person names them: an id, an exact title, or something close."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field

import sqlite_utils

from .catalogs import item_where, scope
from .errors import RecchatError
from .types import DOMAINS, Item

_WORD = re.compile(r"\w+", re.U)


def item_from_row(row: dict) -> Item:
    return Item(row["id"], row["domain"], row["name"], row["title"], row["year"], row["creators"], row["genres"], row["text"])


def catalog_items(db: sqlite_utils.Database, domain: str) -> dict[int, Item]:
    """Store id -> the item, for every item of the domain's active catalog (db.catalogs), in id order."""
    where, params = item_where(db, domain)
    return {r["id"]: item_from_row(r) for r in db.query(f"SELECT * FROM items WHERE {where} ORDER BY id", params)}


def catalog_year_span(db: sqlite_utils.Database, domain: str) -> tuple[int, int] | None:
    """The first and last year of the active catalog's items (None: no years)."""
    where, params = item_where(db, domain)
    lo, hi = db.execute(f"SELECT MIN(year), MAX(year) FROM items WHERE {where}", params).fetchone()
    return (lo, hi) if lo is not None else None


def has_items(db: sqlite_utils.Database, domain: str) -> bool:
    return db.execute("SELECT 1 FROM items WHERE domain = ? LIMIT 1", [domain]).fetchone() is not None


@dataclass(frozen=True)
class ItemFilter:
    """What a request allows; every field narrows the items (SQL: full text, years, genres, author)."""

    domain: str = "movie"
    text: str | None = None  # full-text over title, creators, genres
    year_min: int | None = None
    year_max: int | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)  # item must have one of these
    exclude_genres: tuple[str, ...] = field(default_factory=tuple)
    author: str | None = None  # books: only this author's


@dataclass(frozen=True)
class Eligible:
    """The ids a request may recommend, in id order, with their genres (for a genre boost): retrieval
    ranks these arrays and reads whole items only for the few it keeps."""

    ids: list[int]
    genres: list[str]


def _eligible_where(db: sqlite_utils.Database, user_id: int | None, flt: ItemFilter, exclude: tuple[int, ...]) -> tuple[str, dict]:
    where = ["i.domain = :domain", "i.source = :dataset",
             "i.id NOT IN (SELECT item_id FROM current_feedback WHERE user_id = :me)",
             "i.id NOT IN (SELECT item_id FROM seen WHERE user_id = :me)",
             "i.id NOT IN (SELECT value FROM json_each(:exclude))"]
    params: dict = {"domain": flt.domain, "dataset": scope(db, flt.domain) or "", "me": user_id if user_id is not None else -1,
                    "exclude": json.dumps([int(x) for x in exclude])}
    q = fts_query(flt.text) if flt.text else None
    if q:
        where.append("i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH :q)")
        params["q"] = q
    if flt.year_min is not None:
        where.append("i.year >= :ymin")
        params["ymin"] = flt.year_min
    if flt.year_max is not None:
        where.append("i.year <= :ymax")
        params["ymax"] = flt.year_max
    if flt.genres:
        ors = []
        for k, g in enumerate(flt.genres):
            ors.append(f"i.genres LIKE :ig{k}")
            params[f"ig{k}"] = f"%{g}%"
        where.append("(" + " OR ".join(ors) + ")")
    for k, g in enumerate(flt.exclude_genres):
        where.append(f"i.genres NOT LIKE :g{k}")
        params[f"g{k}"] = f"%{g}%"
    if flt.author:
        where.append("i.creators LIKE :author")
        params["author"] = f"%{flt.author}%"
    return " AND ".join(where), params


def eligible_items(db: sqlite_utils.Database, user_id: int | None, flt: ItemFilter,
                   exclude: tuple[int, ...] = ()) -> list[Item]:
    """The items `flt` allows that the user has not rated and `exclude` does not name, in id order."""
    where, params = _eligible_where(db, user_id, flt, exclude)
    return [item_from_row(r) for r in db.query(f"SELECT i.* FROM items i WHERE {where} ORDER BY i.id", params)]


def eligible_ids(db: sqlite_utils.Database, user_id: int | None, flt: ItemFilter,
                 exclude: tuple[int, ...] = (), with_genres: bool = False) -> Eligible:
    """`eligible_items` as ids (and genres if asked, else empty strings): on a 340,000-item catalog whole
    rows took 2.8 s a request."""
    where, params = _eligible_where(db, user_id, flt, exclude)
    genres = "COALESCE(i.genres, '')" if with_genres else "''"
    rows = db.execute(f"SELECT i.id, {genres} FROM items i WHERE {where} ORDER BY i.id", params).fetchall()
    return Eligible([r[0] for r in rows], [r[1] for r in rows])


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: each word as a quoted prefix term, all required."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words) or None


def search_items(db: sqlite_utils.Database, text: str, domain: str | None = None, limit: int = 20) -> list[Item]:
    q = fts_query(text)
    if not q:
        return []
    sql = """SELECT items.* FROM items JOIN items_fts ON items_fts.rowid = items.id
             WHERE items_fts MATCH ?""" + (" AND items.domain = ? AND items.source = ?" if domain else "") \
        + " ORDER BY rank LIMIT ?"
    params = [q, domain, scope(db, domain) or "", limit] if domain else [q, limit]
    return [item_from_row(dict(r)) for r in db.query(sql, params)]


def resolve_item(db: sqlite_utils.Database, ref: str, domain: str | None = None) -> Item:
    """An item by id, exact name or exact title (case-insensitive). Unknown or ambiguous: RecchatError listing close matches."""
    ref = ref.strip()
    if not ref:
        raise RecchatError("item is empty")
    if domain:
        dom, extra = " AND domain = ? AND source = ?", [domain, scope(db, domain) or ""]
    else:  # every domain, each through its active catalog (two releases both hold Toy Story)
        dom = " AND (" + " OR ".join("(domain = ? AND source = ?)" for _ in DOMAINS) + ")"
        extra = [x for d in DOMAINS for x in (d, scope(db, d) or "")]
    if ref.isdigit():
        rows = list(db.query(f"SELECT * FROM items WHERE id = ?{dom}", [int(ref), *extra]))
        if rows:
            return item_from_row(rows[0])
    for column in ("name", "title"):
        rows = list(db.query(f"SELECT * FROM items WHERE {column} = ? COLLATE NOCASE{dom} ORDER BY id", [ref, *extra]))
        if len(rows) == 1:
            return item_from_row(rows[0])
        if len(rows) > 1:
            listing = "; ".join(f"{r['name']} [id {r['id']}]" for r in rows[:8])
            raise RecchatError(f"ambiguous item {ref!r}: {listing}; use the id")
    close = close_matches(db, ref, domain)
    hint = "; close matches: " + "; ".join(f"{i.name} [id {i.id}]" for i in close) if close else "; no close matches"
    raise RecchatError(f"unknown item {ref!r}{hint}")


def close_matches(db: sqlite_utils.Database, ref: str, domain: str | None = None, n: int = 5) -> list[Item]:
    """Full-text hits first, then fuzzy title similarity over the catalog, for misspellings."""
    hits = search_items(db, ref, domain, limit=n)
    if len(hits) >= n:
        return hits
    dom = " WHERE domain = ? AND source = ?" if domain else ""
    params = [domain, scope(db, domain) or ""] if domain else []
    rows = {r["title"].lower(): r for r in db.query(f"SELECT * FROM items{dom}", params)}
    seen = {i.id for i in hits}
    for title in difflib.get_close_matches(ref.lower(), list(rows), n=n, cutoff=0.6):
        if rows[title]["id"] not in seen:
            hits.append(item_from_row(rows[title]))
    return hits[:n]


def items_by_imdb(db: sqlite_utils.Database, domain: str, imdb_ids: list[int]) -> dict[int, Item]:
    """IMDb id -> the active catalog's item with that link (MovieLens links.csv)."""
    where, params = item_where(db, domain, "i")
    rows = db.query(f"""SELECT l.imdb AS imdb_id, i.* FROM item_links l JOIN items i ON i.id = l.item_id
                        WHERE l.imdb IN (SELECT value FROM json_each(?)) AND {where}""",
                    [json.dumps([int(x) for x in imdb_ids]), *params])
    return {r["imdb_id"]: item_from_row(r) for r in rows}


def items_by_source_id(db: sqlite_utils.Database, domain: str, source_ids: list[str]) -> dict[str, Item]:
    """The catalog's own id -> item (BookCrossing's ids are ISBN-10s)."""
    where, params = item_where(db, domain, "i")
    rows = db.query(f"SELECT i.source_id AS sid, i.* FROM items i WHERE i.source_id IN "
                    f"(SELECT value FROM json_each(?)) AND {where}", [json.dumps(source_ids), *params])
    return {r["sid"]: item_from_row(r) for r in rows}


def items_by_id(db: sqlite_utils.Database, ids: list[int]) -> dict[int, Item]:
    rows = db.query("SELECT * FROM items WHERE id IN (SELECT value FROM json_each(?))", [json.dumps([int(i) for i in ids])])
    return {r["id"]: item_from_row(dict(r)) for r in rows}


def imdb_ids_of(db: sqlite_utils.Database, item_ids) -> dict[int, int]:
    """item id -> its IMDb id (the number after "tt"), for the items that have one."""
    ids = [int(i) for i in item_ids]
    return dict(db.execute("SELECT item_id, imdb FROM item_links WHERE imdb IS NOT NULL AND item_id IN "
                           "(SELECT value FROM json_each(?))", [json.dumps(ids)]).fetchall())
