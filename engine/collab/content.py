"""Films nobody rated, placed in the collaborative model's item space by what they are.

A film the collaborative model never saw has no column: EASE's weights and ALS's factors come from
ratings. What the store knows of it (genres, tags or genome, people, year, runtime, the franchise its
title names) does exist, so each such film borrows the columns of the rated films most like it:

    B[:, new] ≈ Σ_n w_n B[:, n]  over its K nearest rated films n (cosine over the content features)

so a person's score for it is the weighted mean of their scores for those neighbours, "more like X"
reads X's weights to the neighbours, and the stack's collaborative features follow. The weights are
sim^POWER, normalised, then shrunk by the evidence (mean sim / (mean sim + SHRINK)): a film like nothing rated
stays near zero rather than borrowing one weak neighbour's score at full strength.

Why neighbours rather than a learned map (LightFM-style item features, a ridge regression from features
to factors): the map is exact for EASE and ALS alike (both are sums over item columns), needs no
training loop or extra dependency, and explains itself ("like Dune and Arrival, which you liked").
Group weights, K and POWER were chosen on an earlier time window than the one bench/new_films.py reports
(docs/results.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from db.knowledge import FilmFacts

GROUPS = ("genres", "tags", "genome", "people", "year", "title", "runtime")
K = 40
POWER = 2.0
SHRINK = 0.05
YEAR_SCALE = 6.0  # years: two films this far apart share exp(-1) of the year feature
CAST_BILLED = 5  # cast members that count: the top of the billing
_ARTICLE = re.compile(r"^(?P<rest>.*?), (?P<art>the|a|an|les|la|le|l'|il|el|die|der|das)$", re.I)
_SERIES_CUT = re.compile(r"\s*(?::| - |\b(?:part|chapter|episode|vol\.?|volume)\b|\b\d+\b|\b[ivx]{1,4}\b$).*$", re.I)
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset("the a an of and in on at to for with from by part chapter episode vol volume".split())


@dataclass(frozen=True)
class ContentWeights:
    """How much each group of features counts in the similarity (0 leaves a group out: the ablations)."""

    genres: float = 1.0
    tags: float = 1.0
    genome: float = 1.0
    people: float = 1.0
    year: float = 1.0
    title: float = 4.0
    runtime: float = 0.3

    def without(self, group: str) -> "ContentWeights":
        return ContentWeights(**{g: (0.0 if g == group else getattr(self, g)) for g in GROUPS})


def _bare(title: str) -> str:
    """The title without a trailing article ("Dark Knight, The") or an alternate title in parentheses."""
    t = re.sub(r"\s*\([^)]*\)\s*$", "", title.strip())
    m = _ARTICLE.match(t)
    return m.group("rest") if m else t


def series_key(title: str) -> str:
    """The franchise a title names: "Dune: Part Two" and "Dune" -> "dune"; "Dark Knight Rises, The" ->
    "dark knight rises"; "Toy Story 3" -> "toy story"; a number that starts the title stays ("12 Angry Men")."""
    t = _bare(title).lower()
    first = re.match(r"\s*\S+", t)
    head = first.group(0) if first else ""
    t = head + _SERIES_CUT.sub("", t[len(head):])
    return " ".join(w for w in _WORD.findall(t) if w not in _STOP)


def title_words(title: str) -> list[str]:
    return [w for w in _WORD.findall(_bare(title).lower()) if w not in _STOP and not w.isdigit()]


@dataclass
class _Vocab:
    index: dict[str, int] = field(default_factory=dict)

    def col(self, key: str) -> int:
        return self.index.setdefault(key, len(self.index))


def _block(films: list[FilmFacts], cells) -> sp.csr_matrix:
    """One group's rows, L2-normalised: `cells(film)` yields (feature key, value)."""
    vocab, rows, cols, vals = _Vocab(), [], [], []
    for r, film in enumerate(films):
        for key, value in cells(film):
            if value:
                rows.append(r)
                cols.append(vocab.col(key))
                vals.append(float(value))
    m = sp.csr_matrix((vals, (rows, cols)), shape=(len(films), max(len(vocab.index), 1)))
    m.sum_duplicates()
    return _normalize(m)


