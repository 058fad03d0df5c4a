"""The collaborative model on disk, and when it is refitted: not per rating, and never on the request path.

A person's own new ratings count at once without a refit: user vectors are built from the current history
at request time (fold-in), and items imported after the fit are still candidates (score 0, found by text
and filters). What a refit adds is everyone else's new ratings in the item-item weights, which move
little until a sizeable share of the store has changed. So a cached model with the same settings is
served at once however far the store moved on; when the rating events or new items since its fit reach
REFIT_SHARE of what it counted, a background process refits it (engine.collab.refit: lowest priority,
stopped while a request scores) and the chat swaps the new file in when it lands. Only a store with no
usable cache (first use, other settings, a truncated or foreign file) waits for a fit.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import sqlite_utils

from db.catalogs import pin_catalog, scope
from db.errors import RecchatError
from db.feedback import changes_since, current_ratings, store_mark
from db.knowledge import film_facts
from db.paths import cache_dir
from db.store import open_db, store_file

from .content import fit_cold_map
from .model import CollabModel, fit_state, plan_fit
from .refit import claim, start_refit

REFIT_SHARE = 0.05  # refit once events or new items since the fit reach 5 % of the ratings / items it counted
POLL_SECONDS = 2.0  # how often a chat looks for a refitted file (one stat)

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def cache_path(db: sqlite_utils.Database, domain: str) -> Path:
    """One file per store file, domain and catalog (db.catalogs), in the user cache folder."""
    key = hashlib.sha256(str(store_file(db)).encode()).hexdigest()[:16]
    dataset = hashlib.sha256((scope(db, domain) or "").encode()).hexdigest()[:8]
    return cache_dir() / "collab" / f"{key}-{domain}-{dataset}.npz"


def refit_share() -> float:
    """RECCHAT_REFIT_SHARE (a fraction; 0 refits after any change), else REFIT_SHARE."""
    raw = os.environ.get("RECCHAT_REFIT_SHARE", "").strip()
    if not raw:
        return REFIT_SHARE
    try:
        share = float(raw)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise RecchatError(f"RECCHAT_REFIT_SHARE={raw!r}: expected a fraction between 0 and 1 (e.g. 0.05)")
    return share


@dataclass(frozen=True)
class Staleness:
    """How far the store moved on since a model's fit, against what the fit counted."""

    events: int
    items: int
    fitted_ratings: int
    fitted_items: int

    @property
    def moved(self) -> bool:
        return bool(self.events or self.items)

    def due(self, share: float) -> bool:
        if not self.moved:
            return False
        return (self.events >= share * max(self.fitted_ratings, 1)
                or self.items >= share * max(self.fitted_items, 1))

    def describe(self) -> str:
        return (f"{self.events:,} rating events and {self.items:,} new items since its fit on "
                f"{self.fitted_ratings:,} ratings")


def staleness(db: sqlite_utils.Database, domain: str, model: CollabModel) -> Staleness:
    moved = changes_since(db, domain, model.mark)
    return Staleness(moved.events, moved.items, int(model.seen.sum()), model.mark.items)


def fit_from_store(db: sqlite_utils.Database, domain: str, log: Log = _stderr, reason: str = "") -> CollabModel:
    """Fit the model `plan_fit` chooses for the domain's catalog; the notice says which and why.

    The mark is read before the ratings: a rating written during the read counts as after the fit."""
    mark = store_mark(db, domain)
    ratings = current_ratings(db, domain)
    plan = plan_fit(ratings.n_items, ratings.n_ratings, ratings.n_users)
    model = CollabModel.fit(ratings, state=fit_state(domain), plan=plan, mark=mark)
    model = model.with_cold(fit_cold_map(film_facts(db, domain), model.item_ids, model.popularity(model.item_ids)))
    cold = f"; {len(model.cold):,} films without ratings placed by their content" if len(model.cold) else ""
    log(f"collaborative model: {plan.kind.upper()} ({plan.why}) fitted on {ratings.n_ratings:,} ratings{cold}"
        + (f" ({reason})" if reason else ""))
    return model


