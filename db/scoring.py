"""What every scoring backend shares: the Score it returns, the prompt settings it was rec-tuned on,
and the `Scorer` protocol (in-process llama.cpp, an OpenAI-compatible server, the trainer's torch model).

Call sites never branch on prompt formats or notes: they ask the scorer's `prompts` for the text of
a sample or of a user and a target, and pass whatever collaborative numbers they have; the settings
decide what the model reads. P(Yes) has one definition: `db.prompt.p_yes_from_logits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

from .errors import RecchatError
from .feedback import HISTORY_WINDOW
from .item_stats import ItemStats, notes_for, with_notes
from .prompt import ALPACA, INSTRUCTIONS, PromptFormat, build_input, build_prompt, item_label, p_yes_from_logits
from .types import Interaction, Item, Sample

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Score:
    """The first answer token's Yes/No logits (or log-probabilities: only their difference counts)."""

    logit_yes: float
    logit_no: float

    @property
    def logit(self) -> float:
        """logit(Yes) - logit(No): the log-odds behind p_yes, the LLM input of the stack."""
        return self.logit_yes - self.logit_no

    @property
    def p_yes(self) -> float:
        return p_yes_from_logits(self.logit_yes, self.logit_no)


@dataclass(frozen=True)
class PromptSettings:
    """How a model was rec-tuned to read its prompts: the format and whether they carry notes.

    A model exported from a `--notes` run reads the user's like count and the target's like-rate
    (db.item_stats); the numbers come from training data or the store, never from the scored split.
    """

    format: PromptFormat = ALPACA
    notes: bool = False
    item_text: bool = False  # items named with their genres (db.prompt.item_label), as in the training split

    def text(self, instruction: str, input: str) -> str:
        return build_prompt(instruction, input, self.format)

    def for_sample(self, sample: Sample, stats: ItemStats | None = None) -> str:
        """A TALLRec sample as this model reads it; `stats` (training windows) fill the notes."""
        if self.notes:
            if stats is None:
                raise RecchatError("this model reads collaborative notes in its prompts: give the training split "
                                   "(--train) so like-rates can be computed")
            sample = with_notes(sample, stats)
        return self.text(sample.instruction, sample.input)

    def name(self, item: Item | Interaction) -> str:
        """How the prompt names an item: its name, or with item text its name and genres."""
        return item_label(item.name, item.genres) if self.item_text else item.name

    def for_user(self, domain: str, history: list[Interaction], target: Item, like_rate: float | None = None) -> str:
        """The prompt for one user and one target, from the user's most recent ratings.

        `like_rate` is the target's like-rate among other users; only a notes model reads it.
        """
        recent = history[-HISTORY_WINDOW:]
        liked = [self.name(h) for h in recent if h.liked]
        disliked = [self.name(h) for h in recent if not h.liked]
        notes = None
        if self.notes:
            if like_rate is None:
                raise RecchatError(f"the target {target.name!r} has no like-rate, which this model reads in its prompts")
            notes = notes_for(len(liked), len(disliked), like_rate)
        return self.text(INSTRUCTIONS[domain], build_input(domain, liked, disliked, self.name(target), notes))


@runtime_checkable
class Scorer(Protocol):
    """A rec-tuned model that scores prompts with P(Yes); every backend implements this."""

    @property
    def name(self) -> str:
        """What a user recognises: the GGUF file name or the server URL."""

    @property
    def identity(self) -> str:
        """The model's content identity (GGUF sha256): what its fitted stack and eval runs are stored under."""

    @property
    def prompts(self) -> PromptSettings:
        """The prompt settings the model was rec-tuned on."""

    def score(self, prompts: Sequence[str], progress: Progress | None = None) -> list[Score]:
        """One Score per prompt, in order."""


def score_samples(scorer: Scorer, samples: list[Sample], stats: ItemStats | None = None,
                  progress: Progress | None = None) -> list[Score]:
    """Score TALLRec samples, written the way `scorer` reads them."""
    return scorer.score([scorer.prompts.for_sample(s, stats) for s in samples], progress=progress)
