"""The collaborative refit as a background process: lowest CPU priority, one BLAS thread, stopped while a
request scores.

Why a process and not a thread: EASE's fit is one LAPACK inverse (40 s and 3.5 GB on ml-latest-small) that
a thread cannot interrupt; a process can be stopped (SIGSTOP) while the LLM scores and continued after,
outlives a one-shot `engine recommend`, and gives its memory back when it ends. Scorers hold a shared lock
on `scoring.lock` while they score; the last one to finish continues the refits, and a refit left stopped
by a scorer that was killed is continued by the next scorer or the next refit check.

Each refit holds an exclusive lock on `<cache file>.refit` (its pid inside) for as long as it runs, so
there is never more than one per cache file, and a crashed one leaves no stale claim.

The process runs `python -m engine.collab.cache DB DOMAIN DATASET OUT` (`engine.collab.cache.refit_main`).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from db.paths import cache_dir

SUFFIX = ".refit"


def collab_dir() -> Path:
    return cache_dir() / "collab"


def claim(cache_file: Path):
    """The exclusive claim on refitting `cache_file`, held for the process's life with its pid inside;
    None when another refit holds it."""
    path = claim_path(cache_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    f.truncate(0)
    f.write(str(os.getpid()))
    f.flush()
    return f


def claim_path(cache_file: Path) -> Path:
    return cache_file.with_name(cache_file.name + SUFFIX)


def _holder(path: Path) -> int | None:
    """The pid of the live refit holding the claim file `path`, else None (nobody holds it: finished or crashed)."""
    try:
        with open(path, "r+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = f.read().strip()
                return int(text) if text.isdigit() else None
            return None
    except (OSError, ValueError):
        return None


def running_refits() -> list[int]:
    d = collab_dir()
    pids = (_holder(p) for p in sorted(d.glob(f"*{SUFFIX}"))) if d.is_dir() else ()
    return [p for p in pids if p]


def refit_running(cache_file: Path) -> bool:
    return _holder(claim_path(cache_file)) is not None


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def resume_if_idle() -> None:
    """Continue stopped refits when no request is scoring (the last scorer out, or one that was killed)."""
    path = collab_dir() / "scoring.lock"
    if not path.exists():
        return
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # someone is scoring; they continue the refits when they finish
        _signal(running_refits(), signal.SIGCONT)


@contextmanager
def refits_paused() -> Iterator[None]:
    """Stop every running refit for as long as this block scores (iter_rank wraps each scored chunk)."""
    pids = running_refits()
    if not pids:
        yield
        return
    path = collab_dir() / "scoring.lock"
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        _signal(pids, signal.SIGSTOP)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    resume_if_idle()


def start_refit(store: Path, domain: str, dataset: str | None, cache_file: Path) -> subprocess.Popen | None:
    """Start the background refit of `cache_file` unless one is running; returns the process (tests wait on it).

    Its output goes to `<cache file>.refit.log`; it is a session of its own, so Ctrl-C in the chat does not
    reach it and a one-shot command may exit while it works."""
    if refit_running(cache_file):
        resume_if_idle()
        return None
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    log = open(cache_file.with_name(cache_file.name + SUFFIX + ".log"), "w")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with log:
        return subprocess.Popen([sys.executable, "-m", "engine.collab.cache", str(store), domain, dataset or "",
                                 str(cache_file)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, preexec_fn=lambda: os.nice(19))