def load_cached(path: Path, domain: str) -> tuple[CollabModel | None, str]:
    """The cached model if its settings are today's, else None and why not."""
    if not path.exists():
        return None, "none cached"
    try:
        model = CollabModel.load(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        return None, f"unreadable cache ({type(e).__name__})"
    if model.state != fit_state(domain):
        return None, "cached with other settings"
    return model, ""


def refit_if_due(db: sqlite_utils.Database, domain: str, model: CollabModel, log: Log = _stderr,
                 path: Path | None = None) -> bool:
    """Start the background refit when the store moved REFIT_SHARE past the model's fit; True if one runs."""
    moved = staleness(db, domain, model)
    if not moved.due(refit_share()):
        return False
    path = path or cache_path(db, domain)
    started = start_refit(store_file(db), domain, scope(db, domain), path)
    if started is not None:
        log(f"collaborative model: {moved.describe()}; serving it and refitting in the background")
    return True


def load_or_fit(db: sqlite_utils.Database, domain: str, log: Log = _stderr, path: Path | None = None,
                background: bool = True) -> CollabModel:
    """The cached model, served at once (a refit starts behind it when due); a fit only when none is usable.

    `background=False` (measurements that need the store's exact state): a cached model the store moved on
    from at all is refitted here instead."""
    path = path or cache_path(db, domain)
    model, why = load_cached(path, domain)
    if model is not None:
        if background:
            refit_if_due(db, domain, model, log, path)
            return model
        if not staleness(db, domain, model).moved:
            return model
        why = "the store changed since it was fitted"
    model = fit_from_store(db, domain, log, why)  # about a second on ML-100K (docs/results.md)
    try:
        model.save(path)
    except (OSError, RecchatError) as e:
        log(f"collaborative model: not cached ({e})")
    return model


class CollabService:
    """The chat's handle on the model: `current()` never fits once loaded; `refresh()` after a rating starts
    the background refit only when it is due; `current()` swaps in a refitted file when one lands."""

    def __init__(self, open_db: Callable[[], sqlite_utils.Database], domain: str, log: Log = _stderr):
        self._open_db = open_db  # a connection of its own: the loading worker and the swap must not share the chat's
        self.domain = domain
        self.log = log
        self._model: CollabModel | None = None
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._loaded_stamp: int | None = None  # mtime_ns of the file the model came from
        self._polled = 0.0
        self._swap: threading.Thread | None = None

    def load(self) -> CollabModel:
        """Blocking first load (the chat runs it in its loading worker, before the first request)."""
        with self._lock:
            if self._model is None:
                db = self._open_db()
                try:
                    self._path = cache_path(db, self.domain)
                    self._model = load_or_fit(db, self.domain, self.log, self._path)
                    self._loaded_stamp = self._stamp()
                finally:
                    db.conn.close()
            return self._model

    def current(self) -> CollabModel:
        if self._model is None:
            return self.load()
        if time.monotonic() - self._polled > POLL_SECONDS:
            self.poll()
        return self._model

    def refresh(self, db: sqlite_utils.Database) -> bool:
        """After a rating (on the caller's connection: two range counts): start the refit if it is due."""
        if self._model is None:
            return False
        return refit_if_due(db, self.domain, self._model, self.log, self._path)

    def _stamp(self) -> int | None:
        try:
            return self._path.stat().st_mtime_ns if self._path else None
        except OSError:
            return None

    def poll(self, wait: bool = False) -> threading.Thread | None:
        """Swap in the cache file if a refit rewrote it (loaded in a thread; `wait` joins it)."""
        self._polled = time.monotonic()
        stamp = self._stamp()
        if stamp is None or stamp == self._loaded_stamp or (self._swap is not None and self._swap.is_alive()):
            return self._swap if wait and self._swap is not None else None
        self._swap = threading.Thread(target=self._load_new, args=(stamp,), name="collab-swap", daemon=True)
        self._swap.start()
        if wait:
            self._swap.join()
        return self._swap

    def _load_new(self, stamp: int) -> None:
        model, _ = load_cached(self._path, self.domain)
        if model is None:
            return
        self._loaded_stamp = stamp
        self._model = model  # one reference swap: requests see the old or the new model, never a mix
        self.log(f"collaborative model: refitted on {int(model.seen.sum()):,} ratings, now serving")


def refit_main(argv: list[str]) -> int:
    """The background refit's process (engine.collab.refit.start_refit): STORE DOMAIN DATASET OUT."""
    store, domain, dataset, out = argv
    held = claim(Path(out))
    if held is None:
        return 0  # another refit of this file started first
    with held:
        db = open_db(store, create=False, timeout=30)
        if dataset:
            pin_catalog(db, domain, dataset)
        model = fit_from_store(db, domain, log=print, reason="background refit")
        db.conn.close()
        model.save(out)
    return 0


if __name__ == "__main__":
    sys.exit(refit_main(sys.argv[1:]))
