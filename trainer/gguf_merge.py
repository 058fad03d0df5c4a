"""Fold a LoRA adapter into a GGUF base without transformers: the default model's build.

The base's tensors are dequantized with gguf-py, each adapted weight gains scale·B·A (computed in
float64, rounded once to float32, q/k rows permuted into llama.cpp's rotary layout as
trainer.export does), and the result is written F32 and quantized by llama.cpp. Every step is
plain arithmetic on fixed inputs, so the same base, adapter and quantization give the same bytes on
any machine and with any transformers release; the transformers path (trainer.export, for HF
folders and research exports) re-derives the weights through the library's own GGUF loader,
which is free to change between releases.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from db.errors import RecchatError
from db.fileio import atomic_path

from .export import ADAPTER_WEIGHTS, _verify, export_metadata, permute_rotary, quantize
from .base_model import resolve_base

# peft's module name → the GGUF tensor it adapts ({i}: block index)
LORA_TARGETS = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
                "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
_LORA_KEY = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$")


def lora_deltas(adapter: Path, n_head: int, n_kv: int) -> dict[str, np.ndarray]:
    """GGUF tensor name → scale·B·A as float32, in llama.cpp's layout."""
    from safetensors.numpy import load_file

    cfg = json.loads((adapter / "adapter_config.json").read_text())
    if cfg.get("use_dora") or cfg.get("use_rslora") or cfg.get("fan_in_fan_out") or cfg.get("alpha_pattern") \
            or cfg.get("rank_pattern"):
        raise RecchatError(f"{adapter}: only plain LoRA adapters fold into a GGUF base here; use trainer export")
    scale = float(cfg["lora_alpha"]) / float(cfg["r"])
    parts: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, value in load_file(str(adapter / ADAPTER_WEIGHTS)).items():
        m = _LORA_KEY.search(key)
        if not m or m.group(2) not in LORA_TARGETS:
            raise RecchatError(f"{adapter}: unexpected adapter tensor {key}")
        parts.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = value
    out = {}
    for (layer, module), ab in parts.items():
        delta = (scale * (ab["B"].astype(np.float64) @ ab["A"].astype(np.float64))).astype(np.float32)
        if module == "q_proj":
            delta = permute_rotary(delta, n_head)
        elif module == "k_proj":
            delta = permute_rotary(delta, n_kv)
        out[f"blk.{layer}.{LORA_TARGETS[module]}.weight"] = delta
    return out


def merge_into_gguf(base: Path, adapter: Path, out: Path, quant: str, log=print) -> Path:
    """One GGUF at `out`: `base` (a Llama GGUF) with `adapter` folded in, quantized to `quant`."""
    import gguf

    reader = gguf.GGUFReader(base)
    arch = reader.fields["general.architecture"].contents()
    if arch != "llama":
        raise RecchatError(f"{base}: architecture {arch!r}; only Llama GGUFs fold an adapter here")
    n_head = int(reader.fields["llama.attention.head_count"].contents())
    n_kv = int(reader.fields.get("llama.attention.head_count_kv", reader.fields["llama.attention.head_count"]).contents())
    deltas = lora_deltas(Path(adapter), n_head, n_kv)
    meta = export_metadata(resolve_base(base), adapter)
    interim = out.with_name(f".{out.name}.f32.tmp")
    try:
        with atomic_path(interim) as tmp:
            w = gguf.GGUFWriter(str(tmp), arch)
            w.add_type(gguf.GGUFType.MODEL)
            w.add_name(meta.pop("name"))
            for key, value in meta.items():
                w.add_string(key if key.startswith("recchat.") else f"general.{key}", value)
            for key, field in reader.fields.items():
                if key.startswith("GGUF.") or key.startswith("general."):
                    continue
                vtype = field.types[0]
                sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
                w.add_key_value(key, field.contents(), vtype, sub_type=sub)
            w.add_file_type(gguf.LlamaFileType.ALL_F32)
            for t in reader.tensors:
                data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
                data = data.reshape([int(d) for d in reversed(t.shape)])
                if t.name in deltas:
                    data = data + deltas.pop(t.name)
                w.add_tensor(t.name, data)
            if deltas:
                raise RecchatError(f"{adapter}: no base tensor for {', '.join(sorted(deltas))}")
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file(progress=True)
            w.close()
        log(f"quantizing to {quant} with llama.cpp")
        quantize(interim, out, quant)
    finally:
        interim.unlink(missing_ok=True)
    _verify(out)
    return out
