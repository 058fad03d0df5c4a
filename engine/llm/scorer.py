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

from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

from db.default_model import default_engine_model
from db.errors import RecchatError
from db.gguf_check import model_identity
from db.prompt import PromptFormat, answer_token_ids
from db.prompt import prompt_format as prompt_format_named
from db.scoring import Progress, PromptSettings, Score

from .llama_runner import LlamaRunner
from .llama_settings import LlamaSettings


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def answer_ids(tokenize: Callable[[str], list[int]], fmt: PromptFormat, where: str) -> tuple[int, int]:
    """The Yes/No answer tokens, or a one-line error naming the model (a tokenizer without them cannot score)."""
    try:
        return answer_token_ids(tokenize, fmt)
    except ValueError as e:
        raise RecchatError(f"{where}: cannot find the Yes/No answer tokens: {e}") from None


def settings_for(info, where: str, prompt_format: str | None = None, notes: bool | None = None) -> PromptSettings:
    """The prompt settings a GGUF records (db.gguf_check), with the caller's overrides (to measure a base model)."""
    try:
        fmt = prompt_format_named(prompt_format or info.prompt_format, info.chat_template)
    except ValueError as e:
        raise RecchatError(f"{where}: {e}") from None
    return PromptSettings(fmt, info.prompt == "notes" if notes is None else notes, info.item_text == "genres")


class LlamaScorer:
    """The in-process backend: llama.cpp through llama-cpp-python, with the shared-prefix fast path.

    `settings` (default: the ones `engine serve` runs too); `n_ctx`, `n_batch`, `n_ubatch`, `threads`
    override single fields of it."""

    def __init__(self, model_path: str | Path | None = None, *, settings: LlamaSettings = LlamaSettings(),
                 n_ctx: int | None = None, n_batch: int | None = None, n_ubatch: int | None = None,
                 threads: int | None = None, prompt_format: str | None = None, notes: bool | None = None):
        settings = settings.with_overrides(n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_ubatch, threads=threads)
        self.runner = LlamaRunner(model_path or default_engine_model(), settings)
        self.path = self.runner.path
        self.prompts = settings_for(self.runner.info, str(self.path), prompt_format, notes)
        self.yes_id, self.no_id = answer_ids(self.tokenize, self.prompts.format, str(self.path))
        self._prefix: list[int] = []  # tokens currently in the runner's KV cache

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def identity(self) -> str:
        return model_identity(self.path)

    def tokenize(self, prompt: str) -> list[int]:
        tokens = self.runner.tokenize(prompt, special=self.prompts.format.special)
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

    def score(self, prompts: Sequence[str], progress: Progress | None = None) -> list[Score]:
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

    # -------------------------------------------------------------- internals
    def _set_prefix(self, tokens: list[int]) -> None:
        """Make the KV cache hold exactly `tokens`, reusing what it already holds."""
        keep = common_prefix_len(self._prefix, tokens)
        self._trim_prefix(keep)
        if keep < len(tokens):
            self._extend_prefix(tokens[keep:], want_logits=False)

    def _trim_prefix(self, keep: int) -> None:
        if keep < len(self._prefix):
            self.runner.truncate(keep)
            self._prefix = self._prefix[:keep]

    def _extend_prefix(self, tokens: list[int], want_logits: bool) -> int:
        last = -1
        step = self.runner.n_batch
        for i in range(0, len(tokens), step):
            piece = tokens[i : i + step]
            final = i + step >= len(tokens)
            last = self.runner.decode(piece, len(self._prefix), want_logits and final)
            self._prefix.extend(piece)
        return last

    def _score(self, batch_index: int) -> Score:
        yes, no = self.runner.logits_at(batch_index, (self.yes_id, self.no_id))
        return Score(yes, no)
