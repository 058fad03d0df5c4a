"""Issue 18: 8 concurrent raters on one SQLite store, through the CLI and the chat: every rating lands, once.

Four raters run the real `engine rate` console script, one process per rating, against one store file;
four more rate through the chat's own code path (`ChatSession.rate`, one session and connection each,
in threads) on the same file at the same time. The chat raters pace themselves on the CLI's progress
(never on the clock), so their writes fall between the CLI's and the two kinds of writer overlap.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from db import RecchatError, open_db
from db.migrations import MIGRATIONS
from db.store import schema_version
from engine.chat.session import ChatSession

from tests.conftest import FIXTURES, ROOT, count, engine
from tests.fakes import FakeScorer

N_ITEMS = 8  # ratings per rater, then one more that flips its first verdict (latest wins)
CLI_USERS = [f"cli-rater-{k}" for k in range(4)]
CHAT_USERS = [f"chat-rater-{k}" for k in range(4)]
ENGINE = Path(sys.executable).parent / "engine"
WAIT = 60.0  # seconds a chat rater waits for the CLI to make progress before the test gives up


@pytest.fixture
def tiny_store(tmp_path, monkeypatch) -> Path:
    """The 41-item GroupLens fixture imported into a fresh store file."""
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))  # the chat's collaborative refits
    path = tmp_path / "store.db"
    r = engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", path)
    assert r.exit_code == 0, r.output
    return path


def plan(user_index: int, item_ids: list[int]) -> list[tuple[int, bool]]:
    """Each rater's own sequence: N distinct items, mixed verdicts, then the first item flipped."""
    start = (user_index * 5) % len(item_ids)
    items = [item_ids[(start + i) % len(item_ids)] for i in range(N_ITEMS)]
    steps = [(item, (i + user_index) % 3 != 0) for i, item in enumerate(items)]
    return steps + [(steps[0][0], not steps[0][1])]


def engine_cmd(*args) -> list[str]:
    prefix = [str(ENGINE)] if ENGINE.exists() else [sys.executable, "-c", "from engine.cli import main; main()"]
    return prefix + [str(a) for a in args]


