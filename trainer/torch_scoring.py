"""P(Yes) with a transformers model: the same math as the engine's llama.cpp scorer.

Used for validation AUC while training and as the HF baseline in bench/score_speed.py.
"""

from __future__ import annotations

from typing import Callable, Sequence

from db.errors import RecchatError
from db.prompt import ALPACA, PromptFormat, answer_token_ids, prompt_format

from .encode import left_pad


def tokenizer_format(tokenizer, name: str) -> PromptFormat:
    """The prompt format `name` for this tokenizer (transformers parses chat control tokens in text itself)."""
    try:
        return prompt_format(name, getattr(tokenizer, "chat_template", None))
    except ValueError as e:
        raise RecchatError(f"--prompt-format {name}: {e}") from None


def tokenizer_answer_ids(tokenizer, fmt: PromptFormat = ALPACA) -> tuple[int, int]:
    return answer_token_ids(lambda text: tokenizer(text)["input_ids"], fmt)


def torch_p_yes(model, tokenizer, prompts: Sequence[str], batch_size: int = 8,
                progress: Callable[[int], None] | None = None, fmt: PromptFormat = ALPACA) -> list[float]:
    """softmax over the Yes/No logits at each prompt's last token (left padding, explicit positions).

    `fmt` is the format `prompts` are written in: it decides which token reads as "Yes" after them.
    """
    import torch

    yes, no = tokenizer_answer_ids(tokenizer, fmt)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            rows = [tokenizer(p)["input_ids"] for p in prompts[i : i + batch_size]]
            ids, mask, pos = (t.to(device) for t in left_pad(rows, tokenizer.pad_token_id or 0))
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1).logits
            pair = logits[:, -1, [yes, no]].float()
            out.extend(torch.softmax(pair, dim=-1)[:, 0].tolist())
            if progress:
                progress(len(rows))
    if was_training:
        model.train()
    return out
