"""How like each other any two films of a catalog are, rated or not: what the learned ranker's content
channel and features read (engine.rank.channels, engine.rank.ltr_features).

Why a second reader of content.py's features rather than the cold map: the cold map answers one question
(which rated columns stand for a film nobody rated) once per fit; the ranker asks, per request, how close
every film is to the films this person liked or named ("something like X"), whether it shares their people
or franchise, and how well its genres fit the genres they like. Same similarity (content.feature_matrix,
the weights chosen in bench/new_films.py), read directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from db.knowledge import FilmFacts

from .content import CAST_BILLED, ContentWeights, feature_matrix, series_key

MAX_SOURCES = 200  # the most recent likes a request's similarities read (a 2,000-film history would cost 10x)


@dataclass(frozen=True)
class ContentIndex:
    """Every film's content row (unit length) and the few facts the ranker compares directly."""

    item_ids: np.ndarray  # sorted store ids; row k is item_ids[k]
    rows: sp.csr_matrix  # content.feature_matrix: cosine = rows @ rows.T
    genres: sp.csr_matrix  # binary films x genres
    genre_names: tuple[str, ...]
    people: sp.csr_matrix  # binary films x people (directors, writers, top-billed cast)
    series: np.ndarray  # franchise code per film (content.series_key), -1 for none
    years: np.ndarray  # float, NaN unknown
    votes: np.ndarray  # IMDb votes, NaN unknown

    @classmethod
    def build(cls, films: list[FilmFacts], weights: ContentWeights = ContentWeights()) -> "ContentIndex":
        films = sorted(films, key=lambda f: f.item_id)
        if not films:  # a catalog with nothing in it yet: an index that finds nothing
            empty = sp.csr_matrix((0, 1))
            return cls(np.zeros(0, np.int64), empty, empty, (), empty, np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        names = sorted({g for f in films for g in f.genres})
        col = {g: k for k, g in enumerate(names)}
        genres = _binary([[col[g] for g in f.genres] for f in films], len(names))
        pcol: dict[int, int] = {}
        people = [[pcol.setdefault(p, len(pcol)) for role, p, order in f.people
                   if role != "cast" or order <= CAST_BILLED] for f in films]
        keys: dict[str, int] = {}
        series = np.array([keys.setdefault(k, len(keys)) if (k := series_key(f.title)) else -1 for f in films])
        return cls(np.array([f.item_id for f in films], dtype=np.int64), feature_matrix(films, weights).tocsr(),
                   genres, tuple(names), _binary(people, len(pcol)), series.astype(np.int64),
                   np.array([f.year if f.year is not None else np.nan for f in films], dtype=np.float64),
                   np.array([f.imdb_votes if f.imdb_votes else np.nan for f in films], dtype=np.float64))

    def positions(self, ids) -> np.ndarray:
        """Row of each store id, -1 where the index has none."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(self.item_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.item_ids, ids), len(self.item_ids) - 1)
        return np.where(self.item_ids[pos] == ids, pos, -1)

    def _rows(self, ids) -> np.ndarray:
        pos = self.positions(ids)
        return pos[pos >= 0]

    def similarity(self, targets, sources) -> tuple[np.ndarray, np.ndarray]:
        """(max, mean) content cosine of each target to the `sources` (the last MAX_SOURCES of them); 0 without."""
        t, s = self.positions(targets), self._rows(list(sources)[-MAX_SOURCES:])
        out_max, out_mean = np.zeros(len(t)), np.zeros(len(t))
        if not len(s):
            return out_max, out_mean
        known = t >= 0
        sims = (self.rows[t[known]] @ self.rows[s].T).toarray()
        out_max[known], out_mean[known] = sims.max(axis=1), sims.mean(axis=1)
        return out_max, out_mean

    def genre_affinity(self, targets, sources) -> np.ndarray:
        """Cosine between each target's genres and the genre counts of the `sources` (the "liked genres"
        baseline of bench/new_films.py, as a feature)."""
        t, s = self.positions(targets), self._rows(sources)
        out = np.zeros(len(t))
        if not len(s):
            return out
        profile = np.asarray(self.genres[s].sum(axis=0)).ravel()
        norm = np.linalg.norm(profile)
        known = t >= 0
        g = self.genres[t[known]]
        sizes = np.sqrt(np.asarray(g.sum(axis=1)).ravel())
        out[known] = np.divide(g @ profile, sizes * norm, out=np.zeros(len(sizes)), where=sizes > 0)
        return out

    def has_genre(self, targets, wanted: tuple[str, ...]) -> np.ndarray:
        """1 where a target has one of the `wanted` genres."""
        cols = [k for k, g in enumerate(self.genre_names) if g in wanted]
        t = self.positions(targets)
        out = np.zeros(len(t))
        if cols:
            known = t >= 0
            out[known] = (np.asarray(self.genres[t[known]][:, cols].sum(axis=1)).ravel() > 0)
        return out

    def shared_people(self, targets, sources) -> np.ndarray:
        """How many of the `sources` share a director, writer or top-billed actor with each target."""
        t, s = self.positions(targets), self._rows(sources)
        out = np.zeros(len(t))
        if not len(s) or not self.people.shape[1]:
            return out
        known = t >= 0
        out[known] = np.asarray(((self.people[t[known]] @ self.people[s].T) > 0).sum(axis=1)).ravel()
        return out

    def same_series(self, targets, sources) -> np.ndarray:
        """How many of the `sources` are of the franchise each target's title names (Dune: Part Two -> Dune)."""
        t, s = self.positions(targets), self._rows(sources)
        out = np.zeros(len(t))
        keys = self.series[s]
        keys = keys[keys >= 0]
        if not len(keys):
            return out
        counts = np.bincount(keys, minlength=int(self.series.max()) + 1)
        known = t >= 0
        codes = self.series[t[known]]
        out[known] = np.where(codes >= 0, counts[np.maximum(codes, 0)], 0)
        return out

    def year_of(self, targets) -> np.ndarray:
        t = self.positions(targets)
        return np.where(t >= 0, self.years[np.maximum(t, 0)], np.nan)

    def votes_of(self, targets) -> np.ndarray:
        t = self.positions(targets)
        return np.where(t >= 0, self.votes[np.maximum(t, 0)], np.nan)


def _binary(cols: list[list[int]], width: int) -> sp.csr_matrix:
    rows = [r for r, cs in enumerate(cols) for _ in cs]
    flat = [c for cs in cols for c in cs]
    m = sp.csr_matrix((np.ones(len(flat)), (rows, flat)), shape=(len(cols), max(width, 1)))
    m.data[:] = 1.0  # a person in two roles counts once
    return m
