"""A thin layer over llama.cpp's C API (via llama-cpp-python): one sequence, its batches and its KV cache.

The high-level `llama_cpp.Llama` hides the cache operations the shared-prefix scorer needs (keep a
prefix, drop what follows it), so this talks to the C functions directly.
"""

from __future__ import annotations

import ctypes
from collections import deque
from pathlib import Path

import llama_cpp

from db.errors import RecchatError
from db.gguf_check import check_gguf

from .llama_settings import LlamaSettings

_LOG = deque(maxlen=50)
SEQ = 0  # the one sequence


@llama_cpp.llama_log_callback
def _log_to_buffer(level, text, user_data):  # keep llama.cpp quiet; its last lines explain load failures
    _LOG.append(text.decode("utf-8", "replace"))


_initialised = False


def _init_backend() -> None:
    global _initialised
    if not _initialised:
        llama_cpp.llama_log_set(_log_to_buffer, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
        _initialised = True


class LlamaRunner:
    """One model and one context holding one sequence, with the llama.cpp settings of `settings`."""

    def __init__(self, path: str | Path, settings: LlamaSettings = LlamaSettings()):
        info = check_gguf(path)
        _init_backend()
        self.path = Path(path)
        self.architecture = info.architecture
        self.info = info  # what the GGUF says of itself: architecture, prompt notes and format, chat template
        self.settings = settings
        mparams = llama_cpp.llama_model_default_params()
        settings.apply_model(mparams)
        _LOG.clear()
        self.model = llama_cpp.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self.model:
            reason = next((l.strip() for l in reversed(_LOG) if "error" in l.lower() or "unknown" in l.lower()), "")
            raise RecchatError(
                f"llama.cpp cannot load {self.path} (architecture {info.architecture!r})" + (f": {reason}" if reason else "")
            )
        cparams = llama_cpp.llama_context_default_params()
        settings.apply(cparams)  # the same values `engine serve` runs (engine.llm.llama_settings)
        cparams.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            self.model = None  # freed: close() must not free it again
            raise RecchatError(f"llama.cpp cannot create a context for {self.path} (n_ctx={settings.n_ctx})")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx, self.n_batch = settings.n_ctx, settings.n_batch
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)

    def close(self) -> None:
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "ctx", None):
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            llama_cpp.llama_model_free(self.model)
            self.model = None

    def __del__(self):
        self.close()

    def tokenize(self, text: str, *, add_bos: bool | None = None, special: bool = False) -> list[int]:
        """`special` reads control-token text (`<|im_start|>`) as those tokens: for chat-format prompts only,
        so an item title can never inject one into an Alpaca prompt."""
        data = text.encode("utf-8")
        add = self.add_bos if add_bos is None else add_bos
        cap = len(data) + 8
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, add, special)
        if n < 0:
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, add, special)
        return list(buf[:n])

    def piece(self, token: int) -> str:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[: max(n, 0)].decode("utf-8", "replace")

    # KV cache -------------------------------------------------------------
    def truncate(self, keep: int) -> None:
        """Drop the cached positions from `keep` on."""
        llama_cpp.llama_memory_seq_rm(self.mem, SEQ, keep, -1)

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.mem, True)

    # Decoding -------------------------------------------------------------
    def decode(self, tokens: list[int], pos0: int, want_logits: bool) -> int:
        """Decode `tokens` at positions pos0, pos0+1, ... in one batch (at most n_batch tokens).

        Returns the batch index of the last token, for `logits_at` (its logits exist when `want_logits`).
        """
        b = self._batch
        for k, tok in enumerate(tokens):
            b.token[k] = tok
            b.pos[k] = pos0 + k
            b.n_seq_id[k] = 1
            b.seq_id[k][0] = SEQ
            b.logits[k] = False
        n = len(tokens)
        if want_logits:
            b.logits[n - 1] = True
        b.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, b)
        if rc != 0:
            raise RecchatError(f"llama_decode failed with code {rc} (batch of {n} tokens; context {self.n_ctx})")
        return n - 1

    def logits_at(self, index: int, token_ids: tuple[int, ...]) -> list[float]:
        row = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return [row[t] for t in token_ids]
