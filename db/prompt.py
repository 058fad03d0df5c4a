"""The TALLRec prompt: one template, one instruction per domain, one input format.

Trainer, engine and tests import these; nothing else spells the prompt out. Besides TALLRec's
Alpaca template a model can be rec-tuned on its own chat template (`PromptFormat`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
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


PROMPT_FORMATS = {
    "alpaca": "TALLRec's Alpaca template (### Instruction / ### Input / ### Response)",
    "chat": "the base model's own chat template, instruction and input as one user turn",
}


@dataclass(frozen=True)
class PromptFormat:
    """How instruction and input become the model's text; the answer follows the text directly.

    `chat_template` is the model's Jinja chat template (HF `tokenizer.chat_template`, GGUF
    `tokenizer.chat_template`: the same string); None means Alpaca. A chat prompt holds control
    tokens as text (`<|im_start|>`), so its tokenizer must parse special tokens (`special`).
    """

    chat_template: str | None = None

    @property
    def name(self) -> str:
        return "alpaca" if self.chat_template is None else "chat"

    @property
    def special(self) -> bool:
        return self.chat_template is not None

    def build(self, instruction: str, input: str) -> str:
        if self.chat_template is None:
            return ALPACA_TEMPLATE.format(instruction=instruction, input=input)
        return _render_chat(self.chat_template, f"{instruction}\n\n{input}")


ALPACA = PromptFormat()


def prompt_format(name: str, chat_template: str | None) -> PromptFormat:
    """The format called `name` for a model whose chat template is `chat_template` (may be empty)."""
    if name == "alpaca":
        return ALPACA
    if name != "chat":
        raise ValueError(f"unknown prompt format {name!r} (choose from {', '.join(PROMPT_FORMATS)})")
    if not chat_template:
        raise ValueError("the model has no chat template (tokenizer.chat_template); use the alpaca prompt format")
    return PromptFormat(chat_template)


@lru_cache(maxsize=8)
def _compiled_chat(template: str):
    """Compiled once per template: every scored prompt renders it (eval, each chat candidate)."""
    # as transformers' apply_chat_template compiles it: sandboxed, trim_blocks and lstrip_blocks
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(template)


def _render_chat(template: str, content: str) -> str:
    return _compiled_chat(template).render(messages=[{"role": "user", "content": content}], add_generation_prompt=True)


def answer_token_ids(tokenize: Callable[[str], list[int]], fmt: PromptFormat = ALPACA) -> tuple[int, int]:
    """The first token a model emits for "Yes."/"No." right after the prompt, from its own tokenizer.

    Tokenizing prompt+answer (not the answer alone) picks the right variant when a tokenizer
    has both "Yes" and " Yes". `tokenize` must add the same special tokens in both calls.
    """
    probe = fmt.build("x", "y")
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
class InputNotes:
    """Collaborative numbers written as words, for a model that only reads text (CoLLM/LLaRA's idea).

    `target_like_pct` must come from training interactions only, never from the evaluated split.
    """

    user_liked: int
    user_rated: int
    target_like_pct: int


@dataclass(frozen=True)
class ParsedInput:
    liked: list[str]
    disliked: list[str]
    target: str
    notes: InputNotes | None = None


def book_name(title: str, author: str) -> str:
    """BookCrossing items are shown as `"Title" written by Author`, as in TALLRec's book split."""
    return f'"{title}" written by {author}'


def item_label(name: str, genres: str) -> str:
    """An item named with its catalog fields, for models rec-tuned with item text:
    `Toy Story (1995)` + genres → `Toy Story (1995; Animation, Children's, Comedy)`.

    Title-only names carry nothing a 135M model can generalise from to an item it never saw rated;
    genres (and the year already in the name) do. Books already name their author."""
    genres = ", ".join(g.strip() for g in genres.replace("|", ",").split(",") if g.strip())
    if not genres:
        return name
    if name.endswith(")") and "(" in name:
        return f"{name[:-1]}; {genres})"
    return f"{name} ({genres})"


def _mention(domain: str, name: str) -> str:
    # Movies are quoted in the history; book names already carry their own quotes.
    return f'"{name}"' if domain == "movie" else name


def build_input(domain: str, liked: list[str], disliked: list[str], target: str,
                notes: InputNotes | None = None) -> str:
    """TALLRec's input; with `notes`, a user line before the question and the target's like-rate after its name.

    The user line sits before the target so the engine's shared prefix still covers it.
    """
    pref = ", ".join(_mention(domain, n) for n in liked)
    unpref = ", ".join(_mention(domain, n) for n in disliked)
    user_line = f"The user liked {notes.user_liked} of {notes.user_rated} rated {domain}s.\n" if notes else ""
    target_note = f" (liked by {notes.target_like_pct}% of users)" if notes else ""
    return (
        f"User Preference: {pref}\nUser Unpreference: {unpref}\n{user_line}"
        f'Whether the user will like the target {domain} "{target}"{target_note}?'
    )


def sample_domain(input: str) -> str:
    """The domain a TALLRec input is about, read from its question line."""
    return "book" if "target book" in input else "movie"


def build_prompt(instruction: str, input: str, fmt: PromptFormat = ALPACA) -> str:
    """The text the model sees; the answer ("Yes."/"No.") follows it directly."""
    return fmt.build(instruction, input)


_INPUT_RE = re.compile(
    r"^User Preference: (?P<liked>[^\n]*)\nUser Unpreference: (?P<disliked>[^\n]*)\n"
    r"(?:The user liked (?P<user_liked>\d+) of (?P<user_rated>\d+) rated (?:movie|book)s\.\n)?"
    r'Whether the user will like the target (?P<domain>movie|book) "(?P<target>.*)"'
    r"(?: \(liked by (?P<pct>\d+)% of users\))?\?$",
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
    notes = None
    if m.group("user_liked") is not None and m.group("pct") is not None:
        notes = InputNotes(int(m.group("user_liked")), int(m.group("user_rated")), int(m.group("pct")))
    return ParsedInput(
        _split_items(domain, m.group("liked")),
        _split_items(domain, m.group("disliked")),
        m.group("target"),
        notes,
    )
