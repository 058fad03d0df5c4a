"""A thin layer over llama.cpp's C API (via llama-cpp-python): multi-sequence batches and KV-cache ops.

The high-level `llama_cpp.Llama` hides the per-sequence cache operations the shared-prefix
scorer needs, so this talks to the C functions directly.
"""

from __future__ import annotations

import ctypes
import os
from collections import deque
from pathlib import Path

import llama_cpp

from db.errors import RecchatError

from db.gguf_check import check_gguf

_LOG = deque(maxlen=50)
GGML_TYPE_F32 = 0
LLAMA_FLASH_ATTN_TYPE_DISABLED = 0


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
    """One model, one context with `n_seq` sequences sharing a unified KV cache."""

    def __init__(self, path: str | Path, *, n_ctx: int = 4096, n_batch: int = 512, n_seq: int = 16,
                 n_ubatch: int = 63, threads: int | None = None):
        info = check_gguf(path)
        _init_backend()
        self.path = Path(path)
        self.architecture = info.architecture
        self.info = info  # what the GGUF says of itself: architecture, prompt notes and format, chat template
        mparams = llama_cpp.llama_model_default_params()
        _LOG.clear()
        self.model = llama_cpp.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self.model:
            reason = next((l.strip() for l in reversed(_LOG) if "error" in l.lower() or "unknown" in l.lower()), "")
            raise RecchatError(
                f"llama.cpp cannot load {self.path} (architecture {info.architecture!r})" + (f": {reason}" if reason else "")
            )
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        # Under 64 rows per micro-batch ggml's CPU matmuls treat each token row on its own, so a
        # token's logits do not depend on which tokens share its batch: the shared-prefix path then
        # gives bit-identical scores to a full-prompt decode (measured; larger micro-batches differ
        # by up to 0.04 in P(Yes) on the Q4_1 model).
        cparams.n_ubatch = min(n_ubatch, n_batch)
        cparams.n_seq_max = n_seq
        cparams.kv_unified = True  # sequences share cells: copying a prefix to another sequence is free
        cparams.n_threads = cparams.n_threads_batch = threads or os.cpu_count() or 1
        cparams.no_perf = True
        # F32 K/V and no flash attention: the CPU flash-attention kernel works in F16, which moved
        # P(Yes) by ~2e-3 against transformers fp32; this way an F32 GGUF matches it within 1e-5 and
        # the shared-prefix path stays bit-identical to full prompts (measured, tests/test_scorer.py).
        cparams.type_k = cparams.type_v = GGML_TYPE_F32
        cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            raise RecchatError(f"llama.cpp cannot create a context for {self.path} (n_ctx={n_ctx})")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx, self.n_batch, self.n_seq = n_ctx, n_batch, n_seq
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, n_seq)

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
    def seq_rm(self, seq: int, p0: int = -1, p1: int = -1) -> None:
        llama_cpp.llama_memory_seq_rm(self.mem, seq, p0, p1)

    def seq_cp(self, src: int, dst: int) -> None:
        llama_cpp.llama_memory_seq_cp(self.mem, src, dst, -1, -1)

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.mem, True)

    # Decoding -------------------------------------------------------------
    def decode(self, parts: list[tuple[int, list[int], int, bool]]) -> list[int]:
        """Decode (seq, tokens, first position, want logits of last token) parts in one batch.

        Returns the batch index of each part's last token, for `logits_at`.
        """
        b = self._batch
        n = 0
        last = []
        for seq, tokens, pos0, want in parts:
            for k, tok in enumerate(tokens):
                b.token[n] = tok
                b.pos[n] = pos0 + k
                b.n_seq_id[n] = 1
                b.seq_id[n][0] = seq
                b.logits[n] = False
                n += 1
            if want:
                b.logits[n - 1] = True
            last.append(n - 1)
        b.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, b)
        if rc != 0:
            raise RecchatError(f"llama_decode failed with code {rc} (batch of {n} tokens; context {self.n_ctx})")
        return last

    def logits_at(self, index: int, token_ids: tuple[int, ...]) -> list[float]:
        row = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return [row[t] for t in token_ids]
