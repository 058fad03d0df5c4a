"""Why a film is where it is in the list: the learned ranker's own parts of its score.

The ranker's score splits exactly into one part per feature plus a constant (LightGBM's pred_contrib,
TreeSHAP): each part is what that feature moved this film's score from an average candidate's. A reason is a
group of features (engine.rank.ltr_features.GROUPS), its effect the sum of their parts, so the reasons and
the constant add up to the score that ordered the list, and each sign is its real effect.

The collaborative, seed and dislike parts are sums over the films the person rated or named (EASE's weight
B[i, j] of each), so each part is split among those films in proportion to their weights: the films a
person can check are named, and a film they said they loved in this conversation is named as liked, not as
something asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from db.types import Interaction, Item
from engine.collab.model import CollabModel

from .ltr_features import GROUPS
from .stack import Table

PERSONAL = ("liked", "disliked", "seed", "word")
MIXED = 0.1  # weights whose sum is below this share of their absolute sum are split by size, not by sign
NONE_OF = {"liked": "having no likes yet", "seed": "naming no film", "disliked": "having no dislikes"}
CHANNEL_NAMES = {"ch_collab": "people with your taste", "ch_seeds": "what you named", "ch_content": "its content",
                 "ch_words": "your words", "ch_popular": "what is rated lately"}


@dataclass(frozen=True)
class Reason:
    kind: str  # "liked", "disliked", "seed", "word", "content", "recency", "popularity", "channel", "you"
    what: str  # the film or word a person recognises, or the signal
    effect: float  # its part of the ranker's score: > 0 pulls the film up
    detail: str = ""

    def words(self) -> str:
        way = "raises" if self.effect > 0 else "lowers"
        if self.kind in ("liked", "disliked"):
            return f"that you {self.kind} {self.what} {way} it"
        if self.kind == "seed":
            return f"that you asked for something like {self.what} {way} it"
        if self.kind == "word":
            return f"you asked for '{self.what}'{self.detail}: that {way} it"
        return f"{self.what}{self.detail} {way} it"


@dataclass(frozen=True)
class Why:
    item: Item
    reasons: list[Reason]  # what the person did or said first, then the film's own signals; strongest first
    ordered_by: str  # which ranker ordered the list, in words
    p_like: float | None = None
    base: float = 0.0  # the ranker's constant: base + every reason's effect = the score that ordered the list

    @property
    def score(self) -> float:
        return self.base + sum(r.effect for r in self.reasons)

    def sentence(self, n: int = 4) -> str:
        head = f"{self.item.name}" + (f" (P(like) {self.p_like:.2f})" if self.p_like is not None else "") + ": "
        shown = [r for r in self.reasons if abs(r.effect) > 1e-9][:n]
        if not shown:
            return head + f"{self.ordered_by}; nothing you rated or asked for moves it."
        ups = [r for r in shown if r.effect > 0]
        downs = [r for r in shown if r.effect < 0]
        parts = [r.words() for r in ups + downs]
        return head + f"{self.ordered_by}. " + "; ".join(p[:1].upper() + p[1:] if k == 0 else p
                                                         for k, p in enumerate(parts)) + "."


def split(total: float, weights: np.ndarray) -> np.ndarray:
    """`total` shared among sources by their weights, exactly (the shares sum to it)."""
    weights = np.asarray(weights, dtype=np.float64)
    if not len(weights) or not total:
        return np.zeros(len(weights))
    size = np.abs(weights).sum()
    if size == 0:
        return np.full(len(weights), total / len(weights))
    if abs(weights.sum()) < MIXED * size:
        return total * np.abs(weights) / size
    return total * weights / weights.sum()


def _films(kind: str, total: float, ids: list[int], item_id: int, collab: CollabModel, names: dict[int, str],
           liked: set[int]) -> list[Reason]:
    if not ids:  # the part of having none (a missing value is a value the trees split on)
        return [Reason("you", NONE_OF[kind], total)] if total else []
    shares = split(total, collab.pair_weights(ids, item_id))
    out = []
    for i, share in zip(ids, shares):
        own = "liked" if kind == "seed" and i in liked else kind  # said loved in this conversation: liked
        out.append(Reason(own, names.get(i, f"item {i}"), float(share)))
    return out


def merged(reasons: list[Reason]) -> list[Reason]:
    """One reason per film and kind: a film liked and named as the seed has one part, their sum."""
    out: dict[tuple[str, str, str], Reason] = {}
    for r in reasons:
        key = (r.kind, r.what, r.detail)
        out[key] = Reason(r.kind, r.what, out[key].effect + r.effect, r.detail) if key in out else r
    return list(out.values())


def _asked(row: Table, feature: str) -> bool:
    """The request had this (its feature is a number, not the NaN of "not asked")."""
    return bool(np.isfinite(np.asarray(row[feature], dtype=np.float64)[0]))


def _value(row: Table, feature: str) -> float:
    v = float(np.asarray(row[feature])[0])
    return v if math.isfinite(v) else 0.0


def reasons_for(item: Item, row: Table, parts: dict[str, float], collab: CollabModel, history: list[Interaction], *,
                seeds: tuple[int, ...] = (), words=(), names: dict[int, str] | None = None,
                ordered_by: str = "ordered by the learned ranker", p_like: float | None = None) -> Why:
    """The reasons of `item`'s place: `row` its feature row, `parts` the ranker's contributions to its score
    (engine.rank.served.Order.contributions), `history` the ratings the request read, `seeds` what it named."""
    names = {**{h.item_id: h.name for h in history}, **(names or {})}
    liked = [h.item_id for h in history if h.liked]
    disliked = [h.item_id for h in history if not h.liked]
    group = {g: sum(parts.get(f, 0.0) for f in feats) for g, feats in GROUPS.items()}
    out: list[Reason] = []
    out += _films("liked", group["collab"], liked[-200:], item.id, collab, names, set(liked))
    out += _films("seed", group["seeds"], list(seeds), item.id, collab, names, set(liked))
    out += _films("disliked", group["dislikes"], disliked, item.id, collab, names, set(liked))
    detail = (" (same series)" if _value(row, "same_series") > 0 else
              " (it shares people with them)" if _value(row, "shared_people") > 0 else "")
    out.append(Reason("content", "how like the films you liked it is", group["content"], detail))
    words_part = parts.get("words", 0.0)
    if words_part and _asked(row, "words"):
        matches = _value(row, "words")
        out.append(Reason("word", ", ".join(words) or "your words", words_part,
                          " (it matches)" if matches > 0 else " (it does not match)"))
    elif words_part:  # no describing words: the part of their absence (a missing value the trees split on)
        out.append(Reason("you", "that you used no describing words", words_part))
    if parts.get("genre_match", 0.0) and _asked(row, "genre_match"):
        out.append(Reason("content", "the genre you asked for", parts["genre_match"],
                          " (it has it)" if _value(row, "genre_match") > 0 else " (it lacks it)"))
    elif parts.get("genre_match", 0.0):
        out.append(Reason("you", "that you asked for no genre", parts["genre_match"]))
    recent = math.expm1(_value(row, "recent_log"))
    out.append(Reason("recency", "how much it was rated lately and when it came out", group["time"],
                      f" ({recent:,.0f} ratings in the last year)"))
    count = math.expm1(_value(row, "log_count"))
    out.append(Reason("popularity", "how widely it is rated", group["popularity"],
                      f" (about {count:,.0f} ratings)" if count else " (nobody rated it yet)"))
    found = [CHANNEL_NAMES[f] for f in GROUPS["channels"] if _value(row, f) > 0]
    out.append(Reason("channel", "how it was found", group["channels"], f" ({', '.join(found)})" if found else ""))
    out.append(Reason("you", "how much you have rated and liked", group["user"]))
    out = [r for r in merged(out) if r.effect or r.kind in PERSONAL]
    # What the person did or said comes first (the films and words they can check), strongest first; then
    # the signals about the film itself. Each keeps its own size and sign.
    out.sort(key=lambda r: (r.kind not in PERSONAL, -abs(r.effect)))
    return Why(item, out, ordered_by, p_like, parts.get("bias", 0.0))
