"""The P(Yes) scorer on the real SmolLM2 GGUF: fast path equals full prompt, bad models are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gguf import GGUFWriter

from db import RecchatError
from db.prompt import build_input, build_prompt, parse_input
from db.prompt import p_yes_from_logits
from db.gguf_check import default_model_path
from engine.llm.scorer import LlamaScorer
from tests.conftest import SHARED, needs_shared, p_yes


def _published(n: int, start: int = 0) -> list[dict]:
    return json.loads((SHARED / "tallrec" / "movie_test.json").read_text())[start : start + n]


@needs_shared
def test_shared_prefix_matches_full_prompt_for_one_user(scorer):
    samples = _published(44)
    user = parse_input("movie", samples[0]["input"])
    targets = [parse_input("movie", s["input"]).target for s in samples[20:44]]
    prompts = [build_prompt(samples[0]["instruction"], build_input("movie", user.liked, user.disliked, t)) for t in targets]
    fast = p_yes(scorer, prompts)
    full = [scorer.score_full(p).p_yes for p in prompts[:8]]
    assert max(abs(a - b) for a, b in zip(fast, full)) <= 1e-4
    assert all(0.0 < p < 1.0 for p in fast)
    assert len(set(np.round(fast, 6))) > 5, "different targets get different scores"


@needs_shared
def test_shared_header_matches_full_prompt_across_users(scorer):
    samples = _published(8, start=400)
    prompts = [build_prompt(s["instruction"], s["input"]) for s in samples]
    fast = p_yes(scorer, prompts)
    full = [scorer.score_full(p).p_yes for p in prompts]
    assert max(abs(a - b) for a, b in zip(fast, full)) <= 1e-4


def test_answer_tokens_and_softmax(scorer):
    assert scorer.runner.piece(scorer.yes_id).strip() == "Yes"
    assert scorer.runner.piece(scorer.no_id).strip() == "No"
    assert p_yes_from_logits(2.0, 2.0) == 0.5
    assert abs(p_yes_from_logits(3.0, 1.0) - 1 / (1 + np.exp(-2.0))) < 1e-12
    s = scorer.score_full(build_prompt("Answer.", "Is water wet?"))
    assert s.p_yes == pytest.approx(p_yes_from_logits(s.logit_yes, s.logit_no))


def test_prompt_longer_than_context():
    small = LlamaScorer(n_ctx=256, n_batch=256)
    with pytest.raises(RecchatError, match=r"prompt is \d+ tokens, longer than the model context of 256"):
        p_yes(small, [build_prompt("x", "word " * 400)])


def test_missing_file(tmp_path):
    with pytest.raises(RecchatError, match="model not found"):
        LlamaScorer(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(RecchatError, match=r"not a GGUF file: .*model.gguf \(starts with b'PK\\x03\\x04'\)"):
        LlamaScorer(f)


def test_truncated_file(tmp_path):
    src = default_model_path().read_bytes()
    for cut in (2_000_000, 200):  # inside the tensor data, inside the header
        f = tmp_path / f"cut{cut}.gguf"
        f.write_bytes(src[:cut])
        with pytest.raises(RecchatError, match="truncated"):
            LlamaScorer(f)


def test_architecture_llama_cpp_cannot_run(tmp_path):
    f = tmp_path / "alien.gguf"
    w = GGUFWriter(str(f), "notarealarch")
    w.add_name("alien")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(RecchatError, match=r"llama.cpp cannot load .*alien.gguf \(architecture 'notarealarch'\)"):
        LlamaScorer(f)
