"""The llama.cpp context settings, one object for in-process scoring (engine.llm.llama_runner) and `engine serve`.

HTTP and in-process P(Yes) agree only while both run these same values, so they are written once here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

# llama.cpp enum values (llama_cpp.GGML_TYPE_F32, llama_cpp.LLAMA_FLASH_ATTN_TYPE_*), so that this module
# needs no llama_cpp import
GGML_TYPE_F32 = 0
LLAMA_FLASH_ATTN_TYPE_DISABLED = 0
LLAMA_FLASH_ATTN_TYPE_ENABLED = 1


@dataclass(frozen=True)
class LlamaSettings:
    """Context length, batch sizes, threads, K/V type and attention kernel of a llama.cpp context.

    F32 K/V and no flash attention: the CPU flash-attention kernel works in F16, which moved P(Yes)
    by ~2e-3 against transformers fp32; this way an F32 GGUF matches it within 1e-5 and the
    shared-prefix path stays bit-identical to full prompts (measured, tests/test_scorer.py).

    n_ubatch 63: under 64 rows per micro-batch ggml's CPU matmuls treat each token row on its own,
    so a token's logits do not depend on which tokens share its batch: the shared-prefix path then
    gives bit-identical scores to a full-prompt decode (measured; larger micro-batches differ by up
    to 0.04 in P(Yes) on the Q4_1 model).
    """

    n_ctx: int = 4096
    n_batch: int = 512  # tokens per llama_decode call
    n_ubatch: int = 63  # rows per micro-batch (capped at n_batch)
    threads: int | None = None  # None: every core (os.cpu_count())
    kv_type: int = GGML_TYPE_F32  # ggml type of both the K and the V cache
    flash_attn: bool = False
    extra_buffers: bool = False  # llama_model_params.use_extra_bufts

    def with_overrides(self, **values) -> LlamaSettings:
        """A copy with the given fields changed; None leaves a field as it is (CLI options left unset)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def n_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    @property
    def micro_batch(self) -> int:
        return min(self.n_ubatch, self.n_batch)

    def apply(self, cparams) -> None:
        """Set these values on a `llama_cpp.llama_context_params` (engine.llm.llama_runner)."""
        cparams.n_ctx = self.n_ctx
        cparams.n_batch = self.n_batch
        cparams.n_ubatch = self.micro_batch
        cparams.n_threads = cparams.n_threads_batch = self.n_threads
        cparams.type_k = cparams.type_v = self.kv_type
        cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED if self.flash_attn else LLAMA_FLASH_ATTN_TYPE_DISABLED

    def apply_model(self, mparams) -> None:
        """Set these values on a `llama_cpp.llama_model_params` (engine.llm.llama_runner, engine.serve.server)."""
        mparams.use_extra_bufts = self.extra_buffers

    def server_kwargs(self) -> dict:
        """The same values as keyword arguments of `llama_cpp.server.settings.ModelSettings` (engine.serve.server)."""
        return {"n_ctx": self.n_ctx, "n_batch": self.n_batch, "n_ubatch": self.micro_batch,
                "n_threads": self.n_threads, "n_threads_batch": self.n_threads,
                "type_k": self.kv_type, "type_v": self.kv_type, "flash_attn": self.flash_attn}
