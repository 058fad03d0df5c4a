"""Schema migrations, applied in order; the position in MIGRATIONS is the schema version.

Never edit a shipped step: append a new one.
"""

from __future__ import annotations

import sqlite_utils


def _v1_initial(db: sqlite_utils.Database) -> None:
    for sql in V1_SQL:
        db.execute(sql)
    # Full-text index over what a user types to find an item; triggers keep it in sync.
    db["items"].enable_fts(["title", "creators", "genres"], create_triggers=True, tokenize="unicode61")


V1_SQL = [
    """CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)""",
    """CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        domain TEXT NOT NULL CHECK (domain IN ('movie', 'book')),
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        name TEXT NOT NULL,
        title TEXT NOT NULL,
        year INTEGER,
        creators TEXT NOT NULL DEFAULT '',
        genres TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        UNIQUE (domain, source, source_id))""",
    "CREATE INDEX items_domain_name ON items (domain, name)",
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        dataset TEXT,
        source_id TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now')))""",
    # Append-only: a new row supersedes older rows for the same (user, item); liked NULL = retracted.
    """CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        item_id INTEGER NOT NULL REFERENCES items(id),
        liked INTEGER CHECK (liked IN (0, 1)),
        rating REAL,
        source TEXT NOT NULL CHECK (source IN ('import', 'chat', 'cli')),
        ts REAL NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')))""",
    "CREATE UNIQUE INDEX feedback_event ON feedback (user_id, item_id, source, ts)",
    "CREATE INDEX feedback_latest ON feedback (user_id, item_id, ts, id)",
    "CREATE INDEX feedback_item ON feedback (item_id)",
    """CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END""",
    """CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
        BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END""",
    """CREATE VIEW current_feedback AS
        SELECT f.* FROM feedback f
        WHERE f.id = (SELECT g.id FROM feedback g
                      WHERE g.user_id = f.user_id AND g.item_id = f.item_id
                      ORDER BY g.ts DESC, g.id DESC LIMIT 1)
          AND f.liked IS NOT NULL""",
    """CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (datetime('now')))""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL,
        payload TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now')))""",
    """CREATE TABLE eval_runs (
        id INTEGER PRIMARY KEY,
        model_path TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        dataset TEXT NOT NULL,
        k INTEGER,
        metrics TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')))""",
]



def _v2_links_and_seen(db: sqlite_utils.Database) -> None:
    for sql in V2_SQL:
        db.execute(sql)


V2_SQL = [
    # External ids of an item (MovieLens links.csv): a person's IMDb export links through these exactly.
    """CREATE TABLE item_links (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        imdb INTEGER,
        tmdb INTEGER)""",
    "CREATE INDEX item_links_imdb ON item_links (imdb)",
    # Watched or read without a rating (a Letterboxd diary, a Goodreads "read" shelf): not a like or a
    # dislike, but not worth recommending again either.
    """CREATE TABLE seen (
        user_id INTEGER NOT NULL REFERENCES users(id),
        item_id INTEGER NOT NULL REFERENCES items(id),
        ts REAL NOT NULL,
        PRIMARY KEY (user_id, item_id))""",
    # The catalogs of a domain are told apart by the items' source (the dataset they were imported from).
    "CREATE INDEX items_domain_source ON items (domain, source, id)",
]

def _v3_knowledge(db: sqlite_utils.Database) -> None:
    for sql in V3_SQL:
        db.execute(sql)


V3_SQL = [
    # What is known about a film beyond its ratings (db/knowledge.py). Tags with where they came from: a
    # MovieLens release's tag applications (weight = how many times applied) or its tag genome (weight =
    # relevance 0-1, kept from GENOME_MIN up). Tags are case-folded, whitespace collapsed.
    """CREATE TABLE item_tags (
        item_id INTEGER NOT NULL REFERENCES items(id),
        source TEXT NOT NULL CHECK (source IN ('tags', 'genome')),
        tag TEXT NOT NULL,
        weight REAL NOT NULL,
        PRIMARY KEY (item_id, source, tag)) WITHOUT ROWID""",
    "CREATE INDEX item_tags_tag ON item_tags (tag, source)",
    # People by IMDb's nconst (the number after "nm"), and their roles in a film: cast in billing order.
    """CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        imdb INTEGER NOT NULL UNIQUE,
        name TEXT NOT NULL,
        birth_year INTEGER)""",
    "CREATE INDEX people_name ON people (name COLLATE NOCASE)",
    """CREATE TABLE item_people (
        item_id INTEGER NOT NULL REFERENCES items(id),
        role TEXT NOT NULL CHECK (role IN ('director', 'writer', 'cast')),
        person_id INTEGER NOT NULL REFERENCES people(id),
        ordering INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (item_id, role, person_id)) WITHOUT ROWID""",
    "CREATE INDEX item_people_person ON item_people (person_id, role)",
    # IMDb's facts of a film: runtime, average rating and votes, and the dump they came from (its date).
    """CREATE TABLE item_facts (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        runtime INTEGER,
        imdb_rating REAL,
        imdb_votes INTEGER,
        updated TEXT NOT NULL DEFAULT '')""",
    # A person's watchlist (Letterboxd watchlist.csv, IMDb's watchlist export): films they mean to see. A list
    # of its own: "from my watchlist" ranks only these; elsewhere they are not hidden.
    """CREATE TABLE watchlist (
        user_id INTEGER NOT NULL REFERENCES users(id),
        item_id INTEGER NOT NULL REFERENCES items(id),
        ts REAL NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (user_id, item_id)) WITHOUT ROWID""",
]


def _v4_chat_states(db: sqlite_utils.Database) -> None:
    for sql in V4_SQL:
        db.execute(sql)


V4_SQL = [
    # The conversation's state, one row per chat, written every turn (db/chats.py); before v4 it lived only in
    # the assistant message's payload, written once. `updated`: the turn's time.time(); the newer write wins.
    """CREATE TABLE chat_states (
        chat_id INTEGER PRIMARY KEY REFERENCES chats(id),
        state TEXT NOT NULL,
        updated REAL NOT NULL)""",
    # A chat created from the on-disk journal (db/outbox.py) carries the key its session gave it, so a replay
    # run twice creates it once and the session that waited finds its chat.
    "ALTER TABLE chats ADD COLUMN journal_key TEXT",
    "CREATE UNIQUE INDEX chats_journal_key ON chats (journal_key) WHERE journal_key IS NOT NULL",
]

MIGRATIONS = [_v1_initial, _v2_links_and_seen, _v3_knowledge, _v4_chat_states]
