"""The torch backend of the Scorer protocol: a transformers model scores prompts with P(Yes).

Used for validation AUC while training and as the HF baseline in bench/score_speed.py. It returns the
same `Score` (first answer token's Yes/No logits) as the llama.cpp backends, so P(Yes) has one
definition (db.scoring.Score.p_yes).
"""

from __future__ import annotations

from typing import Sequence

from db.errors import RecchatError
from db.prompt import ALPACA, PromptFormat, answer_token_ids, prompt_format
from db.scoring import Progress, PromptSettings, Score

from .encode import left_pad


def tokenizer_format(tokenizer, name: str) -> PromptFormat:
    """The prompt format `name` for this tokenizer (transformers parses chat control tokens in text itself)."""
    try:
        return prompt_format(name, getattr(tokenizer, "chat_template", None))
    except ValueError as e:
        raise RecchatError(f"--prompt-format {name}: {e}") from None


def tokenizer_answer_ids(tokenizer, fmt: PromptFormat = ALPACA) -> tuple[int, int]:
    return answer_token_ids(lambda text: tokenizer(text)["input_ids"], fmt)


class TorchScorer:
    """A transformers model (with or without a LoRA adapter) behind the Scorer protocol.

    Left padding with explicit positions, so a prompt's logits do not depend on its batch.
    `prompts` says how the texts handed to `score` were written; it decides which token reads as "Yes".
    """

    def __init__(self, model, tokenizer, prompts: PromptSettings = PromptSettings(), batch_size: int = 8,
                 name: str = "torch model"):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.prompts = prompts
        self.name = self.identity = name
        self.yes_id, self.no_id = tokenizer_answer_ids(tokenizer, prompts.format)

    def score(self, prompts: Sequence[str], progress: Progress | None = None) -> list[Score]:
        import torch

        model = self.model
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        out: list[Score] = []
        with torch.no_grad():
            for i in range(0, len(prompts), self.batch_size):
                rows = [self.tokenizer(p)["input_ids"] for p in prompts[i : i + self.batch_size]]
                ids, mask, pos = (t.to(device) for t in left_pad(rows, self.tokenizer.pad_token_id or 0))
                logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1).logits
                pair = logits[:, -1, [self.yes_id, self.no_id]].float().tolist()
                out.extend(Score(yes, no) for yes, no in pair)
                if progress:
                    progress(len(rows))
        if was_training:
            model.train()
        return out


def torch_p_yes(model, tokenizer, prompts: Sequence[str], batch_size: int = 8,
                progress: Progress | None = None, fmt: PromptFormat = ALPACA) -> list[float]:
    """P(Yes) of each prompt, written in format `fmt`."""
    scorer = TorchScorer(model, tokenizer, PromptSettings(fmt), batch_size)
    return [s.p_yes for s in scorer.score(prompts, progress)]
