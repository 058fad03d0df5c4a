"""Why a film is where it is in the list: the parts of the score that ordered it, from the model that did.

The order is the rank head's logistic regression over the stack's inputs (engine.rank.stack), times the
support term, plus the describing words' relevance. The head's probabilities are small (a few percent),
where its logit is close to log(key): the support term and the words are put in those units. The
logit is a sum, so it splits exactly:

    z = b + Σ_f c_f (x_f - mean_f) / scale_f

and the collaborative inputs are themselves sums over the person's rated films (EASE's B[i, j], or ALS in
the same item-item form): `ease_all` = Σ_{liked i} B[i, j] / n, `ease_liked` and `ease_disliked` the
same over the ratings the prompt shows. So each rated film's part of z is exact, and so is the LLM's
(its logit is one input). A reason's sign is the sign of its part: removing it moves the film the
other way (tests/test_reasons.py checks that on real rankings). Inputs that are the same for every
candidate (the person's like-share) order nothing and are not reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from db.feedback import HISTORY_WINDOW
from db.types import Interaction, Item
from engine.collab.model import CollabModel

from .recommend import support
from .retrieval import WORD_BOOST
from .stack import Reranker, Stack, feature_table, with_logits


PERSONAL = ("liked", "disliked", "seed", "word")


@dataclass(frozen=True)
class Reason:
    kind: str  # "liked", "disliked", "seed", "word", "others", "popularity", "llm", "support"
    what: str  # the film or word a person recognises, or the signal
    effect: float  # its part of the ordering logit: > 0 pulls the film up
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
    reasons: list[Reason]  # strongest first
    ordered_by: str  # which head ordered the list, in words
    p_like: float | None = None

    def sentence(self, n: int = 4) -> str:
        head = f"{self.item.name}" + (f" (P(like) {self.p_like:.2f})" if self.p_like is not None else "") + ": "
        if not self.reasons:
            return head + f"{self.ordered_by}; nothing you rated or asked for moves it."
        ups = [r for r in self.reasons[:n] if r.effect > 0]
        downs = [r for r in self.reasons[:n] if r.effect < 0]
        parts = [r.words() for r in ups + downs]
        return head + f"{self.ordered_by}. " + "; ".join(p[:1].upper() + p[1:] if k == 0 else p
                                                         for k, p in enumerate(parts)) + "."


def _stack_part(stack: Stack, feature: str, value: float) -> float:
    if feature not in stack.features:
        return 0.0
    k = stack.features.index(feature)
    return stack.coef[k] * (value - stack.mean[k]) / stack.scale[k]


def _per_unit(stack: Stack, feature: str) -> float:
    if feature not in stack.features:
        return 0.0
    k = stack.features.index(feature)
    return stack.coef[k] / stack.scale[k]


def reasons_for(item: Item, collab: CollabModel, stack: Reranker | None, history: list[Interaction], *,
                llm_logit: float | None = None, seeds: tuple[int, ...] = (), relevance: float = 0.0,
                words: list[str] = (), names: dict[int, str] | None = None) -> Why:
    """The parts of `item`'s place in a list ranked for `history` (the history the prompt showed)."""
    names = names or {h.item_id: h.name for h in history}
    recent = history[-HISTORY_WINDOW:]
    w_liked = [h.item_id for h in recent if h.liked]
    w_disliked = [h.item_id for h in recent if not h.liked]
    all_liked = [h.item_id for h in history if h.liked]
    ease_from = list(seeds) or all_liked
    table = feature_table(collab, w_liked, w_disliked, [item.id], all_liked=all_liked,
                          all_disliked=[h.item_id for h in history if not h.liked], ease_from=list(seeds) or None)
    head = stack.rank if stack is not None and stack.rank is not None else None
    out: list[Reason] = []
    if head is None or (not seeds and not all_liked):
        ordered_by = ("ordered by the collaborative model" if all_liked or seeds else
                      "ordered by how many people rated it (you have no likes yet)")
        per = {i: 1.0 for i in ease_from}  # retrieval: the collaborative score itself
        for i, wgt in zip(ease_from, collab.pair_weights(ease_from, item.id)):
            if wgt:
                out.append(Reason("seed" if seeds else "liked", names.get(i, f"item {i}"), float(wgt) * per[i]))
    else:
        ordered_by = "ordered by the model's stack (P(among your next likes))"
        parts: dict[int, float] = {}
        for feature, ids in (("ease_all", ease_from), ("ease_liked", w_liked), ("ease_disliked", w_disliked)):
            unit = _per_unit(head, feature)
            if not unit or not ids:
                continue
            for i, wgt in zip(ids, collab.pair_weights(ids, item.id)):
                parts[i] = parts.get(i, 0.0) + unit * float(wgt) / len(ids)
        liked_set = set(all_liked)
        for i, effect in parts.items():
            kind = "seed" if i in seeds else "liked" if i in liked_set else "disliked"
            out.append(Reason(kind, names.get(i, f"item {i}"), effect))
        rate = float(table["item_like_rate"][0])
        out.append(Reason("others", "how the others who rated it liked it", _stack_part(head, "item_like_rate", rate),
                          f" ({rate:.0%})"))
        pop = float(table["log_popularity"][0])
        out.append(Reason("popularity", "how widely it is rated", _stack_part(head, "log_popularity", pop),
                          f" (about {math.expm1(pop):,.0f} ratings)"))
        if llm_logit is not None and head.uses_llm:
            p = 1.0 / (1.0 + math.exp(-llm_logit))
            out.append(Reason("llm", "the LLM's P(Yes)", _stack_part(head, "llm_logit", llm_logit), f" ({p:.2f})"))
        s = float(support(np.array([pop]))[0])
        if s < 0.9:  # the support term: a rarely rated film cannot lead a list
            out.append(Reason("support", "that few people rated it", math.log(max(s, 1e-9)), ""))
    if relevance:  # the order adds WORD_BOOST x the best key x relevance: in log-key units about log(1 + 2r)
        effect = math.copysign(math.log1p(WORD_BOOST * abs(relevance)), relevance)
        out.append(Reason("word", ", ".join(words) or "your words", effect,
                          " (it matches)" if relevance > 0 else " (it matches what you said not to want)"))
    out = [r for r in out if abs(r.effect) > 1e-9]
    # What the person did or said comes first (the films and words they can check), strongest first; then
    # the signals about the film itself. Each keeps its own size and sign.
    out.sort(key=lambda r: (r.kind not in PERSONAL, -abs(r.effect)))
    p_like = None
    if stack is not None:
        t = with_logits(table, [llm_logit if llm_logit is not None else 0.0])
        p_like = float(stack.p_like(t)[0])
    return Why(item, out, ordered_by, p_like)