def test_eight_concurrent_raters_cli_and_chat(tiny_store, tmp_path):
    conn = sqlite3.connect(tiny_store)
    item_ids = [r[0] for r in conn.execute("SELECT id FROM items WHERE domain = 'movie' ORDER BY id")]
    names = dict(conn.execute("SELECT id, name FROM items"))
    feedback_before = conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
    conn.close()
    assert len(item_ids) == 41 and feedback_before == 74

    plans = {u: plan(k, item_ids) for k, u in enumerate(CLI_USERS + CHAT_USERS)}
    env = {**os.environ, "RECCHAT_CACHE_DIR": str(tmp_path / "cache")}
    start = threading.Barrier(len(plans))
    cli_runs: dict[str, list[subprocess.CompletedProcess]] = {u: [] for u in CLI_USERS}
    chat_replies: dict[str, list[str]] = {u: [] for u in CHAT_USERS}
    chat_pending: dict[str, int] = {}
    errors: list[BaseException] = []

    def cli_rater(user: str) -> None:
        try:
            start.wait()
            for item, liked in plans[user]:
                cli_runs[user].append(subprocess.run(
                    engine_cmd("rate", "--db", tiny_store, "--user", user, "--item", item,
                               "--like" if liked else "--dislike", "--create"),
                    capture_output=True, text=True, cwd=ROOT, env=env, timeout=120))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            start.abort()

    def cli_rows() -> int:
        watch = sqlite3.connect(tiny_store)
        try:
            return watch.execute("SELECT COUNT(*) FROM feedback WHERE source = 'cli'").fetchone()[0]
        finally:
            watch.close()

    def chat_rater(user: str) -> None:
        session = None
        try:
            # Built in the thread, like the chat: its own connection, the real lock wait and retries.
            session = ChatSession(tiny_store, user, scorer_factory=lambda: FakeScorer())
            start.wait()
            for i, (item, liked) in enumerate(plans[user]):
                # The i-th chat rating waits until the CLI raters have written 2i+1 rows between them.
                deadline = time.monotonic() + WAIT
                while cli_rows() < 2 * i + 1:
                    if time.monotonic() > deadline or errors:
                        raise TimeoutError(f"{user}: the CLI raters stopped at {cli_rows()} rows")
                    time.sleep(0.01)
                chat_replies[user].append(session.rate(session.store.item(item), liked))
            chat_pending[user] = len(session.journal.pending)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            start.abort()
        finally:
            if session is not None:
                session.close()

    threads = [threading.Thread(target=cli_rater, args=(u,), name=u) for u in CLI_USERS]
    threads += [threading.Thread(target=chat_rater, args=(u,), name=u) for u in CHAT_USERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads), "a rater hung"
    assert not errors, errors

    # Every CLI process succeeded, said what it saved, and printed no traceback or lock error.
    for user, runs in cli_runs.items():
        assert len(runs) == len(plans[user])
        for run, (item, liked) in zip(runs, plans[user]):
            assert run.returncode == 0, f"{user}: {run.stderr}"
            assert run.stderr == "", f"{user}: {run.stderr}"
            assert run.stdout.strip() == f"{user} {'likes' if liked else 'dislikes'} {names[item]} [id {item}]"

    # Every chat rating was written at once: none kept in memory because the database was locked.
    for user, replies in chat_replies.items():
        assert len(replies) == len(plans[user])
        for reply, (item, liked) in zip(replies, plans[user]):
            assert reply == f"Saved: you {'liked' if liked else 'disliked'} {names[item]}.", f"{user}: {reply}"
        assert chat_pending[user] == 0

    # The store: each (user, item, verdict) written is there exactly once, from the path that wrote it.
    conn = sqlite3.connect(tiny_store)
    try:
        rows = conn.execute(
            """SELECT u.name, f.item_id, f.liked, f.source FROM feedback f JOIN users u ON u.id = f.user_id
               WHERE u.name LIKE '%-rater-%'""").fetchall()
        expected = Counter(
            (user, item, int(liked), "cli" if user in CLI_USERS else "chat")
            for user, steps in plans.items() for item, liked in steps)
        assert Counter(rows) == expected
        assert max(Counter(rows).values()) == 1
        assert len(rows) == len(plans) * (N_ITEMS + 1)
        assert count(tiny_store, "SELECT COUNT(*) FROM feedback") == feedback_before + len(rows)
        users = [r[0] for r in conn.execute("SELECT name FROM users WHERE name LIKE '%-rater-%'")]
        assert sorted(users) == sorted(plans)

        # Latest wins: each rater's current verdicts are its plan's last word per item.
        for user, steps in plans.items():
            current = dict(conn.execute(
                """SELECT c.item_id, c.liked FROM current_feedback c JOIN users u ON u.id = c.user_id
                   WHERE u.name = ?""", [user]).fetchall())
            assert current == {item: int(liked) for item, liked in steps}, user

        # The two kinds of writer really overlapped (an ordering check on the rows, not a timing one).
        cli_ts = [r[0] for r in conn.execute("SELECT ts FROM feedback WHERE source = 'cli'")]
        chat_ts = [r[0] for r in conn.execute("SELECT ts FROM feedback WHERE source = 'chat'")]
        assert min(chat_ts) < max(cli_ts) and min(cli_ts) < max(chat_ts)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


OPEN_AT_GO = """
import os, sys, time
from db import open_db
while not os.path.exists(sys.argv[2]):
    time.sleep(0.002)
open_db(sys.argv[1]).conn.close()
"""


def test_raters_opening_a_store_at_once_migrate_it_once(tmp_path):
    """Every rater's first step, `open_db`, from 8 processes released together on a store still to be
    migrated (a new file here; an older schema after an upgrade takes the same path): each step runs once."""
    for round_ in range(2):
        path, go = tmp_path / f"fresh-{round_}.db", tmp_path / f"go-{round_}"
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_GO, str(path), str(go)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
        go.touch()
        results = [(p.wait(60), *p.communicate()) for p in procs]
        assert all(rc == 0 and err == "" for rc, _, err in results), [err for _, _, err in results if err]
        conn = sqlite3.connect(path)
        try:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
            assert versions == list(range(1, len(MIGRATIONS) + 1))
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()


def _writer_holding(path):
    """A connection holding the write lock of a store still in the rollback journal (a new file)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_open_waits_for_a_writer_while_switching_a_store_to_wal(tmp_path):
    """SQLite does not run the busy handler when the switch to WAL meets another writer: the open
    retries within its timeout instead of failing at once (CI saw this with 8 raters opening together)."""
    path = tmp_path / "new.db"
    holder = _writer_holding(path)
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    db = open_db(path, timeout=10)
    release.join()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == len(MIGRATIONS)
    db.conn.close()
    holder.close()


def test_open_gives_a_one_line_error_when_the_writer_never_lets_go(tmp_path):
    path = tmp_path / "held.db"
    holder = _writer_holding(path)
    with pytest.raises(RecchatError) as e:
        open_db(path, timeout=0.3)
    assert str(e.value) == f"cannot open database {path}: database is locked (could not switch it to WAL)"
    holder.execute("ROLLBACK")
    holder.close()
