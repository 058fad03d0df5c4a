"""The two TALLRec stages: instruction tuning on any Alpaca data, then rec-tuning on K-shot samples."""

from __future__ import annotations

import os
from pathlib import Path

from db.errors import RecchatError
from db.fileio import file_ref
from db.item_stats import ItemStats, with_notes
from db.prompt import PromptFormat, build_prompt
from db.types import Sample

from .base_model import BaseRef, load_model, load_tokenizer, resolve_base
from .config import TrainConfig
from .data import DataFile, kshot_per_file, load_alpaca, load_rec_files
from .loop import Trainer
from .torch_scoring import tokenizer_format, torch_p_yes


def peft_model(base_model, ref: BaseRef, cfg: TrainConfig, from_adapter: Path | None):
    """Wrap the base with a fresh LoRA, or continue a saved adapter (checked against the base)."""
    from peft import PeftModel, get_peft_model

    if cfg.grad_ckpt:
        base_model.gradient_checkpointing_enable()
        base_model.enable_input_require_grads()
    if from_adapter is None:
        try:
            lora = cfg.lora.peft_config(getattr(base_model.config, "num_hidden_layers", None))
        except ValueError as e:
            raise RecchatError(str(e)) from None
        return get_peft_model(base_model, lora)
    check_adapter(from_adapter)
    try:
        return PeftModel.from_pretrained(base_model, str(from_adapter), is_trainable=True)
    except (RuntimeError, ValueError, KeyError) as e:
        raise RecchatError(f"adapter {from_adapter} does not match base {ref.path}: {mismatch_reason(e)}") from None


def mismatch_reason(e: Exception) -> str:
    """The telling line of peft/torch's multi-line load error (usually the first size mismatch)."""
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    best = next((l for l in lines if "size mismatch" in l or "shape" in l), lines[0] if lines else type(e).__name__)
    return best[:240]


def check_adapter(path: Path) -> None:
    if not (Path(path) / "adapter_config.json").exists():
        raise RecchatError(f"not a LoRA adapter folder (no adapter_config.json): {path}")


def valid_auc_metric(tokenizer, samples: list[Sample], fmt: PromptFormat):
    """Validation AUC with the engine's scoring math (softmax of Yes/No at the first answer token)."""
    from sklearn.metrics import roc_auc_score

    prompts = [build_prompt(s.instruction, s.input, fmt) for s in samples]
    labels = [s.label for s in samples]

    def metric(model) -> dict:
        scores = torch_p_yes(model, tokenizer, prompts, batch_size=8, fmt=fmt)
        auc = roc_auc_score(labels, scores) if len(set(labels)) == 2 else float("nan")
        return {"score": auc, "valid_auc": auc}

    return metric


def weights_dtype(asked: str, cuda: bool) -> str:
    """bfloat16 halves a GPU's weight memory (7B on 24 GB); CPUs train in float32, which bf16 matmuls would slow."""
    return asked if asked != "auto" else ("bfloat16" if cuda else "float32")


def _prepare(base: Path, cfg: TrainConfig, from_adapter: Path | None, out: Path):
    import torch

    _check_out(out)
    torch.manual_seed(cfg.seed)
    cuda = torch.cuda.is_available()
    dtype = getattr(torch, weights_dtype(cfg.dtype, cuda))
    if not cuda:
        torch.set_num_threads(os.cpu_count() or 1)
    ref = resolve_base(base)
    tok = load_tokenizer(ref)
    model = peft_model(load_model(ref, dtype=dtype), ref, cfg, from_adapter)
    return ref, tok, model


def _check_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise RecchatError(f"output folder is not writable: {out} ({e.strerror or e})") from None


def _files(infos: list[DataFile]) -> list[dict]:
    return [{"path": Path(d.path).name, "sha256": d.sha256, "samples": d.samples} for d in infos]


def rec_tune(base: Path, train: list[Path], valid: list[Path], cfg: TrainConfig, out: Path, *,
             from_adapter: Path | None = None, resume: bool = False, log=print):
    pools, train_info = load_rec_files(train, "training")
    chosen = kshot_per_file(pools, cfg.k, cfg.seed)
    valid_samples: list[Sample] = []
    valid_info: list[DataFile] = []
    if valid:
        vpools, valid_info = load_rec_files(valid, "validation")
        for vp in vpools:
            valid_samples += vp[: cfg.valid_limit] if cfg.valid_limit else vp
    if cfg.notes:  # statistics from the whole training pool, as the engine's feature baseline uses
        stats = ItemStats.from_samples([s for pool in pools for s in pool])
        chosen = [with_notes(s, stats, own=True) for s in chosen]
        valid_samples = [with_notes(s, stats) for s in valid_samples]
    ref, tok, model = _prepare(base, cfg, from_adapter, out)
    log(f"rec-tuning {ref.path.name} on {len(chosen)} samples (K={cfg.k or 'all'} per file, seed {cfg.seed}), "
        f"validating on {len(valid_samples)}")
    extra = {"stage": "rec-tune", "base": file_ref(ref.path), "from_adapter": Path(from_adapter).name if from_adapter else None,
             "data": {"train": _files(train_info), "valid": _files(valid_info), "train_samples": len(chosen)}}
    metric = valid_auc_metric(tok, valid_samples, tokenizer_format(tok, cfg.prompt_format)) if valid_samples else None
    trainer = Trainer(model, tok, cfg, out, metric=metric, report_extra=extra, log=log)
    return trainer.fit(chosen, resume=resume)


def instruct_tune(base: Path, train: Path, cfg: TrainConfig, out: Path, resume: bool = False, log=print):
    samples, info = load_alpaca(train)
    ref, tok, model = _prepare(base, cfg, None, out)
    log(f"instruction-tuning {ref.path.name} on {len(samples)} samples")
    extra = {"stage": "instruct-tune", "base": file_ref(ref.path), "data": {"train": _files([info])}}
    return Trainer(model, tok, cfg, out, metric=None, report_extra=extra, log=log).fit(samples, resume=resume)
