"""The training loop (nanoGPT-style, readable): LoRA on a causal LM, gradient accumulation,
a validation score each epoch, early stopping, checkpoints that survive Ctrl-C and crashes.

Layout of an output folder:
    adapter/            best adapter so far (peft save_pretrained)
    train_report.json   config, data hashes, per-epoch metrics, best epoch
    checkpoint/         last resumable state: adapter weights, optimizer, position in the epoch
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from db.errors import RecchatError
from db.fileio import write_json_atomic
from db.prompt import ALPACA, PromptFormat
from db.types import Sample

from .config import TrainConfig
from .encode import Encoded, Encoder, Objective, answer_loss, collate
from .torch_scoring import tokenizer_answer_ids, tokenizer_format

Metric = Callable[[object], dict]  # model -> metrics, with "score" (higher is better)


@dataclass
class TrainState:
    epoch: int = 0
    batch: int = 0  # micro-batches of `epoch` already applied (a multiple of grad_accum)
    step: int = 0  # optimizer steps so far
    best: float = -math.inf
    best_epoch: int | None = None
    bad_epochs: int = 0
    loss_sum: float = 0.0  # this epoch's training loss so far (kept in checkpoints, so a resumed
    loss_n: int = 0  # epoch reports the same mean as an unbroken one)
    history: list[dict] = field(default_factory=list)


class Interrupted(Exception):
    """Raised after a checkpoint was written on Ctrl-C."""


def _atomic_dir(final: Path, write: Callable[[Path], None]) -> None:
    """Write a folder beside `final`, then swap it in: a crash never leaves half a folder."""
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _without_epochs(config: dict | None) -> dict | None:
    return {k: v for k, v in config.items() if k != "epochs"} if config else config


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    order = list(range(n))
    random.Random(seed * 100_003 + epoch).shuffle(order)
    return order


BUCKET_SPAN = 16  # micro-batches whose samples are sorted by length together


def micro_batches(lengths: list[int], size: int, seed: int, epoch: int, bucket: bool) -> list[list[int]]:
    """The epoch's micro-batches of sample indices, seeded (a resumed epoch gets the same ones).

    `bucket`: within each span of BUCKET_SPAN micro-batches of the shuffled order, samples are sorted
    by length before cutting, then the micro-batches are shuffled again: batches pad to similar
    lengths, and the data still arrive in a random order."""
    order = epoch_order(len(lengths), seed, epoch)
    if bucket:
        span = size * BUCKET_SPAN
        order = [i for k in range(0, len(order), span) for i in sorted(order[k : k + span], key=lambda i: lengths[i])]
    micro = [order[i : i + size] for i in range(0, len(order), size)]
    if bucket:
        random.Random(seed * 100_003 + epoch + 1).shuffle(micro)
    return micro


def objective(kind: str, tokenizer, fmt: PromptFormat = ALPACA) -> Objective:
    if kind != "yes-no":
        return Objective(kind)
    return Objective(kind, tokenizer_answer_ids(tokenizer, fmt))


class Trainer:
    def __init__(self, model, tokenizer, cfg: TrainConfig, out: Path, *, metric: Metric | None,
                 report_extra: dict, log: Callable[[str], None] = print):
        import torch
        from accelerate import Accelerator

        self.acc = Accelerator(cpu=not torch.cuda.is_available())
        self.model, self.tok, self.cfg, self.out, self.metric = model, tokenizer, cfg, Path(out), metric
        self.report_extra, self.log = report_extra, log
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.model, self.optimizer = self.acc.prepare(self.model, self.optimizer)
        self.state = TrainState()
        self.fmt = tokenizer_format(tokenizer, cfg.prompt_format)
        self.objective = objective(cfg.loss, tokenizer, self.fmt)

    # ------------------------------------------------------------ checkpoints
    @property
    def ckpt_dir(self) -> Path:
        return self.out / "checkpoint"

    def _peft(self):
        return self.acc.unwrap_model(self.model)

    def save_checkpoint(self) -> None:
        import torch
        from peft import get_peft_model_state_dict

        if not self.acc.is_main_process:
            return

        def write(d: Path) -> None:
            torch.save(get_peft_model_state_dict(self._peft()), d / "adapter.pt")
            torch.save(self.optimizer.state_dict(), d / "optimizer.pt")
            torch.save(torch.get_rng_state(), d / "rng.pt")  # LoRA dropout: a resumed run draws the same masks
            (d / "state.json").write_text(json.dumps({**self.state.__dict__, "config": self.cfg.to_json(),
                                                      "data": self.report_extra.get("data")}, indent=1))

        _atomic_dir(self.ckpt_dir, write)

    def load_checkpoint(self) -> None:
        import torch
        from peft import set_peft_model_state_dict

        if not (self.ckpt_dir / "state.json").exists():
            raise RecchatError(f"nothing to resume: no checkpoint in {self.out}")
        saved = json.loads((self.ckpt_dir / "state.json").read_text())
        if saved.get("data") != self.report_extra.get("data"):
            raise RecchatError(f"cannot resume {self.out}: the training data differ from the checkpoint's")
        saved_cfg = TrainConfig.from_json(saved["config"]).to_json() if saved.get("config") else None  # new defaults
        if _without_epochs(saved_cfg) != _without_epochs(self.cfg.to_json()):  # --epochs may grow
            raise RecchatError(f"cannot resume {self.out}: the settings differ from the checkpoint's")
        set_peft_model_state_dict(self._peft(), torch.load(self.ckpt_dir / "adapter.pt", weights_only=True))
        self.optimizer.load_state_dict(torch.load(self.ckpt_dir / "optimizer.pt", weights_only=True))
        torch.set_rng_state(torch.load(self.ckpt_dir / "rng.pt", weights_only=True))
        self.state = TrainState(**{k: v for k, v in saved.items() if k in TrainState.__dataclass_fields__})
        self.log(f"resumed from epoch {self.state.epoch + 1}, micro-batch {self.state.batch}, step {self.state.step}")

    def save_best(self) -> None:
        if self.acc.is_main_process:
            _atomic_dir(self.out / "adapter", self._save_adapter)

    def _save_adapter(self, d: Path) -> None:
        """peft's save_pretrained, with the base named by its file name (peft records the path it was given)."""
        self._peft().save_pretrained(d)
        config = d / "adapter_config.json"
        spec = json.loads(config.read_text())
        if spec.get("base_model_name_or_path"):
            spec["base_model_name_or_path"] = Path(spec["base_model_name_or_path"]).name
        config.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")

    def write_report(self, done: bool) -> None:
        if self.acc.is_main_process:
            write_json_atomic(self.out / "train_report.json", {
                **self.report_extra, "config": self.cfg.to_json(), "finished": done,
                "best_epoch": self.state.best_epoch, "best_score": None if self.state.best == -math.inf else self.state.best,
                "steps": self.state.step, "epochs": self.state.history,
            })

    # ------------------------------------------------------------------ loop
    def fit(self, samples: list[Sample], resume: bool = False) -> TrainState:
        from tqdm import tqdm

        if resume:
            self.load_checkpoint()
        cfg = self.cfg
        encoder = Encoder(self.tok, cfg.max_len, self.fmt)
        encoded = [encoder.encode(s) for s in samples]
        self.objective.check(encoded)
        dropped = sum(e.dropped for e in encoded)
        if dropped:
            self.log(f"dropped {dropped} oldest history items from long prompts to fit --max-len {cfg.max_len}")
        n_micro = math.ceil(len(encoded) / cfg.micro_batch)
        with tqdm(total=cfg.epochs * n_micro, initial=self.state.epoch * n_micro + self.state.batch,
                  desc="training", unit="batch", dynamic_ncols=True, disable=not self.acc.is_main_process) as bar:
            try:
                while self.state.epoch < cfg.epochs:
                    t0 = time.perf_counter()
                    loss = self._run_epoch(encoded, bar)
                    if self._end_epoch(loss, time.perf_counter() - t0, bar):
                        break
            except KeyboardInterrupt:
                self.save_checkpoint()
                self.write_report(done=False)
                raise Interrupted(f"interrupted at epoch {self.state.epoch + 1}; continue with --resume") from None
        self.write_report(done=True)
        return self.state

    def _run_epoch(self, encoded: list[Encoded], bar) -> float:
        cfg, st = self.cfg, self.state
        micro = micro_batches([len(e.input_ids) for e in encoded], cfg.micro_batch, cfg.seed, st.epoch, cfg.bucket)
        self.model.train()
        recent: list[float] = []
        pad = self.tok.pad_token_id
        for start in range(st.batch, len(micro), cfg.grad_accum):
            chunk = micro[start : start + cfg.grad_accum]
            mine = chunk[self.acc.process_index :: self.acc.num_processes] or chunk[:1]
            for idx in mine:
                batch = {k: v.to(self.acc.device) if hasattr(v, "to") else v
                         for k, v in collate([encoded[i] for i in idx], pad).items()}
                loss = answer_loss(self.model, batch, self.objective) / len(mine)
                self.acc.backward(loss)
                recent.append(loss.item() * len(mine))
                st.loss_sum += recent[-1]
                st.loss_n += 1
            self.acc.clip_grad_norm_(self.model.parameters(), 1.0)
            self._set_lr()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            st.step += 1
            st.batch = start + len(chunk)  # only whole accumulation groups count as done
            bar.update(len(chunk))
            bar.set_postfix(epoch=st.epoch + 1, loss=f"{sum(recent[-20:]) / len(recent[-20:]):.4f}", refresh=False)
            if cfg.save_every and st.step % cfg.save_every == 0:
                self.save_checkpoint()
        return st.loss_sum / max(st.loss_n, 1)

    def _set_lr(self) -> None:
        w = self.cfg.warmup_steps
        lr = self.cfg.lr * min(1.0, (self.state.step + 1) / w) if w else self.cfg.lr
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def _end_epoch(self, loss: float, seconds: float, bar) -> bool:
        """Validate, keep the best adapter, checkpoint; True when early stopping says stop."""
        st = self.state
        metrics = self.metric(self._peft()) if self.metric and self.acc.is_main_process else {}
        score = metrics.get("score", -loss)
        entry = {"epoch": st.epoch + 1, "train_loss": loss, "seconds": round(seconds, 2), **metrics}
        st.history.append(entry)
        improved = score > st.best
        if improved:
            st.best, st.best_epoch, st.bad_epochs = score, st.epoch + 1, 0
            self.save_best()
        else:
            st.bad_epochs += 1
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float) and k != "score")
        bar.write(f"epoch {st.epoch + 1}: train loss {loss:.4f}" + (f", {shown}" if shown else "")
                  + f", {seconds:.0f}s" + (" (best)" if improved else ""))
        st.epoch += 1
        st.batch, st.loss_sum, st.loss_n = 0, 0.0, 0
        stop = st.bad_epochs >= self.cfg.patience
        self.save_checkpoint()
        self.write_report(done=False)
        if stop:
            bar.write(f"early stop: no better validation score for {self.cfg.patience} epochs; best epoch {st.best_epoch}")
        return stop
