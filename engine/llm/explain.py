""""Why this item?": leave-one-out over the ratings the prompt shows, scored by the same scorer."""

from __future__ import annotations

from dataclasses import dataclass

from db.feedback import HISTORY_WINDOW
from db.scoring import Scorer
from db.types import Interaction, Item


@dataclass(frozen=True)
class Influence:
    rating: Interaction
    delta: float  # P(Yes) with the rating minus P(Yes) without it: > 0 means it pushed the item up


@dataclass(frozen=True)
class Explanation:
    item: Item
    p_yes: float
    influences: list[Influence]  # strongest first

    def sentence(self, n: int = 3) -> str:
        """Plain words for the chat."""
        head = f"{self.item.name}: P(Yes) {self.p_yes:.2f}."
        if not self.influences:
            return head + " You have no ratings yet, so only the item itself counts; rate a few to personalise."
        parts = []
        for inf in self.influences[:n]:
            verb = "liked" if inf.rating.liked else "disliked"
            way = "raises" if inf.delta > 0 else "lowers"
            parts.append(f"that you {verb} {inf.rating.name} {way} it by {abs(inf.delta):.2f}")
        return head + " The ratings that move it most: " + "; ".join(parts) + "."


def explain(scorer: Scorer, domain: str, history: list[Interaction], item: Item,
            like_rate: float | None = None) -> Explanation:
    """Drop each shown rating in turn (the window stays the same 10, minus one) and re-score.

    Prompts are scored one at a time from the newest rating backwards, so each reuses the cached
    tokens up to the rating it drops. `like_rate` fills the target's note for models trained with notes.
    """
    shown = history[-HISTORY_WINDOW:]
    p_yes = lambda ratings: scorer.score([scorer.prompts.for_user(domain, ratings, item, like_rate)])[0].p_yes
    full = p_yes(shown)
    influences = []
    for k in reversed(range(len(shown))):
        without = shown[:k] + shown[k + 1 :]
        influences.append(Influence(shown[k], full - p_yes(without)))
    influences.sort(key=lambda inf: -abs(inf.delta))
    return Explanation(item, full, influences)
