"""Writes killed halfway (SIGKILL: no handler runs): the old state or the new one, and the next command says
what it found. Two chats and an import on one store at once: no rating lost.

The import's own kill test is in tests/test_import_movielens.py; `trainer export` killed mid-GGUF is marked
slow (it loads torch and the model first).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from db.fileio import remove_partials
from engine.chat.session import ChatSession
from tests.conftest import FIXTURES, ROOT, engine, needs_shared
from tests.fakes import FakeScorer

SLOW_SAVE = """
import sys, time
import numpy as np
from db.feedback import Feedback
import engine.collab.model as collab
from engine.collab.model import CollabModel

real = np.savez
def slow(f, **arrays):  # the cache write, a chunk at a time, slow enough to be killed halfway
    for k in range(200):
        f.write(b"x" * 65536); f.flush(); time.sleep(0.02)
    real(f, **arrays)
collab.np.savez = slow
ids = np.array([1, 1, 2, 2, 3]); items = np.array([10, 11, 10, 12, 11]); liked = np.array([1, 0, 1, 1, 0])
CollabModel.fit(Feedback(ids, items, liked)).save(sys.argv[1])
"""


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline and not ready():
        time.sleep(0.01)
    assert proc.poll() is None, "the command finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_killed_cache_write_leaves_the_old_file_and_the_next_write_says_so(tmp_path):
    from engine.collab.model import CollabModel

    path = tmp_path / "collab" / "model.npz"
    path.parent.mkdir()
    path.write_bytes(b"the previous model")
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path)], cwd=ROOT)
    partial = lambda: [p for p in path.parent.glob(".model.npz.partial-*.tmp") if p.stat().st_size > 1_000_000]  # noqa: E731
    _kill_when(proc, lambda: bool(partial()))
    assert path.read_bytes() == b"the previous model"  # the old state, not half a new one
    said: list[str] = []
    removed = remove_partials(path, log=said.append)
    assert len(removed) == 1 and not list(path.parent.glob("*.tmp"))
    assert said and "a partial model.npz left by an interrupted write; model.npz itself is the previous one" in said[0]
    # a write in progress is never taken for a partial one: its writer holds the lock
    from db.fileio import atomic_path

    with atomic_path(path) as tmp:
        assert remove_partials(path, log=said.append) == [] and tmp.exists()
        tmp.write_bytes(b"new")
    assert path.read_bytes() == b"new"
    with pytest.raises(ValueError):
        CollabModel.load(path)  # a foreign file: the caller refits (engine.collab.cache)


@needs_shared
def test_a_killed_stack_fit_leaves_the_stack_folder_as_it_was(ml100k_store, movie_split_dir, tmp_path):
    out = tmp_path / "stacks"
    out.mkdir()
    (out / "keep.json").write_text("{}")
    env = {**os.environ, "RECCHAT_CACHE_DIR": str(tmp_path / "cache"), "RECCHAT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "stack", "fit", "--no-llm",
                             "--data", str(movie_split_dir / "valid.json"), "--out", str(out), "--db", str(ml100k_store)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = bytearray()
    def read() -> None:
        while chunk := proc.stderr.read1(256):
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    _kill_when(proc, lambda: b"rank head" in seen)
    assert sorted(p.name for p in out.iterdir()) == ["keep.json"]  # no stack, no partial file
    r = engine("stack", "fit", "--no-llm", "--data", movie_split_dir / "valid.json", "--out", out, "--rank-users", "10",
               "--db", ml100k_store)
    assert r.exit_code == 0 and "wrote" in r.stdout


def test_two_chats_and_an_import_on_one_store_lose_no_rating(tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    store = tmp_path / "store.db"
    assert engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", store).exit_code == 0
    release = tmp_path / "ml-latest-small"
    release.mkdir()
    (release / "README.txt").write_text("This dataset (ml-latest-small) ...")
    (release / "movies.csv").write_text("movieId,title,genres\n" + "".join(f"{k},Film {k} (2001),Drama\n" for k in range(1, 201)))
    with open(release / "ratings.csv", "w") as f:  # an import that holds the write lock for a while
        f.write("userId,movieId,rating,timestamp\n")
        f.write("".join(f"{k % 3000},{1 + k % 200},{1 + k % 5}.0,{k}\n" for k in range(300_000)))
    importer = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "data", "import",
                                 "movielens", str(release), "--db", str(store)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sessions = [ChatSession(store, f"chatter-{k}", scorer_factory=lambda: FakeScorer(), lock_wait=0.05, lock_tries=2)
                for k in range(2)]
    items = [sessions[0].store.item(i) for i in range(1, 11)]

    def rate_all(s: ChatSession, offset: int) -> None:
        for k, item in enumerate(items):
            s.rate(item, (k + offset) % 2 == 0)  # kept in memory when the import holds the lock
            time.sleep(0.05)

    threads = [threading.Thread(target=rate_all, args=(s, k)) for k, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err
    for s in sessions:
        deadline = time.monotonic() + 30
        while s.journal.pending and time.monotonic() < deadline:
            s.journal.flush_pending()
            time.sleep(0.05)
        assert not s.journal.pending
    for k, s in enumerate(sessions):
        got = {h.item_id: h.liked for h in s.history()}
        assert got == {item.id: (j + k) % 2 == 0 for j, item in enumerate(items)}
    assert b"added 200 items" in out


@pytest.mark.slow
def test_a_killed_trainer_export_leaves_no_gguf_and_the_next_export_says_so(tmp_path):
    out = tmp_path / "model.gguf"
    adapter = ROOT / "trainer" / "default_adapter"
    cmd = [sys.executable, "-c", "from trainer.cli import main; main()", "export", "--adapter", str(adapter),
           "--out", str(out), "--quant", "f16"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    growing = lambda: any(p.stat().st_size > 20_000_000 for p in tmp_path.glob(".model.gguf.partial-*.tmp"))  # noqa: E731
    _kill_when(proc, growing, timeout=600)
    assert not out.exists()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "a partial model.gguf left by an interrupted write" in done.stderr and out.exists()
    assert not list(tmp_path.glob("*.tmp"))
