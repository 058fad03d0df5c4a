"""Collaborative statistics from training windows: item like-rates and the user's own like-share.

The feature baseline, the hybrid and the "notes" prompt (numbers written into the input) all read
these, so the three see the same numbers. Built from training samples only, never the evaluated split.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

from .prompt import InputNotes, build_input, parse_input, sample_domain
from .types import Sample

PRIOR_WEIGHT = 10.0  # pseudo-count pulling rare items' like-rate toward the global rate


def smoothed_rate(likes: float, seen: float, global_rate: float) -> float:
    """Like-rate with PRIOR_WEIGHT pseudo-ratings at the global rate: rarely rated items stay near it."""
    return (likes + PRIOR_WEIGHT * global_rate) / (seen + PRIOR_WEIGHT)


@dataclass
class ItemStats:
    """Like counts per item name over training windows (history entries and targets)."""

    likes: dict[str, int]
    seen: dict[str, int]
    global_rate: float

    @classmethod
    def from_samples(cls, samples: list[Sample]) -> "ItemStats":
        likes: dict[str, int] = defaultdict(int)
        seen: dict[str, int] = defaultdict(int)
        for s in samples:
            p = parse_input(sample_domain(s.input), s.input)
            for names, liked in ((p.liked, 1), (p.disliked, 0), ([p.target], s.label)):
                for n in names:
                    likes[n] += liked
                    seen[n] += 1
        total = sum(seen.values())
        return cls(dict(likes), dict(seen), sum(likes.values()) / total if total else 0.5)

    def like_rate(self, name: str, drop: int | None = None) -> float:
        """Smoothed like-rate; `drop` removes one own label (leave-one-out for training rows)."""
        likes, seen = self.likes.get(name, 0), self.seen.get(name, 0)
        if drop is not None:
            likes, seen = likes - drop, seen - 1
        return smoothed_rate(likes, seen, self.global_rate)

    def popularity(self, name: str, drop: bool = False) -> float:
        return math.log1p(self.seen.get(name, 0) - (1 if drop else 0))


def like_share(sample: Sample) -> float:
    p = parse_input(sample_domain(sample.input), sample.input)
    n = len(p.liked) + len(p.disliked)
    return len(p.liked) / n if n else 0.5


def notes_for(liked: int, disliked: int, target_like_rate: float) -> InputNotes:
    return InputNotes(liked, liked + disliked, round(100 * target_like_rate))


def with_notes(sample: Sample, stats: ItemStats, own: bool = False) -> Sample:
    """The sample with its collaborative notes written into the input; `own` leaves its label out of the rate."""
    domain = sample_domain(sample.input)
    p = parse_input(domain, sample.input)
    rate = stats.like_rate(p.target, sample.label if own else None)
    notes = notes_for(len(p.liked), len(p.disliked), rate)
    return replace(sample, input=build_input(domain, p.liked, p.disliked, p.target, notes))
