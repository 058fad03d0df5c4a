"""What the store knows about a catalog's items beyond their ratings: tags (MovieLens applications,
the tag genome), people by role, runtime and IMDb's votes; and how much of the catalog each covers,
in words the chat's first notice and `engine data catalogs` show.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from .catalogs import item_where


@dataclass(frozen=True)
class Knowledge:
    """How many of a catalog's items have each kind of knowledge."""

    items: int
    tagged: int  # MovieLens tag applications
    genome: int  # tag genome relevance
    people: int  # a director, writer or cast member
    facts: int  # runtime or IMDb votes

    def describe(self) -> str:
        """One line: what the catalog knows, and the one command that adds what it lacks."""
        known = [f"{label} for {n:,} films" for label, n in
                 (("tags", self.tagged), ("the tag genome", self.genome), ("people", self.people),
                  ("IMDb votes and runtime", self.facts)) if n]
        lacks = "people" if not self.people else "IMDb votes" if not self.facts else ""
        text = "The catalog knows " + (", ".join(known) if known else "titles, years and genres only")
        if lacks:
            text += f"; no {lacks}: `engine data import imdb-datasets DIR` adds them"
        return text + "."


def knowledge(db: sqlite_utils.Database, domain: str, dataset: str | None = None) -> Knowledge:
    """Coverage of a catalog: `dataset`, else the domain's active one (db.catalogs)."""
    where, params = item_where(db, domain, "i")
    if dataset is not None:
        params = [domain, dataset]

    def count(sql: str, extra: tuple = ()) -> int:
        return db.execute(f"SELECT COUNT(*) FROM items i WHERE {where} AND EXISTS ({sql})", [*params, *extra]).fetchone()[0]

    (items,) = db.execute(f"SELECT COUNT(*) FROM items i WHERE {where}", params).fetchone()
    return Knowledge(
        items,
        count("SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.source = ?", ("tags",)),
        count("SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.source = ?", ("genome",)),
        count("SELECT 1 FROM item_people p WHERE p.item_id = i.id"),
        count("SELECT 1 FROM item_facts f WHERE f.item_id = i.id AND (f.imdb_votes IS NOT NULL OR f.runtime IS NOT NULL)"),
    )


def item_tags(db: sqlite_utils.Database, item_ids, source: str) -> dict[int, dict[str, float]]:
    """Tags of the given items from one source ('tags': times applied; 'genome': relevance): id -> tag -> weight."""
    ids = [int(i) for i in item_ids]
    out: dict[int, dict[str, float]] = {}
    for k in range(0, len(ids), 900):
        chunk = ids[k:k + 900]
        sql = f"SELECT item_id, tag, weight FROM item_tags WHERE source = ? AND item_id IN ({', '.join('?' * len(chunk))})"
        for item_id, tag, weight in db.execute(sql, [source, *chunk]).fetchall():
            out.setdefault(item_id, {})[tag] = weight
    return out
