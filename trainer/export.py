"""Merge a LoRA adapter into its base and write a Llama GGUF with gguf-py, then quantize with llama.cpp.

The tensor table and the q/k rotary permutation follow llama.cpp's own HF converter: Hugging Face
stores q/k rows grouped by rotary half, llama.cpp interleaves them.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from db.errors import RecchatError
from db.fileio import atomic_path, check_writable, file_ref
from db.gguf_check import FORMAT_KEY, GGUF_MAGIC, ITEM_TEXT_KEY, PROMPT_KEY

from .base_model import BaseRef, load_model, load_tokenizer, resolve_base
from .tuning import check_adapter, mismatch_reason

QUANTS = ("f32", "f16", "q8_0", "q4_k_m")
ADAPTER_WEIGHTS = "adapter_model.safetensors"

# Hugging Face parameter name -> GGUF tensor name ({i}: block index).
TENSOR_MAP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{i}.input_layernorm.weight": "blk.{i}.attn_norm.weight",
    "model.layers.{i}.self_attn.q_proj.weight": "blk.{i}.attn_q.weight",
    "model.layers.{i}.self_attn.k_proj.weight": "blk.{i}.attn_k.weight",
    "model.layers.{i}.self_attn.v_proj.weight": "blk.{i}.attn_v.weight",
    "model.layers.{i}.self_attn.o_proj.weight": "blk.{i}.attn_output.weight",
    "model.layers.{i}.post_attention_layernorm.weight": "blk.{i}.ffn_norm.weight",
    "model.layers.{i}.mlp.gate_proj.weight": "blk.{i}.ffn_gate.weight",
    "model.layers.{i}.mlp.up_proj.weight": "blk.{i}.ffn_up.weight",
    "model.layers.{i}.mlp.down_proj.weight": "blk.{i}.ffn_down.weight",
}


# Kept F32 in an F16 export: the embedding is also the (tied) output layer whose Yes/No logits are
# the score; rounding it to F16 moved P(Yes) by ~2e-3 on SmolLM2. 28M params: +57 MB on 135M.
F32_IN_F16 = {"model.embed_tokens.weight", "lm_head.weight"}


def gguf_name(hf_name: str) -> str:
    parts = hf_name.split(".")
    if len(parts) > 2 and parts[1] == "layers" and parts[2].isdigit():
        i = parts[2]
        key = ".".join(parts[:2] + ["{i}"] + parts[3:])
        if key in TENSOR_MAP:
            return TENSOR_MAP[key].format(i=i)
    if hf_name in TENSOR_MAP:
        return TENSOR_MAP[hf_name]
    raise RecchatError(f"no GGUF name for tensor {hf_name!r}; only plain Llama layers can be exported")


def permute_rotary(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF q/k rows (two rotary halves per head) -> llama.cpp's interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@dataclass(frozen=True)
class ExportInfo:
    path: Path
    quant: str
    tensors: int
    bytes: int


# ------------------------------------------------------------------ merge
def merged_model(ref: BaseRef, adapter: Path | None):
    """fp32 base with the adapter folded into its weights (peft merge_and_unload)."""
    model = load_model(ref)
    if adapter is None:
        return model
    from peft import PeftModel

    check_adapter(adapter)
    try:
        model = PeftModel.from_pretrained(model, str(adapter))
    except (RuntimeError, ValueError, KeyError) as e:
        raise RecchatError(f"adapter {adapter} does not match base {ref.path}: {mismatch_reason(e)}") from None
    return model.merge_and_unload()


# ---------------------------------------------------------------- writing
def write_gguf(model, ref: BaseRef, out: Path, ftype: str, meta: dict[str, str]) -> ExportInfo:
    """Write an F32 or F16 Llama GGUF: hyper-parameters, tokenizer, tensors; atomically."""
    import gguf

    cfg = model.config
    if cfg.model_type != "llama":
        raise RecchatError(f"unsupported architecture {cfg.model_type!r}; the exporter writes Llama GGUFs")
    n_kv = cfg.num_key_value_heads or cfg.num_attention_heads
    with atomic_path(out) as tmp:
        w = gguf.GGUFWriter(str(tmp), "llama")
        w.add_type(gguf.GGUFType.MODEL)
        w.add_name(meta.get("name", "recchat"))
        for key, value in meta.items():
            if key != "name":
                w.add_string(key if key.startswith("recchat.") else f"general.{key}", value)
        add_hparams(w, cfg)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if ftype == "f16" else gguf.LlamaFileType.ALL_F32)
        _add_tokenizer(w, ref, cfg)
        n = 0
        tied = getattr(cfg, "tie_word_embeddings", False)
        for name, tensor in model.state_dict().items():
            if name == "lm_head.weight" and tied:
                continue  # llama.cpp falls back to token_embd when output.weight is absent
            data = tensor.detach().float().cpu().numpy()
            if name.endswith("self_attn.q_proj.weight"):
                data = permute_rotary(data, cfg.num_attention_heads)
            elif name.endswith("self_attn.k_proj.weight"):
                data = permute_rotary(data, n_kv)
            if ftype == "f16" and data.ndim == 2 and name not in F32_IN_F16:
                data = data.astype(np.float16)  # norms stay f32, as llama.cpp's converter does
            w.add_tensor(gguf_name(name), data)
            n += 1
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file(progress=True)
        w.close()
    return ExportInfo(out, ftype, n, out.stat().st_size)


def add_hparams(w, cfg) -> None:
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads or cfg.num_attention_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(float(_rope_theta(cfg)))
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    w.add_vocab_size(cfg.vocab_size)


def _rope_theta(cfg) -> float:
    theta = getattr(cfg, "rope_theta", None)
    if theta is None:
        params = getattr(cfg, "rope_parameters", None) or {}
        theta = params.get("rope_theta", 10000.0)
    return theta


Field = tuple  # (key, value, GGUFValueType, sub type or None)

# llama.cpp pre-tokenizer names tried for a byte-level BPE tokenizer, most common first. llama.cpp's
# own converter recognises them by hashing a probe tokenization; here each candidate is loaded
# vocab-only into llama.cpp and kept if it tokenizes the probes exactly like transformers.
PRE_TOKENIZERS = ("default", "llama3", "smollm", "gpt-2", "qwen2", "starcoder", "falcon", "deepseek-llm",
                  "deepseek-coder", "mpt", "olmo", "dbrx", "stablelm2", "command-r", "refact", "jais", "tekken",
                  "gpt-4o", "chatglm-bpe", "bloom", "poro-chat", "viking", "exaone", "minerva-7b", "codeshell")
PROBES = ("Below is an instruction.\n\n### Input:\nUser Preference: \"Alien (1979)\", \"Heat (1995)\"\n\n### Response:\n",
          "  leading  spaces\tand tabs\n\n\n 3333 1,234.5 don't I'm WE'LL", "Café naïve 東京 😀 ü ß — «quotes»")


def _add_tokenizer(w, ref: BaseRef, cfg) -> None:
    fields = _copy_gguf_tokenizer(ref.path) if ref.gguf_file else _hf_tokenizer(ref, cfg)
    add_fields(w, fields)


def add_fields(w, fields: list) -> None:
    for key, value, vtype, sub in fields:
        w.add_key_value(key, value, vtype, sub_type=sub)


def _copy_gguf_tokenizer(path: Path) -> list:
    """Every tokenizer.* field of the base GGUF, with its exact value types."""
    from gguf import GGUFReader, GGUFValueType

    reader = GGUFReader(path)
    out = []
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            vtype = field.types[0]
            out.append((key, field.contents(), vtype, field.types[1] if vtype == GGUFValueType.ARRAY else None))
    return out


def _hf_tokenizer(ref: BaseRef, cfg) -> list:
    """Byte-level BPE (tokenizer.json, e.g. SmolLM, LLaMA-3) or SentencePiece (tokenizer.model, LLaMA-1/2)."""
    import gguf

    V = gguf.GGUFValueType
    tok = load_tokenizer(ref)
    tj = ref.folder / "tokenizer.json"
    fields: list = []
    if (ref.folder / "tokenizer.model").exists():
        fields += _spm_tokenizer(ref.folder / "tokenizer.model")
    elif tj.exists():
        spec = json.loads(tj.read_text(encoding="utf-8"))
        model = spec.get("model", {})
        if model.get("type") != "BPE":
            raise RecchatError(f"{tj}: tokenizer type {model.get('type')!r} is not supported (BPE or SentencePiece)")
        vocab = tok.get_vocab()
        size = max(len(vocab), tok.vocab_size)
        tokens = [f"[PAD{i}]" for i in range(size)]
        types = [int(gguf.TokenType.UNUSED)] * size
        for text, i in vocab.items():
            tokens[i], types[i] = text, int(gguf.TokenType.NORMAL)
        for added in spec.get("added_tokens", []):
            types[added["id"]] = int(gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED)
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
        fields += [("tokenizer.ggml.model", "gpt2", V.STRING, None), ("tokenizer.ggml.pre", "default", V.STRING, None),
                   ("tokenizer.ggml.tokens", tokens, V.ARRAY, V.STRING),
                   ("tokenizer.ggml.token_type", types, V.ARRAY, V.INT32),
                   ("tokenizer.ggml.merges", merges, V.ARRAY, V.STRING)]
    else:
        raise RecchatError(f"{ref.folder}: no tokenizer.json or tokenizer.model to export")
    for attr, key in (("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"),
                      ("unk_token_id", "unknown_token_id"), ("pad_token_id", "padding_token_id")):
        value = getattr(tok, attr, None)
        if value is not None:
            fields.append((f"tokenizer.ggml.{key}", int(value), V.UINT32, None))
    fields.append(("tokenizer.ggml.add_bos_token", bool(getattr(tok, "add_bos_token", False)), V.BOOL, None))
    if getattr(tok, "chat_template", None):
        fields.append(("tokenizer.chat_template", tok.chat_template, V.STRING, None))
    if fields[0][1] == "gpt2":
        fields[1] = ("tokenizer.ggml.pre", _detect_pre(cfg, fields, tok), V.STRING, None)
    return fields


def _detect_pre(cfg, fields: list, tok) -> str:
    """The first llama.cpp pre-tokenizer under which llama.cpp tokenizes PROBES as transformers does."""
    import gguf
    import llama_cpp

    want = [tok(p, add_special_tokens=False)["input_ids"] for p in PROBES]
    with tempfile.TemporaryDirectory() as d:
        for name in PRE_TOKENIZERS:
            path = Path(d) / f"{name}.gguf"
            w = gguf.GGUFWriter(str(path), "llama")
            add_hparams(w, cfg)
            add_fields(w, [f if f[0] != "tokenizer.ggml.pre" else (f[0], name, f[2], None) for f in fields])
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            if _llama_cpp_tokens(llama_cpp, path, PROBES) == want:
                return name
    raise RecchatError("llama.cpp cannot reproduce this tokenizer's pre-tokenization with any known pre-tokenizer")


def _llama_cpp_tokens(llama_cpp, path: Path, texts) -> list[list[int]] | None:
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        return None
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        out = []
        for text in texts:
            data = text.encode()
            buf = (llama_cpp.llama_token * (len(data) + 8))()
            n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, len(buf), False, False)
            out.append(list(buf[:n]))
        return out
    finally:
        llama_cpp.llama_model_free(model)


def _spm_tokenizer(path: Path) -> list:
    import gguf

    V = gguf.GGUFValueType
    try:
        from sentencepiece import SentencePieceProcessor
    except ImportError:
        raise RecchatError("exporting a SentencePiece tokenizer needs `pip install sentencepiece`") from None
    sp = SentencePieceProcessor(model_file=str(path))
    tokens, scores, types = [], [], []
    T = gguf.TokenType
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(int(T.CONTROL if sp.is_control(i) else T.UNKNOWN if sp.is_unknown(i) else T.BYTE if sp.is_byte(i)
                         else T.UNUSED if sp.is_unused(i) else T.NORMAL))
    return [("tokenizer.ggml.model", "llama", V.STRING, None), ("tokenizer.ggml.pre", "default", V.STRING, None),
            ("tokenizer.ggml.tokens", tokens, V.ARRAY, V.STRING), ("tokenizer.ggml.scores", scores, V.ARRAY, V.FLOAT32),
            ("tokenizer.ggml.token_type", types, V.ARRAY, V.INT32)]


# ------------------------------------------------------------- quantizing
def quantize(src: Path, dst: Path, quant: str) -> None:
    """llama.cpp's own quantizer (llama_model_quantize), into a temp file renamed on success.

    q8_0 or q4_k_m; f32 and f16 files are written by `write_gguf` itself."""
    import llama_cpp

    ftypes = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M}
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftypes[quant]
    params.nthread = 0
    with atomic_path(dst) as tmp:
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if rc != 0:
            raise RecchatError(f"llama.cpp could not quantize {src} to {quant} (code {rc})")


def export(base: Path, adapter: Path | None, out: Path, quant: str, log=print) -> ExportInfo:
    """Merge, write F32/F16 with gguf-py, and quantize with llama.cpp when asked: one GGUF at `out`."""
    if quant not in QUANTS:
        raise RecchatError(f"unknown --quant {quant!r}; choose one of {', '.join(QUANTS)}")
    out = Path(out)
    ref = resolve_base(base)
    try:
        check_writable(out)
    except RecchatError as e:
        raise RecchatError(f"output path is not writable ({e})") from None
    model = merged_model(ref, adapter)
    meta = export_metadata(ref, adapter)
    if quant in ("f32", "f16"):
        info = write_gguf(model, ref, out, quant, meta)
    else:
        interim = out.with_name(f".{out.name}.f32.tmp")
        try:
            write_gguf(model, ref, interim, "f32", meta)
            log(f"quantizing to {quant} with llama.cpp")
            quantize(interim, out, quant)
        finally:
            interim.unlink(missing_ok=True)
        info = ExportInfo(out, quant, 0, out.stat().st_size)
    _verify(out)
    return info


def export_metadata(ref: BaseRef, adapter: Path | None) -> dict[str, str]:
    """general.* fields naming base, adapter and training data, and how the model expects its prompts."""
    meta = {"name": f"{ref.path.stem}+{Path(adapter).name if adapter else 'base'}",
            "base_model.0.name": ref.path.name, "source.url": file_ref(ref.path)}
    if not adapter:
        return meta
    meta["finetune"] = f"recchat LoRA {file_ref(Path(adapter) / ADAPTER_WEIGHTS)}"
    # the trainer writes it beside adapter/; a shipped adapter folder carries its own copy
    report = next((r for r in (Path(adapter).parent / "train_report.json", Path(adapter) / "train_report.json")
                   if r.exists()), None)
    if report:
        rep = json.loads(report.read_text())
        if rep.get("config", {}).get("notes"):
            meta[PROMPT_KEY] = "notes"
        if rep.get("config", {}).get("item_text"):
            meta[ITEM_TEXT_KEY] = "genres"
        if rep.get("config", {}).get("prompt_format", "alpaca") != "alpaca":
            meta[FORMAT_KEY] = rep["config"]["prompt_format"]
        train = rep.get("data", {}).get("train", [])
        meta["dataset.0.name"] = ", ".join(f"{Path(d['path']).name}:{d['sha256'][:12]}" for d in train)
    return meta


def _verify(path: Path) -> None:
    with open(path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise RecchatError(f"export wrote a file that is not GGUF: {path}")
