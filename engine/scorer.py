"""P(Yes) scoring: softmax over the "Yes"/"No" logits of the first response token, as TALLRec does.

One implementation serves chat, `engine eval` and the benchmarks. The fast path evaluates the
token prefix that a group of prompts shares once, keeps it in the KV cache, then decodes each
prompt's own suffix after it and trims the cache back to the prefix.

Why one suffix per decode and not several sequences per batch: with llama.cpp's unified cache,
suffixes of different sequences batched together land in interleaved cells and the CPU kernels
then round differently (measured: up to 0.03 in P(Yes) on the Q4_1 model), while a lone suffix
after the cached prefix is bit-identical to the full-prompt decode at the same speed (7.4 vs 6.5
candidates/s, see bench/score_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

from db.errors import RecchatError
from db.fileio import file_sha256
from db.prompt import PromptFormat, answer_token_ids, build_prompt, p_yes_from_logits, prompt_format

from .llama_runner import LlamaRunner

PREFIX_SEQ = 0  # sequence that holds the cached shared prefix


def _default() -> Path:
    from .default_model import default_engine_model

    return default_engine_model()


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass(frozen=True)
class Score:
    p_yes: float
    logit_yes: float
    logit_no: float

    @property
    def logit(self) -> float:
        """logit(Yes) - logit(No): the log-odds behind p_yes, the LLM input of the hybrid."""
        return self.logit_yes - self.logit_no


class Scorer:
    """`prompt_format` overrides the format the GGUF says it was rec-tuned on (to measure a base model)."""

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 4096, n_batch: int = 512,
                 n_seq: int = 1, n_ubatch: int = 63, threads: int | None = None, prompt_format: str | None = None):
        self.runner = LlamaRunner(model_path or _default(), n_ctx=n_ctx, n_batch=n_batch,
                                  n_seq=n_seq, n_ubatch=n_ubatch, threads=threads)
        self.path = self.runner.path
        self.uses_notes = self.runner.info.prompt == "notes"  # rec-tuned on prompts with collaborative notes
        self.format = self._format(prompt_format or self.runner.info.prompt_format)
        self.yes_id, self.no_id = self._answer_tokens()
        self._prefix: list[int] = []  # tokens currently cached on PREFIX_SEQ

    @cached_property
    def sha256(self) -> str:
        """The model's identity: what a fitted stack is stored under (engine.stack)."""
        return file_sha256(Path(self.path))

    def _format(self, name: str) -> PromptFormat:
        try:
            return prompt_format(name, self.runner.info.chat_template)
        except ValueError as e:
            raise RecchatError(f"{self.path}: {e}") from None

    def _answer_tokens(self) -> tuple[int, int]:
        try:
            return answer_token_ids(self.tokenize, self.format)
        except ValueError as e:
            raise RecchatError(f"{self.path}: cannot find the answer tokens: {e}") from None

    def prompt(self, instruction: str, input: str) -> str:
        """The text this model reads for a sample, in the format it was rec-tuned on."""
        return build_prompt(instruction, input, self.format)

    def tokenize(self, prompt: str) -> list[int]:
        tokens = self.runner.tokenize(prompt, special=self.format.special)
        if len(tokens) > self.runner.n_ctx - 1:
            raise RecchatError(f"prompt is {len(tokens)} tokens, longer than the model context of {self.runner.n_ctx}")
        return tokens

    def reset(self) -> None:
        """Forget the cached prefix (benchmarks start cold with this)."""
        self.runner.clear()
        self._prefix = []

    # ------------------------------------------------------------------ paths
    def score_full(self, prompt: str) -> Score:
        """Reference path: clear the cache and evaluate the whole prompt."""
        tokens = self.tokenize(prompt)
        self.reset()
        last = self._extend_prefix(tokens, want_logits=True)
        return self._score(last)

    def score(self, prompts: Sequence[str], progress: Callable[[int], None] | None = None) -> list[Score]:
        """Fast path: the prefix all prompts share once, then each prompt's suffix. Order kept."""
        if not prompts:
            return []
        token_lists = [self.tokenize(p) for p in prompts]
        shared = min(len(t) for t in token_lists) - 1  # every prompt keeps >= 1 own token to read logits from
        first = token_lists[0]
        for t in token_lists[1:]:
            shared = min(shared, common_prefix_len(first, t))
        self._set_prefix(first[:shared])
        out = []
        for tokens in token_lists:
            last = self._extend_prefix(tokens[shared:], want_logits=True)
            out.append(self._score(last))
            self._trim_prefix(shared)
            if progress:
                progress(1)
        return out

    def p_yes(self, prompts: Sequence[str]) -> list[float]:
        return [s.p_yes for s in self.score(prompts)]

    # -------------------------------------------------------------- internals
    def _set_prefix(self, tokens: list[int]) -> None:
        """Make PREFIX_SEQ hold exactly `tokens`, reusing what it already holds."""
        keep = common_prefix_len(self._prefix, tokens)
        self._trim_prefix(keep)
        if keep < len(tokens):
            self._extend_prefix(tokens[keep:], want_logits=False)

    def _trim_prefix(self, keep: int) -> None:
        if keep < len(self._prefix):
            self.runner.seq_rm(PREFIX_SEQ, keep, -1)
            self._prefix = self._prefix[:keep]

    def _extend_prefix(self, tokens: list[int], want_logits: bool) -> int:
        last = -1
        step = self.runner.n_batch
        for i in range(0, len(tokens), step):
            piece = tokens[i : i + step]
            final = i + step >= len(tokens)
            [last] = self.runner.decode([(PREFIX_SEQ, piece, len(self._prefix), want_logits and final)])
            self._prefix.extend(piece)
        return last

    def _score(self, batch_index: int) -> Score:
        yes, no = self.runner.logits_at(batch_index, (self.yes_id, self.no_id))
        return Score(p_yes_from_logits(yes, no), yes, no)