def _normalize(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows to unit length; sklearn is imported here, not at load: a chat that only reads the cache skips 0.7 s."""
    from sklearn.preprocessing import normalize

    return normalize(m)


def _idf(films: list[FilmFacts], keys_of) -> dict[str, float]:
    """Inverse document frequency over the films: rare tags, people and title words tell more."""
    df: dict[str, int] = {}
    for film in films:
        for k in set(keys_of(film)):
            df[k] = df.get(k, 0) + 1
    n = len(films)
    return {k: math.log((1 + n) / (1 + d)) + 1.0 for k, d in df.items()}


def _year_cells(film: FilmFacts):
    if film.year is None:
        return
    for center in range(1900, 2041, 3):
        w = math.exp(-((film.year - center) / YEAR_SCALE) ** 2)
        if w > 0.05:
            yield f"y{center}", w


def _runtime_cells(film: FilmFacts):
    if film.runtime:
        for center in range(60, 241, 15):
            w = math.exp(-((film.runtime - center) / 20.0) ** 2)
            if w > 0.05:
                yield f"r{center}", w


def _people_keys(film: FilmFacts):
    for role, person, ordering in film.people:
        if role != "cast" or ordering <= CAST_BILLED:
            yield f"{role[0]}{person}"


def _people_cells(idf):
    def cells(film: FilmFacts):
        for role, person, ordering in film.people:
            if role == "cast" and ordering > CAST_BILLED:
                continue
            strength = {"director": 1.0, "writer": 0.7}.get(role, 1.0 / (1.0 + 0.25 * max(ordering - 1, 0)))
            yield f"{role[0]}{person}", strength * idf.get(f"{role[0]}{person}", 1.0)
    return cells


def _title_cells(idf):
    def cells(film: FilmFacts):
        key = series_key(film.title)
        if key:
            yield f"s:{key}", 2.0
        for w in sorted(set(title_words(film.title))):  # a column order that does not follow string hashing
            yield f"w:{w}", idf.get(w, 1.0)
    return cells


def feature_matrix(films: list[FilmFacts], weights: ContentWeights = ContentWeights()) -> sp.csr_matrix:
    """Rows: films (the order given); each group normalised, weighted by sqrt(weight), the row normalised."""
    tag_idf = _idf(films, lambda f: f.tags)
    people_idf = _idf(films, lambda f: list(_people_keys(f)))
    word_idf = _idf(films, lambda f: title_words(f.title))
    makers = {
        "genres": lambda f: ((g, 1.0) for g in f.genres),
        "tags": lambda f: ((t, math.log1p(c) * tag_idf[t]) for t, c in f.tags.items()),
        "genome": lambda f: f.genome.items(),
        "people": _people_cells(people_idf),
        "year": _year_cells,
        "title": _title_cells(word_idf),
        "runtime": _runtime_cells,
    }
    blocks = [math.sqrt(getattr(weights, g)) * _block(films, makers[g]) for g in GROUPS if getattr(weights, g) > 0]
    return _normalize(sp.hstack(blocks, format="csr"))


@dataclass(frozen=True)
class ColdMap:
    """Each film without a column: its store id, its K neighbours' columns and their weights (rows sum to the
    evidence shrink, at most 1), and the popularity it is given (log(1 + ratings) estimated)."""

    item_ids: np.ndarray  # (n_cold,)
    neighbours: np.ndarray  # (n_cold, K) columns of the collaborative model
    weights: np.ndarray  # (n_cold, K) float32
    popularity: np.ndarray  # (n_cold,) log1p of the ratings it is estimated to draw

    @classmethod
    def empty(cls, k: int = K) -> "ColdMap":
        return cls(np.zeros(0, np.int64), np.zeros((0, k), np.int64), np.zeros((0, k), np.float32), np.zeros(0))

    def __len__(self) -> int:
        return len(self.item_ids)


def fit_cold_map(films: list[FilmFacts], rated_ids: np.ndarray, rated_popularity: np.ndarray,
                 weights: ContentWeights = ContentWeights(), k: int = K, power: float = POWER,
                 shrink: float = SHRINK, chunk: int = 2000) -> ColdMap:
    """Neighbours among the rated films (the collaborative model's columns, `rated_ids` in column order) for
    every film of `films` that has no column. Popularity: IMDb votes where known (mapped onto the rating
    counts of rated films with votes, a least-squares line in log space), else the neighbours' weighted mean."""
    col_of = {int(i): c for c, i in enumerate(rated_ids)}
    rated_rows = [f for f in films if f.item_id in col_of]
    cold = [f for f in films if f.item_id not in col_of]
    if not cold or not rated_rows:
        return ColdMap.empty(k)
    X = feature_matrix(rated_rows + cold, weights)
    R, C = X[:len(rated_rows)], X[len(rated_rows):]
    rated_cols = np.array([col_of[f.item_id] for f in rated_rows], dtype=np.int64)
    k = min(k, len(rated_rows))
    nbrs = np.zeros((len(cold), k), dtype=np.int64)
    wts = np.zeros((len(cold), k), dtype=np.float32)
    RT = R.T.tocsc()
    for start in range(0, len(cold), chunk):
        sims = (C[start:start + chunk] @ RT).toarray()
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        s = np.take_along_axis(sims, top, axis=1).clip(min=0.0)
        w = s ** power
        total = w.sum(axis=1, keepdims=True)
        evidence = s.mean(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0) * (evidence / (evidence + shrink))
        nbrs[start:start + chunk] = rated_cols[top]
        wts[start:start + chunk] = w
    pop = (wts * rated_popularity[nbrs]).sum(axis=1) / np.maximum(wts.sum(axis=1), 1e-9)
    pop = _votes_popularity(films, col_of, rated_popularity, cold, pop)
    return ColdMap(np.array([f.item_id for f in cold], dtype=np.int64), nbrs, wts, pop)


def _votes_popularity(films, col_of, rated_popularity, cold, fallback) -> np.ndarray:
    """log1p(ratings) from IMDb votes, on the line rated films with votes draw (at least 20 of them)."""
    pairs = [(math.log1p(f.imdb_votes), rated_popularity[col_of[f.item_id]]) for f in films
             if f.item_id in col_of and f.imdb_votes]
    if len(pairs) < 20:
        return fallback
    x, y = np.array(pairs).T
    slope, intercept = np.polyfit(x, y, 1)
    votes = np.array([math.log1p(f.imdb_votes) if f.imdb_votes else np.nan for f in cold])
    return np.where(np.isnan(votes), fallback, np.clip(slope * votes + intercept, 0.0, None))
