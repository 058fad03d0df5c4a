"""`trainer plan`: parameter counts match real Llama modules; the estimate picks a micro-batch for 22 GiB."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from transformers import LlamaConfig, LlamaForCausalLM

from trainer.cli import cli
from trainer.plan import GiB, SHAPES, plan


@pytest.mark.parametrize("name", ["llama-7b", "smollm2-135m"])
def test_parameter_counts_match_transformers(name):
    s = SHAPES[name]
    cfg = LlamaConfig(vocab_size=s.vocab, hidden_size=s.hidden, intermediate_size=s.intermediate, num_hidden_layers=s.layers,
                      num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, tie_word_embeddings=s.tied)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    assert s.params() == sum(p.numel() for p in model.parameters())


def test_lora_parameter_count_matches_peft():
    from peft import LoraConfig, get_peft_model

    s = SHAPES["smollm2-135m"]
    cfg = LlamaConfig(vocab_size=s.vocab, hidden_size=s.hidden, intermediate_size=s.intermediate, num_hidden_layers=s.layers,
                      num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, tie_word_embeddings=True)
    with torch.device("meta"):
        model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert s.lora_params(8, ("q_proj", "v_proj")) == trainable


def test_7b_on_a_3090():
    s = SHAPES["llama-7b"]
    off, on = plan(s, 512, False), plan(s, 512, True)
    assert 12.4 < off.weights / GiB < 12.7  # 6.74B bf16
    assert on.activations_per_sample < off.activations_per_sample / 8
    assert off.largest_micro_batch(22 * GiB) >= 1 and on.largest_micro_batch(22 * GiB) > 16
    assert on.peak(on.largest_micro_batch(22 * GiB)) <= 22 * GiB < on.peak(on.largest_micro_batch(22 * GiB) + 1)


def test_plan_command():
    r = CliRunner().invoke(cli, ["plan", "--base-config", "llama-7b", "--grad-ckpt", "--micro-batch", "8"])
    assert r.exit_code == 0, r.output
    assert "6.74B parameters" in r.output and "micro-batch 8 fits in 22 GiB with gradient checkpointing" in r.output
