"""Turn TALLRec samples into token ids and labels, and the training losses over their answers.

The target item is never cut: when a prompt is over `max_len`, history items are removed from the
front of the longer of the liked/disliked lists (each list is oldest-first) until it fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.errors import RecchatError
from db.prompt import ALPACA, PromptFormat, build_input, build_prompt, parse_input, sample_domain
from db.types import Sample

IGNORE = -100  # label value the loss skips

LOSSES = {
    "answer": "cross-entropy over every answer token, end-of-sequence included (TALLRec)",
    "first": "cross-entropy over the first answer token only (the one the scorer reads)",
    "yes-no": "two-way cross-entropy over the first token's Yes/No logits: exactly the scorer's P(Yes)",
}


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    dropped: int  # history items removed to fit max_len


def fit_prompt(sample: Sample, count_tokens, budget: int, fmt: PromptFormat = ALPACA) -> tuple[str, int]:
    """The sample's prompt with the fewest oldest history items dropped so it is <= budget tokens."""
    prompt = build_prompt(sample.instruction, sample.input, fmt)
    if count_tokens(prompt) <= budget:
        return prompt, 0
    domain = sample_domain(sample.input)
    p = parse_input(domain, sample.input)
    liked, disliked, dropped = list(p.liked), list(p.disliked), 0
    while liked or disliked:
        (liked if len(liked) >= len(disliked) else disliked).pop(0)
        dropped += 1
        prompt = build_prompt(sample.instruction, build_input(domain, liked, disliked, p.target, p.notes), fmt)
        if count_tokens(prompt) <= budget:
            return prompt, dropped
    raise RecchatError(f"sample for target {p.target!r} does not fit in {budget} tokens even without history")


class Encoder:
    """Tokenizes samples for training; the answer's token ids are found once per distinct answer."""

    def __init__(self, tokenizer, max_len: int, fmt: PromptFormat = ALPACA):
        self.tok, self.max_len, self.fmt = tokenizer, max_len, fmt
        self._probe = build_prompt("x", "y", fmt)
        self._probe_len = len(self._ids(self._probe))
        self._answers: dict[str, list[int]] = {}

    def _ids(self, text: str) -> list[int]:
        return self.tok(text)["input_ids"]

    def answer_ids(self, output: str) -> list[int]:
        """The answer as the model sees it right after a prompt, plus end-of-sequence."""
        if output not in self._answers:
            ids = self._ids(self._probe + output)[self._probe_len :]
            eos = [self.tok.eos_token_id] if self.tok.eos_token_id is not None else []
            self._answers[output] = ids + eos
        return self._answers[output]

    def encode(self, sample: Sample) -> Encoded:
        answer = self.answer_ids(sample.output.strip())
        budget = self.max_len - len(answer)
        try:
            parse_input(sample_domain(sample.input), sample.input)
            prompt, dropped = fit_prompt(sample, lambda text: len(self._ids(text)), budget, self.fmt)
        except ValueError:  # not a TALLRec input (instruction tuning): no history to drop
            prompt, dropped = build_prompt(sample.instruction, sample.input, self.fmt), 0
        ids = self._ids(prompt)
        if len(ids) > budget:
            raise RecchatError(f"a sample is {len(ids) + len(answer)} tokens, over --max-len {self.max_len}")
        return Encoded(ids + answer, [IGNORE] * len(ids) + answer, dropped)


def left_pad(rows: list[list[int]], pad_id: int, fill: int | None = None):
    """Left-padded ids, attention mask and explicit position ids (so padding never shifts positions).

    Left padding puts every row's last token in the last column: the model then needs logits only
    for the last few columns (`logits_to_keep`), which skips most of the 49k-wide output layer.
    """
    import torch

    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad_id if fill is None else fill, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, n - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, n - len(r):] = 1
    pos = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return ids, mask, pos


def _answer_len(e: Encoded) -> int:
    return sum(1 for x in e.labels if x != IGNORE)


def collate(batch: list[Encoded], pad_id: int) -> dict:
    """Tensors for `answer_loss`: inputs left-padded, labels aligned the same way."""
    import torch

    ids, mask, pos = left_pad([e.input_ids for e in batch], pad_id)
    labels, _, _ = left_pad([e.labels for e in batch], pad_id, fill=IGNORE)
    lens = [_answer_len(e) for e in batch]
    return {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "labels": labels,
            "answer_len": max(lens), "answer_lens": torch.tensor(lens, dtype=torch.long)}


@dataclass(frozen=True)
class Objective:
    """Which answer tokens the loss reads (a key of LOSSES); `yes_no` token ids for "yes-no"."""

    kind: str = "answer"
    yes_no: tuple[int, int] | None = None

    def check(self, encoded: list[Encoded]) -> None:
        """"yes-no" can only train samples whose answer starts with the Yes or No token."""
        if self.kind != "yes-no":
            return
        for e in encoded:
            first = e.labels[len(e.labels) - _answer_len(e)]
            if first not in self.yes_no:
                raise RecchatError("--loss yes-no needs answers that start with Yes or No; use --loss answer")


def answer_loss(model, batch: dict, objective: Objective | None = None):
    """Mean cross-entropy over the answer tokens `objective` picks; logits only where answers are predicted."""
    import torch
    import torch.nn.functional as F

    a = batch["answer_len"]
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   position_ids=batch["position_ids"], logits_to_keep=a + 1).logits
    pred = logits[:, :-1, :].float()
    target = batch["labels"][:, -a:]
    kind = objective.kind if objective else "answer"
    if kind == "answer":
        return F.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=IGNORE)
    rows = torch.arange(pred.shape[0], device=pred.device)
    col = (a - batch["answer_lens"]).to(pred.device)  # left padding: each row's answer ends in the last column
    first_pred, first_target = pred[rows, col], target[rows, col]
    if kind == "first":
        return F.cross_entropy(first_pred, first_target)
    yes, no = objective.yes_no
    return F.cross_entropy(first_pred[:, [yes, no]], (first_target == no).long())
