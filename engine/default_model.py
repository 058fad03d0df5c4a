"""The model a fresh install serves: SmolLM2-135M-Instruct + the rec-tuned LoRA adapter shipped in
`trainer/default_adapter`, merged and quantized to Q8_0 on first use and cached by content hash.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from db.fileio import file_sha256
from db.gguf_check import default_model_path
from db.paths import cache_dir

ADAPTER_DIR = Path(__file__).resolve().parents[1] / "trainer" / "default_adapter"
QUANT = "q8_0"


def adapter_available() -> bool:
    return (ADAPTER_DIR / "adapter_model.safetensors").exists()


def build_key() -> str:
    """Changes whenever the base file, the adapter weights or the quantization change."""
    h = hashlib.sha256()
    h.update(default_model_path().name.encode())
    h.update(file_sha256(ADAPTER_DIR / "adapter_model.safetensors").encode())
    h.update((ADAPTER_DIR / "adapter_config.json").read_bytes())
    if (ADAPTER_DIR / "train_report.json").exists():  # it says how prompts are written (notes or not)
        h.update((ADAPTER_DIR / "train_report.json").read_bytes())
    h.update(QUANT.encode())
    return h.hexdigest()[:16]


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
    log(f"building the rec-tuned default model (first use, about a minute): {out}")
    from trainer.export import export  # lazy: torch and transformers only load for this one-time build

    export(default_model_path(), ADAPTER_DIR, out, QUANT, log=log)
    stamp.write_text(json.dumps({"sha256": file_sha256(out), "adapter": str(ADAPTER_DIR), "quant": QUANT}))
    return out
