"""IMDb's non-commercial datasets: their files, and the store's reads and writes for them.

The importer (db/importers/imdb_datasets.py) parses; this module holds its SQL: which IMDb ids the active
movie catalog links, and the writes that make a re-import update rather than duplicate: facts replaced per
item, people upserted by their IMDb number, an item's roles replaced by the dump's.
"""

from __future__ import annotations

import sqlite3
from array import array
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from .catalogs import item_where

BASE_URL = "https://datasets.imdbws.com/"
# Read in this order: votes first (they decide which films are added), the 90M-line principals after the
# titles they are filtered by, names last (only the people the kept titles reference).
DATASETS = ("title.ratings", "title.basics", "title.crew", "title.principals", "name.basics")
FILES = tuple(f"{name}.tsv.gz" for name in DATASETS)
ROLES = ("director", "writer", "cast")  # item_people.role, in the order of their codes (0, 1, 2)


@dataclass(frozen=True)
class CatalogFilm:
    """An item of the active catalog with an IMDb id (MovieLens links.csv, or an earlier IMDb import)."""

    item_id: int
    imdb: int
    source_id: str
    name: str
    title: str
    year: int | None
    genres: str


def catalog_films(db: sqlite_utils.Database, domain: str = "movie") -> list[CatalogFilm]:
    """Every item of the domain's active catalog that links an IMDb id (db.catalogs names the catalog)."""
    where, params = item_where(db, domain, "i")
    rows = db.execute(f"""SELECT i.id, l.imdb, i.source_id, i.name, i.title, i.year, i.genres
                          FROM item_links l JOIN items i ON i.id = l.item_id
                          WHERE l.imdb IS NOT NULL AND {where} ORDER BY i.id""", params).fetchall()
    return [CatalogFilm(*r) for r in rows]


def update_item(conn: sqlite3.Connection, item_id: int, name: str, title: str, year: int | None, genres: str) -> None:
    """A film an earlier IMDb import added, renamed as a newer dump has it (the FTS triggers follow)."""
    conn.execute("UPDATE items SET name = ?, title = ?, year = ?, genres = ? WHERE id = ?",
                 (name, title, year, genres, item_id))


def write_facts(conn: sqlite3.Connection, rows: list[tuple]) -> tuple[int, int]:
    """(item id, runtime, rating, votes, updated) rows, each replacing the item's facts; returns (new, changed):
    a row equal to the stored one changes nothing."""
    (before,) = conn.execute("SELECT COUNT(*) FROM item_facts").fetchone()
    start = conn.total_changes
    conn.executemany("""INSERT INTO item_facts (item_id, runtime, imdb_rating, imdb_votes, updated)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (item_id) DO UPDATE SET runtime = excluded.runtime,
                            imdb_rating = excluded.imdb_rating, imdb_votes = excluded.imdb_votes,
                            updated = excluded.updated
                        WHERE runtime IS NOT excluded.runtime OR imdb_rating IS NOT excluded.imdb_rating
                            OR imdb_votes IS NOT excluded.imdb_votes OR updated IS NOT excluded.updated""", rows)
    (after,) = conn.execute("SELECT COUNT(*) FROM item_facts").fetchone()
    return after - before, conn.total_changes - start - (after - before)


def write_people(conn: sqlite3.Connection, rows) -> tuple[int, int]:
    """(imdb number, name, birth year) rows upserted by IMDb number; returns (new, changed)."""
    (before,) = conn.execute("SELECT COUNT(*) FROM people").fetchone()
    start = conn.total_changes
    conn.executemany("""INSERT INTO people (imdb, name, birth_year) VALUES (?, ?, ?)
                        ON CONFLICT (imdb) DO UPDATE SET name = excluded.name, birth_year = excluded.birth_year
                        WHERE name IS NOT excluded.name OR birth_year IS NOT excluded.birth_year""", rows)
    (after,) = conn.execute("SELECT COUNT(*) FROM people").fetchone()
    return after - before, conn.total_changes - start - (after - before)


def people_ids(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Every person's IMDb number (sorted) and store id, as arrays: the importer maps its rows' numbers through
    these (a million people at IMDb's size: a list of tuples would take ten times the memory)."""
    imdb, ids = array("q"), array("q")
    for number, person in conn.execute("SELECT imdb, id FROM people ORDER BY imdb"):
        imdb.append(number)
        ids.append(person)
    return np.frombuffer(imdb, dtype=np.int64), np.frombuffer(ids, dtype=np.int64)


def replace_roles(conn: sqlite3.Connection, item_ids: list[int], rows) -> tuple[int, int, int]:
    """Make `rows` (item id, role, person id, ordering) the roles of `item_ids`, whatever they held before;
    returns (rows new, rows whose ordering changed, rows removed). Staged in a temp table, so the comparison
    is SQLite's join, not a Python dict of millions of rows."""
    conn.execute("DROP TABLE IF EXISTS temp.imdb_items")
    conn.execute("DROP TABLE IF EXISTS temp.imdb_roles")
    conn.execute("CREATE TEMP TABLE imdb_items (item_id INTEGER PRIMARY KEY)")
    conn.execute("""CREATE TEMP TABLE imdb_roles (item_id INTEGER NOT NULL, role TEXT NOT NULL,
                    person_id INTEGER NOT NULL, ordering INTEGER NOT NULL,
                    PRIMARY KEY (item_id, role, person_id)) WITHOUT ROWID""")
    try:
        conn.executemany("INSERT OR IGNORE INTO temp.imdb_items (item_id) VALUES (?)", ((i,) for i in item_ids))
        conn.executemany("INSERT OR IGNORE INTO temp.imdb_roles (item_id, role, person_id, ordering) VALUES (?, ?, ?, ?)",
                         rows)
        new, changed = conn.execute("""SELECT COALESCE(SUM(p.ordering IS NULL), 0), COALESCE(SUM(p.ordering != n.ordering), 0)
                                       FROM temp.imdb_roles n LEFT JOIN item_people p ON p.item_id = n.item_id
                                       AND p.role = n.role AND p.person_id = n.person_id""").fetchone()
        (removed,) = conn.execute("""SELECT COUNT(*) FROM item_people p
                                     WHERE p.item_id IN (SELECT item_id FROM temp.imdb_items) AND NOT EXISTS (
                                     SELECT 1 FROM temp.imdb_roles n WHERE n.item_id = p.item_id
                                     AND n.role = p.role AND n.person_id = p.person_id)""").fetchone()
        if new or changed or removed:
            conn.execute("DELETE FROM item_people WHERE item_id IN (SELECT item_id FROM temp.imdb_items)")
            conn.execute("INSERT INTO item_people (item_id, role, person_id, ordering) "
                         "SELECT item_id, role, person_id, ordering FROM temp.imdb_roles")
    finally:
        conn.execute("DROP TABLE temp.imdb_items")
        conn.execute("DROP TABLE temp.imdb_roles")
    return new, changed, removed
