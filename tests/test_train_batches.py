"""Micro-batch order: every sample once per epoch, seeded (resume sees the same batches), bucketing pads less."""

from __future__ import annotations

import random

from trainer.config import LoraSettings
from trainer.loop import micro_batches


def padded(lengths, batches) -> int:
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_bucketed_batches_cover_every_sample_once_and_pad_less():
    rng = random.Random(7)
    lengths = [rng.randint(150, 420) for _ in range(500)]
    for bucket in (False, True):
        batches = micro_batches(lengths, 4, seed=0, epoch=1, bucket=bucket)
        assert sorted(i for b in batches for i in b) == list(range(500))
        assert batches == micro_batches(lengths, 4, seed=0, epoch=1, bucket=bucket), "seeded: resume sees the same"
        assert batches != micro_batches(lengths, 4, seed=0, epoch=2, bucket=bucket), "each epoch reshuffles"
    plain = padded(lengths, micro_batches(lengths, 4, 0, 1, False))
    bucketed = padded(lengths, micro_batches(lengths, 4, 0, 1, True))
    assert bucketed < 0.9 * plain


def test_lora_on_upper_layers_only():
    cfg = LoraSettings(layers=8).peft_config(30)
    assert list(cfg.layers_to_transform) == list(range(22, 30))
    assert LoraSettings().peft_config(30).layers_to_transform is None
    import pytest

    with pytest.raises(ValueError, match="has 30 layers"):
        LoraSettings(layers=31).peft_config(30)
