"""Builds the default engine model for `db.default_model`, registered as the `default` entry point of
the `recchat.model_builders` group (pyproject.toml), so the engine never imports the trainer.

The base is a GGUF, so the adapter is folded in GGUF space (trainer.gguf_merge): no torch, no
transformers, and the same bytes wherever and with whatever library releases it is built.
"""

from __future__ import annotations

from pathlib import Path

from .gguf_merge import merge_into_gguf


def build(base: Path, adapter_dir: Path, out: Path, quant: str, log=print) -> None:
    """Merge the adapter into the base and write one GGUF at `out` with the given quantization."""
    merge_into_gguf(base, adapter_dir, out, quant, log=log)
