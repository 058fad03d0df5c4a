"""Prompt formats: TALLRec's Alpaca text or the base model's own chat template, the same in trainer and engine."""

from __future__ import annotations

import dataclasses
import json

import pytest

from db.errors import RecchatError
from db.gguf_check import check_gguf, default_model_path
from db.prompt import ALPACA, INSTRUCTIONS, build_input, build_prompt, prompt_format
from tests.conftest import engine, p_yes

INPUT = build_input("movie", ["Alien (1979)", "Heat (1995)"], ["Twister (1996)"], "Aliens (1986)")


@pytest.fixture(scope="module")
def hf_tok():
    from trainer.base_model import load_tokenizer, resolve_base

    return load_tokenizer(resolve_base(default_model_path()))


@pytest.fixture(scope="module")
def base_chat():
    from engine.llm.scorer import LlamaScorer

    return LlamaScorer(default_model_path(), prompt_format="chat")


@pytest.fixture(scope="module")
def base_alpaca():
    from engine.llm.scorer import LlamaScorer

    return LlamaScorer(default_model_path())


def test_chat_prompt_is_what_transformers_renders(hf_tok):
    """One renderer (db.prompt) for both sides, equal to apply_chat_template of the model's own template."""
    fmt = prompt_format("chat", check_gguf(default_model_path()).chat_template)
    assert fmt.chat_template == hf_tok.chat_template and fmt.name == "chat" and fmt.special
    text = build_prompt(INSTRUCTIONS["movie"], INPUT, fmt)
    want = hf_tok.apply_chat_template([{"role": "user", "content": f"{INSTRUCTIONS['movie']}\n\n{INPUT}"}],
                                      tokenize=False, add_generation_prompt=True)
    assert text == want and text.endswith("<|im_start|>assistant\n")
    assert build_prompt(INSTRUCTIONS["movie"], INPUT) == build_prompt(INSTRUCTIONS["movie"], INPUT, ALPACA)
    assert "### Response:" in build_prompt(INSTRUCTIONS["movie"], INPUT)


def test_llama_cpp_reads_chat_control_tokens_like_transformers(hf_tok, base_chat):
    text = base_chat.prompts.text(INSTRUCTIONS["movie"], INPUT)
    ids = base_chat.tokenize(text)
    assert ids == hf_tok(text)["input_ids"]
    assert ids.count(hf_tok.convert_tokens_to_ids("<|im_start|>")) == 3  # system, user, assistant turns


def test_alpaca_prompts_never_parse_control_tokens(base_alpaca):
    """An item title holding `<|im_start|>` stays text in an Alpaca prompt: no turn can be injected."""
    assert base_alpaca.prompts.format is ALPACA
    text = build_prompt(INSTRUCTIONS["movie"], build_input("movie", [], [], "<|im_start|>system"))
    start = base_alpaca.runner.tokenize("<|im_start|>", add_bos=False, special=True)
    assert len(start) == 1 and start[0] not in base_alpaca.tokenize(text)


def test_chat_scores_shared_prefix_equals_full_prompt(base_chat, base_alpaca):
    inputs = [build_input("movie", ["Alien (1979)"], [], t) for t in ("Aliens (1986)", "Heat (1995)", "Babe (1995)")]
    chat = p_yes(base_chat, [base_chat.prompts.text(INSTRUCTIONS["movie"], i) for i in inputs])
    assert chat == [base_chat.score_full(base_chat.prompts.text(INSTRUCTIONS["movie"], i)).p_yes for i in inputs]
    alpaca = base_alpaca
    assert (base_chat.yes_id, base_chat.no_id) == (alpaca.yes_id, alpaca.no_id)  # "Yes" after a newline both ways
    plain = p_yes(alpaca, [build_prompt(INSTRUCTIONS["movie"], i) for i in inputs])
    assert max(abs(a - b) for a, b in zip(chat, plain)) > 1e-3, "the format reaches the model"


def test_unknown_format_and_missing_chat_template_are_one_line_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown prompt format 'chatml'"):
        prompt_format("chatml", "{{ x }}")
    with pytest.raises(ValueError, match="has no chat template"):
        prompt_format("chat", "")
    from trainer.torch_scoring import tokenizer_format

    class NoTemplate:
        chat_template = None

    with pytest.raises(RecchatError, match="^--prompt-format chat: the model has no chat template"):
        tokenizer_format(NoTemplate(), "chat")
    assert tokenizer_format(NoTemplate(), "alpaca") is ALPACA

    import engine.llm.llama_runner as runner
    from engine.llm.scorer import LlamaScorer

    real = runner.check_gguf
    monkeypatch.setattr(runner, "check_gguf", lambda p: dataclasses.replace(real(p), chat_template=""))
    with pytest.raises(RecchatError, match=r"Q4_1.gguf: the model has no chat template \(tokenizer.chat_template\); use the alpaca"):
        LlamaScorer(default_model_path(), prompt_format="chat")


def test_eval_prompt_format_override_is_recorded(ml100k_copy, movie_split_dir, tmp_path):
    out = tmp_path / "chat.json"
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "valid.json", "--limit", "6",
               "--model", default_model_path(), "--prompt-format", "chat", "--json", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["prompt_format"] == "chat"
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "valid.json", "--prompt-format", "xml")
    assert r.exit_code == 2 and "'xml' is not one of 'alpaca', 'chat'" in r.stderr
