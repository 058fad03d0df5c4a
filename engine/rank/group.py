"""One list for the people present: each member's own ranking of the same candidates, aggregated.

Every member's score is what the product orders their own list by: the stack's rank head, a probability
(that the film is among their next likes) from the same model for everyone, so members' scores compare
as they are. The group's candidates are every member's own top candidates, none that any member rated;
a strategy combines the scores (the group-recommendation literature's three classic ones;
bench/groups.py compares them):

- average: the mean of the members' scores (what the group as a whole likes most);
- least misery: the minimum (nobody is left with a film they rank low);
- fair: the mean minus the spread between members (FAIR_SPREAD × their standard deviation): a film
  that one member loves and another would hate drops, one that suits both rises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRATEGIES = ("average", "fair", "least-misery")
DEFAULT_STRATEGY = "average"  # best on the validation groups' mean and minimum (docs/results.md)
FAIR_SPREAD = 0.3  # chosen against 1.0 on validation groups (bench/groups.py --seed 1)


def aggregate(member_scores: list[np.ndarray], strategy: str = DEFAULT_STRATEGY) -> np.ndarray:
    """One score per candidate from each member's scores (same candidates, same order)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown group strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    m = np.vstack([np.asarray(s, dtype=np.float64) for s in member_scores])
    if strategy == "average" or len(member_scores) == 1:
        return m.mean(axis=0)
    if strategy == "least-misery":
        return m.min(axis=0) + 1e-3 * m.mean(axis=0)  # ties: the better on average first
    return m.mean(axis=0) - FAIR_SPREAD * m.std(axis=0)


@dataclass(frozen=True)
class MemberScore:
    name: str
    p_like: float


@dataclass(frozen=True)
class GroupRow:
    """A row of the group's list: the film, each member's P(like), and the group's score that orders it."""

    item_id: int
    members: tuple[MemberScore, ...]
    match: float
