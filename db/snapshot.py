"""One read of a domain for the evaluations and fits: ratings as arrays, per-user timelines, the catalog.

`engine eval`, `eval-catalog` and `stack fit` read the store once through this and compute on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlite_utils

from .catalog import catalog_items
from .catalogs import scope
from .feedback import Feedback, current_ratings, timelines
from .types import Interaction, Item


@dataclass(frozen=True)
class DomainSnapshot:
    domain: str
    ratings: Feedback  # current ratings, as arrays
    timelines: dict[int, list[Interaction]]  # per user, time order
    items: dict[int, Item]  # the catalog, id order
    dataset: str | None = None  # which catalog of the domain (db.catalogs): stacks are fitted per catalog

    @property
    def catalog(self) -> np.ndarray:
        return np.array(list(self.items), dtype=np.int64)


def read_domain(db: sqlite_utils.Database, domain: str) -> DomainSnapshot:
    return DomainSnapshot(domain, current_ratings(db, domain), timelines(db, domain), catalog_items(db, domain),
                          scope(db, domain))
