"""Which catalog of a domain a command works on, when one store holds several (ML-100K and ml-latest-small).

A catalog is the items of one domain imported from one dataset (`items.source`): two MovieLens
releases both hold Toy Story, and the chat, retrieval and the collaborative model must see only
one of them. Every catalog query in `db/` narrows by `scope(db, domain)`.

How the active catalog is chosen, in order:
1. `use_catalog(db, domain, name)`: what a command's `--dataset NAME` asks for (an unknown name is
   a one-line error listing the catalogs the store holds);
2. `$RECCHAT_DATASET` (one name, applied to the domain that holds it);
3. otherwise the domain's catalog with the most items: the newer, larger release wins over ML-100K
   once it is imported, and a store with one catalog needs no choice at all.
The choice belongs to the connection (`sqlite_utils.Database` handle), not the file: two chats on one
store may use different catalogs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlite_utils

from .errors import RecchatError

ENV = "RECCHAT_DATASET"
_CHOSEN = "_recchat_catalogs"  # handle attribute: domain -> dataset chosen explicitly
_DEFAULT = "_recchat_default_catalogs"  # handle attribute: domain -> (items max id, default dataset)
_PINNED = "_recchat_pinned_catalogs"  # handle attribute: domain -> dataset the handle stays on (a chat's)


@dataclass(frozen=True)
class CatalogInfo:
    domain: str
    dataset: str
    n_items: int


@dataclass(frozen=True)
class CatalogChoice:
    """The active catalog and, in words, why it is the one (the chat's first notice shows it)."""

    info: CatalogInfo | None
    why: str
    others: tuple[CatalogInfo, ...] = ()

    @property
    def dataset(self) -> str | None:
        return self.info.dataset if self.info else None

    def describe(self) -> str:
        if self.info is None:
            return f"catalog: none ({self.why})"
        noun = "movies" if self.info.domain == "movie" else "books"
        text = f"catalog: {self.info.dataset}, {self.info.n_items:,} {noun} ({self.why})"
        if self.others:
            text += "; also in the store: " + ", ".join(o.dataset for o in self.others) + " (--dataset NAME)"
        return text


def catalogs(db: sqlite_utils.Database, domain: str) -> list[CatalogInfo]:
    """The domain's catalogs, most items first (ties by name)."""
    rows = db.execute("SELECT source, COUNT(*) FROM items WHERE domain = ? GROUP BY source", [domain]).fetchall()
    return sorted((CatalogInfo(domain, s, n) for s, n in rows), key=lambda c: (-c.n_items, c.dataset))


def use_catalog(db: sqlite_utils.Database, domain: str, dataset: str | None) -> CatalogChoice:
    """Make `dataset` the handle's catalog of `domain` (None: the default rule); returns the choice."""
    chosen = dict(getattr(db, _CHOSEN, {}))
    if dataset is None:
        chosen.pop(domain, None)
    else:
        known = catalogs(db, domain)
        if dataset not in {c.dataset for c in known}:
            listing = ", ".join(f"{c.dataset} ({c.n_items:,} items)" for c in known) or "none: import one first"
            raise RecchatError(f"no {domain} catalog named {dataset!r} in the store; it holds: {listing}")
        chosen[domain] = dataset
    setattr(db, _CHOSEN, chosen)
    return choice(db, domain)


def pin_catalog(db: sqlite_utils.Database, domain: str, dataset: str | None) -> None:
    """Keep the handle on `dataset` from now on, without changing how its choice is described: a chat opened
    on one catalog stays on it when an import makes another the largest."""
    if dataset is not None:
        setattr(db, _PINNED, {**getattr(db, _PINNED, {}), domain: dataset})


def choice(db: sqlite_utils.Database, domain: str) -> CatalogChoice:
    known = catalogs(db, domain)
    active = scope(db, domain)
    info = next((c for c in known if c.dataset == active), None)
    others = tuple(c for c in known if c.dataset != active)
    if info is None:
        return CatalogChoice(None, f"no {domain} items imported")
    if domain in getattr(db, _CHOSEN, {}):
        why = "chosen with --dataset"
    elif os.environ.get(ENV) == active:
        why = f"chosen with ${ENV}"
    elif others:
        why = "the largest in the store"
    else:
        why = "the only one in the store"
    return CatalogChoice(info, why, others)


def scope(db: sqlite_utils.Database, domain: str) -> str | None:
    """The dataset whose items make up the domain's active catalog (None: the domain has no items)."""
    chosen = getattr(db, _CHOSEN, {})
    if domain in chosen:
        return chosen[domain]
    pinned = getattr(db, _PINNED, {})
    if domain in pinned:
        return pinned[domain]
    (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()
    cached = getattr(db, _DEFAULT, {}).get(domain)
    env = os.environ.get(ENV)
    if cached is not None and cached[0] == top and cached[1] == env:
        return cached[2]
    known = catalogs(db, domain)
    names = [c.dataset for c in known]
    dataset = env if env in names else (names[0] if names else None)
    defaults = dict(getattr(db, _DEFAULT, {}))
    defaults[domain] = (top, env, dataset)
    setattr(db, _DEFAULT, defaults)
    return dataset


def item_where(db: sqlite_utils.Database, domain: str, alias: str = "") -> tuple[str, list]:
    """SQL that keeps the items of the domain's active catalog, and its parameters."""
    col = f"{alias}." if alias else ""
    return f"{col}domain = ? AND {col}source = ?", [domain, scope(db, domain) or ""]
