"""Training settings as dataclasses (peft-style): defaults are TALLRec's, every field overridable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    layers: int | None = None  # LoRA only on the top N decoder layers: backward stops below them (None: all)

    def peft_config(self, n_layers: int | None = None):
        from peft import LoraConfig, TaskType

        upper = None
        if self.layers is not None:
            if n_layers is None or not 0 < self.layers <= n_layers:
                raise ValueError(f"--lora-layers {self.layers}: the model has {n_layers} layers")
            upper = list(range(n_layers - self.layers, n_layers))
        return LoraConfig(task_type=TaskType.CAUSAL_LM, r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.target_modules), bias="none", layers_to_transform=upper)


DTYPES = ("auto", "float32", "bfloat16")


@dataclass
class TrainConfig:
    k: int | None = None  # K-shot: draw K training samples (None: all)
    seed: int = 0
    epochs: int = 20
    lr: float = 1e-4
    micro_batch: int = 4
    grad_accum: int = 8  # effective batch = micro_batch * grad_accum (TALLRec: 128; small K needs fewer)
    max_len: int = 512
    weight_decay: float = 0.0
    warmup_steps: int = 0
    patience: int = 3  # epochs without a better validation AUC before stopping
    valid_limit: int | None = 200  # validation samples scored each epoch
    save_every: int = 0  # optimizer steps between checkpoints inside an epoch (0: only at epoch ends)
    grad_ckpt: bool = False
    loss: str = "answer"  # which answer tokens train (trainer.encode.LOSSES)
    prompt_format: str = "alpaca"  # db.prompt.PROMPT_FORMATS: TALLRec's Alpaca text or the base model's chat template
    notes: bool = False  # write the user's like count and the target's like-rate into prompts (db.item_stats)
    item_text: bool = False  # the training split names items with their genres (engine data split --item-text)
    bucket: bool = False  # micro-batches of similar length (less padding); order still seeded and resumable
    dtype: str = "auto"  # weights while training: auto = bfloat16 on CUDA, float32 on CPU (DTYPES)
    lora: LoraSettings = field(default_factory=LoraSettings)

    def to_json(self) -> dict:
        d = asdict(self)
        d["lora"]["target_modules"] = list(self.lora.target_modules)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        lora = LoraSettings(**{**d.pop("lora"), })
        lora.target_modules = tuple(lora.target_modules)
        return cls(**d, lora=lora)
