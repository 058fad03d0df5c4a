"""Export from a Hugging Face folder (what a LLaMA-7B user has): tensors, rotary permutation and the
BPE tokenizer rebuilt from tokenizer.json; llama.cpp then agrees with transformers."""

from __future__ import annotations

import json

import pytest

from tests.conftest import p_yes
from click.testing import CliRunner

from db.gguf_check import default_model_path
from db.prompt import build_prompt
from trainer.cli import cli


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    from trainer.base_model import load_model, load_tokenizer, resolve_base

    ref = resolve_base(default_model_path())
    out = tmp_path_factory.mktemp("hf") / "smollm2"
    loaded, tok = load_model(ref), load_tokenizer(ref)
    config = loaded.config.to_dict()
    config.pop("quantization_config", None)  # a plain fp32 checkpoint, as the Hub ships one
    plain = LlamaForCausalLM(LlamaConfig(**config))
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_hf_folder_export_runs_in_llama_cpp(hf_folder, movie_split_dir, tmp_path):
    from engine.llm.scorer import LlamaScorer
    from trainer.base_model import load_model, load_tokenizer, resolve_base
    from trainer.torch_scoring import torch_p_yes

    out = tmp_path / "from-hf.gguf"
    r = CliRunner().invoke(cli, ["export", "--base", str(hf_folder), "--out", str(out), "--quant", "f32"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    samples = json.loads((movie_split_dir / "test.json").read_text())[:6]
    prompts = [build_prompt(s["instruction"], s["input"]) for s in samples] + ["Café, naïve: 東京 😀 don't"]
    ref = resolve_base(hf_folder)
    tok = load_tokenizer(ref)
    scorer = LlamaScorer(out)
    for p in prompts:
        assert scorer.runner.tokenize(p) == tok(p)["input_ids"]
    hf = torch_p_yes(load_model(ref), tok, prompts[:6])
    assert max(abs(a - b) for a, b in zip(hf, p_yes(scorer, prompts[:6]))) <= 1e-4
