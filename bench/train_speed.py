"""Rec-tuning throughput: today's loop against the cheaper variants, same samples, one run.

Each variant is a real `trainer rec-tune` process on the same K training samples (one epoch, no
validation); samples/s come from the epoch time in its train_report.json (model loading excluded).

    .venv/bin/python -m bench.train_speed --train splits/movie/train.json --k 64 --lora-layers 8

Variants: all layers with shuffled micro-batches (today), length-bucketed micro-batches, LoRA on the
top N layers only (backward stops below them), both, both with N/2 layers, and both with micro-batches
of 8 (same 16 samples per optimizer step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import print_table

TRAINER = [sys.executable, "-c", "from trainer.cli import main; main()"]


def run(train: str, k: int, extra: list[str], out: Path) -> dict:
    cmd = [*TRAINER, "rec-tune", "--train", train, "--k", str(k), "--epochs", "1", "--micro-batch", "4",
           "--grad-accum", "4", "--lr", "1e-3", "--out", str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(extra) or 'baseline'} failed: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads((out / "train_report.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--k", type=int, default=64, help="training samples per variant")
    ap.add_argument("--lora-layers", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    variants = {
        "today: all layers, shuffled": [],
        "length-bucketed": ["--bucket"],
        f"LoRA on top {args.lora_layers} layers": ["--lora-layers", str(args.lora_layers)],
        f"top {args.lora_layers} layers + bucketed": ["--lora-layers", str(args.lora_layers), "--bucket"],
        f"top {args.lora_layers // 2} layers + bucketed": ["--lora-layers", str(args.lora_layers // 2), "--bucket"],
        f"top {args.lora_layers} layers + bucketed, micro-batch 8 x 2": ["--lora-layers", str(args.lora_layers),
                                                                          "--bucket", "--micro-batch", "8", "--grad-accum", "2"],
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for i, (name, extra) in enumerate(variants.items()):
                report = run(args.train, args.k, extra, Path(tmp) / f"{rep}-{i}")
                epoch = report["epochs"][0]
                rates[name].append(args.k / epoch["seconds"])
                losses[name] = epoch["train_loss"]
    base = statistics.median(rates[next(iter(variants))])
    rows = [[name, f"{statistics.median(r):.2f}", f"{min(r):.2f}-{max(r):.2f}", f"{statistics.median(r) / base:.2f}x",
             f"{losses[name]:.4f}"] for name, r in rates.items()]
    print(f"{args.k} samples of {args.train}, micro-batch 4, grad-accum 4, 1 epoch, {args.repeats} repeat(s)")
    print_table(["variant", "samples/s (median)", "range", "vs today", "epoch train loss"], rows)


if __name__ == "__main__":
    main()
