"""The learned ranker's features: one row per film of a request, every signal the order may use.

Why every feature over every eligible film (not only the candidates): the channels (engine.rank.channels)
choose their candidates by these same columns, a rank among the eligible films (`ease_rank`) needs all of
them, and over a 10,000-film catalog the whole table costs a few tens of milliseconds. Features that do not
apply to a request (no seeds, no words, no likes) are NaN: LightGBM learns a direction for missing values,
so "no seed" is not read as "a seed that scores 0". Dislikes act once, here, as their own feature.
"""

from __future__ import annotations

import numpy as np

from .signals import DAY, Ask, Signals
from .stack import Table, shrunk_share

RECENT_LIKES = 10  # the likes `ease_recent` reads: the newest, as the stack's window
GROUPS: dict[str, tuple[str, ...]] = {
    "collab": ("ease_likes", "ease_rank", "ease_recent"),
    "seeds": ("ease_seeds", "seed_content"),
    "dislikes": ("ease_dislikes",),
    "content": ("content_max", "content_mean", "genre_affinity", "same_series", "shared_people"),
    "request": ("words", "genre_match"),
    "time": ("year_gap", "age_years", "first_rated_days", "recent_log", "recent_rank"),
    "popularity": ("log_count", "count_rank", "log_votes", "est_popularity", "like_rate", "no_ratings"),
    "channels": ("ch_collab", "ch_seeds", "ch_content", "ch_words", "ch_popular"),
    "user": ("history_size", "like_share", "taste_popularity"),
}
FEATURES: tuple[str, ...] = tuple(f for group in GROUPS.values() for f in group)
LATER = ("llm_logit",)  # the LLM's P(Yes) logit: a slot for a later fit (not in FEATURES until it is measured)


def _per(scores: np.ndarray, n: int) -> np.ndarray:
    """A collaborative sum per source film, NaN without sources: comparable across history sizes."""
    return scores / n if n else np.full(len(scores), np.nan)


def _rank(values: np.ndarray) -> np.ndarray:
    """log(1 + rank) of each value among the request's eligible films (0 = best), NaN where the values are:
    comparable across requests and cuts where the raw values are not."""
    out = np.full(len(values), np.nan)
    ok = ~np.isnan(values)
    order = np.argsort(-values[ok], kind="stable")
    ranks = np.empty(int(ok.sum()))
    ranks[order] = np.arange(len(order))
    out[ok] = np.log1p(ranks)
    return out


def _years(at: float) -> float:
    return 1970.0 + at / (365.25 * DAY)


def film_table(signals: Signals, ask: Ask, ids) -> Table:
    """Every feature (but the channel flags, which engine.rank.channels adds) of each of `ids` for `ask`."""
    ids = np.asarray(ids, dtype=np.int64)
    model, content, n = signals.collab, signals.content, len(ids)
    liked, seeds, disliked = list(ask.liked), list(ask.seeds), list(ask.disliked)
    recent = liked[-RECENT_LIKES:]
    ease_likes = _per(model.ease_scores(liked, ids), len(liked))
    nan = np.full(n, np.nan)
    c_max, c_mean = content.similarity(ids, liked) if liked else (nan, nan)
    counts = model.rating_counts(ids)
    years = content.year_of(ids)
    liked_years = content.year_of(liked) if liked else np.zeros(0)
    liked_years = liked_years[~np.isnan(liked_years)]
    first, recent_count = signals.recency.lookup(ids)
    votes = content.votes_of(ids)
    return {
        "ids": ids,
        "ease_likes": ease_likes,
        "ease_rank": _rank(ease_likes),
        "ease_recent": _per(model.ease_scores(recent, ids), len(recent)),
        "ease_seeds": _per(model.ease_scores(seeds, ids), len(seeds)),
        "seed_content": content.similarity(ids, seeds)[0] if seeds else nan,
        "ease_dislikes": _per(model.ease_scores(disliked, ids), len(disliked)) if disliked else np.zeros(n),
        "content_max": c_max,
        "content_mean": c_mean,
        "genre_affinity": content.genre_affinity(ids, liked + seeds) if liked or seeds else nan,
        "same_series": content.same_series(ids, liked + seeds),
        "shared_people": content.shared_people(ids, liked + seeds),
        "words": np.asarray(ask.relevance(ids), dtype=np.float64) if ask.relevance is not None else nan,
        "genre_match": content.has_genre(ids, ask.genres) if ask.genres else nan,
        "year_gap": np.abs(years - np.median(liked_years)) if len(liked_years) else nan,
        "age_years": _years(ask.at) - years,
        "first_rated_days": (ask.at - first) / DAY,
        "recent_log": np.log1p(recent_count),
        "recent_rank": _rank(recent_count),  # ranks: a 2010 cut saw fewer ratings a month than a 2017 one
        "log_count": np.log1p(counts),
        "count_rank": _rank(counts),
        "log_votes": np.log1p(votes),
        "est_popularity": model.popularity(ids),
        "like_rate": model.like_rate(ids),
        "no_ratings": (counts == 0).astype(np.float64),
        "history_size": np.full(n, np.log1p(ask.rated)),
        "like_share": np.full(n, shrunk_share(len(liked), ask.rated, model.global_rate)),
        # how mainstream the person's likes are: beside a film's popularity, whether the popular pick suits them
        "taste_popularity": np.full(n, model.popularity(liked).mean() if liked else np.nan),
    }


def take(table: Table, rows: np.ndarray) -> Table:
    """The table's rows at `rows` (positions or a mask)."""
    return {k: v[rows] for k, v in table.items()}


def matrix(table: Table, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The model's input: one column per feature, in the order the ranker was fitted with."""
    return np.column_stack([np.asarray(table[f], dtype=np.float64) for f in features]) if len(table["ids"]) \
        else np.zeros((0, len(features)))
