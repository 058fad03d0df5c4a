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
    linked: int | None = None  # films with an IMDb id (None: not counted)

    def describe(self) -> str:
        """One line: what the catalog knows, and the one command that adds what it lacks."""
        known = [f"{label} for {n:,} films" for label, n in
                 (("tags", self.tagged), ("the tag genome", self.genome), ("people", self.people),
                  ("IMDb votes and runtime", self.facts)) if n]
        lacks = "people" if not self.people else "IMDb votes" if not self.facts else ""
        text = "The catalog knows " + (", ".join(known) if known else "titles, years and genres only")
        if lacks and self.linked == 0:
            text += f"; no {lacks}, and no IMDb ids to add them by (ml-latest-small and newer releases have them)"
        elif lacks:
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
        count("SELECT 1 FROM item_links l WHERE l.item_id = i.id AND l.imdb IS NOT NULL"),
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


@dataclass
class FilmFacts:
    """Everything the store knows of one film besides its ratings: what a content model reads."""

    item_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    tags: dict[str, float]  # MovieLens applications
    genome: dict[str, float]  # relevance
    people: list[tuple[str, int, int]]  # (role, person id, ordering)
    runtime: int | None = None
    imdb_votes: int | None = None
    imdb_rating: float | None = None


def film_facts(db: sqlite_utils.Database, domain: str) -> list[FilmFacts]:
    """Every film of the active catalog with its knowledge, id order: one pass per table."""
    where, params = item_where(db, domain, "i")
    films = {row[0]: FilmFacts(row[0], row[1], row[2], tuple(g for g in row[3].split(", ") if g), {}, {}, [])
             for row in db.execute(f"SELECT i.id, i.title, i.year, i.genres FROM items i WHERE {where} ORDER BY i.id",
                                   params)}
    for item_id, source, tag, weight in db.execute(
            f"SELECT t.item_id, t.source, t.tag, t.weight FROM item_tags t JOIN items i ON i.id = t.item_id WHERE {where}",
            params):
        (films[item_id].tags if source == "tags" else films[item_id].genome)[tag] = weight
    for item_id, role, person, ordering in db.execute(
            f"SELECT p.item_id, p.role, p.person_id, p.ordering FROM item_people p JOIN items i ON i.id = p.item_id "
            f"WHERE {where}", params):
        films[item_id].people.append((role, person, ordering))
    for item_id, runtime, votes, rating in db.execute(
            f"SELECT f.item_id, f.runtime, f.imdb_votes, f.imdb_rating FROM item_facts f JOIN items i ON i.id = f.item_id "
            f"WHERE {where}", params):
        film = films[item_id]
        film.runtime, film.imdb_votes, film.imdb_rating = runtime, votes, rating
    return list(films.values())


def tag_relevance(db: sqlite_utils.Database, domain: str) -> dict[str, dict[int, float]]:
    """Every tag of the active catalog -> item -> relevance 0-1: the genome's relevance where the release has one,
    else from how many times it was applied (once 0.5, twice 0.75, three times 0.875...)."""
    where, params = item_where(db, domain, "i")
    out: dict[str, dict[int, float]] = {}
    for tag, item_id, source, weight in db.execute(
            f"SELECT t.tag, t.item_id, t.source, t.weight FROM item_tags t JOIN items i ON i.id = t.item_id "
            f"WHERE {where}", params):
        r = weight if source == "genome" else 1.0 - 0.5 ** weight
        items = out.setdefault(tag, {})
        items[item_id] = max(r, items.get(item_id, 0.0))
    return out


def people_films(db: sqlite_utils.Database, domain: str) -> dict[str, dict[int, float]]:
    """Each person's name (case-folded) -> the active catalog's films with them -> how central they are
    (director 1.0, writer 0.8, cast 1.0 for the top three billed, then less)."""
    where, params = item_where(db, domain, "i")
    out: dict[str, dict[int, float]] = {}
    for name, item_id, role, ordering in db.execute(
            f"SELECT p.name, ip.item_id, ip.role, ip.ordering FROM item_people ip JOIN people p ON p.id = ip.person_id "
            f"JOIN items i ON i.id = ip.item_id WHERE {where}", params):
        r = 1.0 if role == "director" else 0.8 if role == "writer" else (1.0 if ordering <= 3 else 0.7)
        films = out.setdefault(name.casefold(), {})
        films[item_id] = max(r, films.get(item_id, 0.0))
    return out


def runtimes(db: sqlite_utils.Database, domain: str) -> dict[int, int]:
    """Runtime in minutes of the active catalog's films that have one (IMDb's datasets)."""
    where, params = item_where(db, domain, "i")
    return dict(db.execute(f"SELECT f.item_id, f.runtime FROM item_facts f JOIN items i ON i.id = f.item_id "
                           f"WHERE {where} AND f.runtime IS NOT NULL", params).fetchall())
