"""The TALLRec prompt: one template, one instruction per domain, one input format.

Trainer, engine and tests import these; nothing else spells the prompt out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

ALPACA_TEMPLATE = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n"
    "### Input:\n{input}\n\n"
    "### Response:\n"
)

INSTRUCTIONS = {
    "movie": "Given the user's preference and unpreference, identify whether the user will like "
    'the target movie by answering "Yes." or "No.".',
    "book": "Given the user's preference and unpreference, identify whether the user will like "
    'the target book by answering "Yes." or "No.".',
}

YES, NO = "Yes.", "No."


def answer_token_ids(tokenize: Callable[[str], list[int]]) -> tuple[int, int]:
    """The first token a model emits for "Yes."/"No." right after the prompt, from its own tokenizer.

    Tokenizing prompt+answer (not the answer alone) picks the right variant when a tokenizer
    has both "Yes" and " Yes". `tokenize` must add the same special tokens in both calls.
    """
    probe = build_prompt("x", "y")
    base = tokenize(probe)
    ids = []
    for answer in (YES, NO):
        full = tokenize(probe + answer)
        if full[: len(base)] != base or len(full) == len(base):
            raise ValueError(f"the tokenizer merges {answer!r} into the prompt's last token")
        ids.append(full[len(base)])
    if ids[0] == ids[1]:
        raise ValueError("'Yes' and 'No' map to the same token")
    return ids[0], ids[1]


def p_yes_from_logits(yes: float, no: float) -> float:
    """softmax([yes, no])[0]: TALLRec's P(Yes) from the first response token's logits, computed stably."""
    return 1.0 / (1.0 + math.exp(no - yes))


@dataclass(frozen=True)
class ParsedInput:
    liked: list[str]
    disliked: list[str]
    target: str


def book_name(title: str, author: str) -> str:
    """BookCrossing items are shown as `"Title" written by Author`, as in TALLRec's book split."""
    return f'"{title}" written by {author}'


def _mention(domain: str, name: str) -> str:
    # Movies are quoted in the history; book names already carry their own quotes.
    return f'"{name}"' if domain == "movie" else name


def build_input(domain: str, liked: list[str], disliked: list[str], target: str) -> str:
    pref = ", ".join(_mention(domain, n) for n in liked)
    unpref = ", ".join(_mention(domain, n) for n in disliked)
    return (
        f"User Preference: {pref}\nUser Unpreference: {unpref}\n"
        f'Whether the user will like the target {domain} "{target}"?'
    )


def build_prompt(instruction: str, input: str) -> str:
    """The text the model sees; the answer ("Yes."/"No.") follows it directly."""
    return ALPACA_TEMPLATE.format(instruction=instruction, input=input)


_INPUT_RE = re.compile(
    r"^User Preference: (?P<liked>.*)\nUser Unpreference: (?P<disliked>.*)\n"
    r'Whether the user will like the target (?P<domain>movie|book) "(?P<target>.*)"\?$',
    re.S,
)
_MOVIE_ITEM = re.compile(r'"(.*?)"(?:, |$)', re.S)
_BOOK_ITEM = re.compile(r'("(?:.*?)" written by .*?)(?:, (?=")|$)', re.S)


def _split_items(domain: str, text: str) -> list[str]:
    if not text:
        return []
    pattern = _MOVIE_ITEM if domain == "movie" else _BOOK_ITEM
    names, pos = [], 0
    while pos < len(text):
        m = pattern.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse item list at: {text[pos:pos + 40]!r}")
        names.append(m.group(1))
        pos = m.end()
    return names


def parse_input(domain: str, text: str) -> ParsedInput:
    """Inverse of `build_input`; raises ValueError on text that is not a TALLRec input."""
    m = _INPUT_RE.match(text)
    if not m:
        raise ValueError("input is not in TALLRec form (User Preference / User Unpreference / Whether ...)")
    if m.group("domain") != domain:
        raise ValueError(f"input is about a {m.group('domain')}, expected {domain}")
    return ParsedInput(
        _split_items(domain, m.group("liked")),
        _split_items(domain, m.group("disliked")),
        m.group("target"),
    )
