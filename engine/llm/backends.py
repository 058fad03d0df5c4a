"""Open a scorer by what the user names: a GGUF path (in-process llama.cpp, the default) or a server URL."""

from __future__ import annotations

from pathlib import Path

from db.scoring import Scorer

from .http_scorer import is_url


def open_scorer(model: str | Path | None = None, *, prompt_format: str | None = None,
                notes: bool | None = None) -> Scorer:
    """`model`: None (the default rec-tuned model), a GGUF path, or `http://HOST:PORT/v1` of an
    OpenAI-compatible server. `prompt_format` / `notes` override what the model was rec-tuned on."""
    if is_url(model):
        from .http_scorer import HttpScorer

        return HttpScorer(str(model), prompt_format=prompt_format, notes=notes)
    from .scorer import LlamaScorer

    return LlamaScorer(model, prompt_format=prompt_format, notes=notes)
