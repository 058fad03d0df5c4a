"""Builds the default engine model for `db.default_model`, registered as the `default` entry point of
the `recchat.model_builders` group (pyproject.toml), so the engine never imports the trainer.
"""

from __future__ import annotations

from pathlib import Path

from trainer.export import export  # torch and transformers load lazily inside export


def build(base: Path, adapter_dir: Path, out: Path, quant: str, log=print) -> None:
    """Merge the adapter into the base and write one GGUF at `out` with the given quantization."""
    export(base, adapter_dir, out, quant, log=log)
