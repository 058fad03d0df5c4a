"""The collaborative model on disk, keyed by the store state it was fitted on, and refitted off the request path.

A file whose state differs from the store's (ratings added or retracted, items imported), a
truncated file or a foreign one is never used: it is refitted with a one-line notice. The chat
keeps serving the model it has while a background thread refits; a user's own new ratings count
at once anyway, because user vectors are built from the current history at request time (fold-in).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import zipfile
from pathlib import Path
from typing import Callable

import sqlite_utils

from db.catalogs import scope
from db.feedback import current_ratings, ratings_version
from db.paths import cache_dir
from db.store import store_file

from .collab import CollabModel, fit_state, plan_fit

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def cache_path(db: sqlite_utils.Database, domain: str) -> Path:
    """One file per store file, domain and catalog (db.catalogs), in the user cache folder."""
    key = hashlib.sha256(str(store_file(db)).encode()).hexdigest()[:16]
    dataset = hashlib.sha256((scope(db, domain) or "").encode()).hexdigest()[:8]
    return cache_dir() / "collab" / f"{key}-{domain}-{dataset}.npz"


def store_state(db: sqlite_utils.Database, domain: str) -> str:
    return fit_state(ratings_version(db, domain), domain)


def fit_from_store(db: sqlite_utils.Database, domain: str, state: str | None = None, log: Log = _stderr,
                   reason: str = "") -> CollabModel:
    """Fit the model `plan_fit` chooses for the domain's catalog; the notice says which and why."""
    ratings = current_ratings(db, domain)
    plan = plan_fit(ratings.n_items, ratings.n_ratings, ratings.n_users)
    model = CollabModel.fit(ratings, state=state or store_state(db, domain), plan=plan)
    log(f"collaborative model: {plan.kind.upper()} ({plan.why}) fitted on {ratings.n_ratings:,} ratings"
        + (f" ({reason})" if reason else ""))
    return model


def load_or_fit(db: sqlite_utils.Database, domain: str, log: Log = _stderr, path: Path | None = None) -> CollabModel:
    """The cached model when it matches the store; otherwise a fresh fit, saved for next time."""
    path = path or cache_path(db, domain)
    state = store_state(db, domain)
    why = "none cached"
    if path.exists():
        try:
            model = CollabModel.load(path)
            if model.state == state:
                return model
            why = "the store changed since it was fitted"
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            why = f"unreadable cache ({type(e).__name__})"
    model = fit_from_store(db, domain, state, log, why)  # about a second on ML-100K (docs/results.md)
    try:
        model.save(path)
    except OSError as e:
        log(f"collaborative model: not cached ({e})")
    return model


class CollabService:
    """The chat's handle on the model: `current()` never fits on the request path once loaded;
    `refresh()` refits in a background thread when the store moved on."""

    def __init__(self, open_db: Callable[[], sqlite_utils.Database], domain: str, log: Log = _stderr):
        self._open_db = open_db  # a connection of its own: the refit thread must not share the chat's
        self.domain = domain
        self.log = log
        self._model: CollabModel | None = None
        self._lock = threading.Lock()
        self._refit: threading.Thread | None = None

    def load(self) -> CollabModel:
        """Blocking first load (the chat runs it in its loading worker, before the first request)."""
        with self._lock:
            if self._model is None:
                db = self._open_db()
                try:
                    self._model = load_or_fit(db, self.domain, self.log)
                finally:
                    db.conn.close()
            return self._model

    def current(self) -> CollabModel:
        return self._model if self._model is not None else self.load()

    def refresh(self) -> threading.Thread | None:
        """Refit in the background if the store's state differs from the model's; returns the thread."""
        if self._refit is not None and self._refit.is_alive():
            return self._refit
        self._refit = threading.Thread(target=self._refresh, name="collab-refit", daemon=True)
        self._refit.start()
        return self._refit

    def _refresh(self) -> None:
        db = self._open_db()
        try:
            if self._model is not None and self._model.state == store_state(db, self.domain):
                return
            model = load_or_fit(db, self.domain, self.log)
        finally:
            db.conn.close()
        self._model = model  # one reference swap: requests see the old or the new model, never a mix
