"""Real peak memory and tokens/s of LoRA training steps on a random-init Llama of LLaMA-7B's exact shapes.

    python bench/gpu_7b_memory.py [--shape llama-7b] [--seq 512] [--micro-batch 1 4 8] [--steps 3]

Runs the trainer's own pieces (LoRA config, `answer_loss`, AdamW over the LoRA weights) on CUDA in
bf16, with and without gradient checkpointing, and prints measured peak memory next to
`trainer plan`'s estimate. Without a GPU, `--device cpu --shape smollm2-135m` runs the same code
small (tokens/s only; peak memory is a CUDA counter).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_table  # noqa: E402


def build(shape, device, dtype, grad_ckpt: bool):
    import torch
    from peft import get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from trainer.config import LoraSettings

    cfg = LlamaConfig(vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                      num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                      num_key_value_heads=shape.kv_heads, tie_word_embeddings=shape.tied,
                      max_position_embeddings=4096)
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(dtype)
    if grad_ckpt:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    return get_peft_model(model, LoraSettings().peft_config())


def batch(shape, micro: int, seq: int, device):
    import torch

    ids = torch.randint(3, shape.vocab, (micro, seq), device=device)
    labels = torch.full_like(ids, -100)
    labels[:, -3:] = ids[:, -3:]
    mask = torch.ones_like(ids)
    pos = torch.arange(seq, device=device).expand(micro, seq)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "labels": labels, "answer_len": 3}


def measure(shape, device, dtype, micro: int, seq: int, grad_ckpt: bool, steps: int) -> tuple[float | None, float]:
    import torch

    from trainer.encode import answer_loss

    model = build(shape, device, dtype, grad_ckpt)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        b = batch(shape, micro, seq, device)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        answer_loss(model, b).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 1024**3 if device == "cuda" else None
    del model, opt
    if device == "cuda":
        torch.cuda.empty_cache()
    steady = sorted(times[1:] or times)[len(times[1:] or times) // 2]
    return peak, micro * seq / steady


def main() -> None:
    import torch

    from trainer.plan import GiB, SHAPES, plan

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="llama-7b", choices=sorted(SHAPES))
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--micro-batch", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU machine, or pass --device cpu --shape smollm2-135m")
    shape = SHAPES[args.shape]
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    rows = []
    for ckpt in (False, True):
        for mb in args.micro_batch:
            est = plan(shape, args.seq, ckpt).peak(mb) / GiB
            try:
                peak, tps = measure(shape, args.device, dtype, mb, args.seq, ckpt, args.steps)
                rows.append([args.shape, "on" if ckpt else "off", mb, args.seq,
                             f"{peak:.2f}" if peak is not None else "-", f"{est:.2f}", f"{tps:.0f}"])
            except torch.OutOfMemoryError:
                rows.append([args.shape, "on" if ckpt else "off", mb, args.seq, "OOM", f"{est:.2f}", "-"])
                torch.cuda.empty_cache()
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"device {name}, dtype {dtype}, LoRA r=8 q_proj,v_proj, {args.steps} steps each (median after the first)")
    print_table(["shape", "grad ckpt", "micro-batch", "seq", "peak GiB (measured)", "peak GiB (plan)", "tokens/s"], rows)


if __name__ == "__main__":
    main()
