"""A GGUF base is converted once and kept in the user cache: the kept copy must load to exactly the
weights and tokenizer that the GGUF gives, and a cache that cannot be written must cost nothing but time."""

from __future__ import annotations

import pytest

from db.gguf_check import default_model_path
from trainer import base_model
from trainer.base_model import converted_folder, load_model, load_tokenizer, resolve_base

TEXTS = ["<|im_start|>user\nUser likes: Amélie (2001), Der Himmel über Berlin (1987)<|im_end|>", "Yes. No.", "🎬 ok"]


def test_the_kept_conversion_is_the_gguf_exactly(monkeypatch):
    import torch

    ref = resolve_base(default_model_path())
    folder = converted_folder(ref)
    if (folder / "model").is_dir() and (folder / "tokenizer").is_dir():
        with monkeypatch.context() as m:  # already kept (a warm cache): read the GGUF itself once
            m.setattr(base_model, "CONVERT_UNDER", 0)
            direct, direct_tok = load_model(ref), load_tokenizer(ref)
    else:  # the first load converts from the GGUF and keeps the result
        direct, direct_tok = load_model(ref), load_tokenizer(ref)
    assert (folder / "model" / "model.safetensors").is_file() and (folder / "tokenizer").is_dir()
    assert not list(folder.parent.glob(".*partial-*")), "no half-written folder left"
    kept, kept_tok = load_model(ref), load_tokenizer(ref)
    a, b = direct.state_dict(), kept.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert "quantization_config" not in kept.config.to_dict()
    for text in TEXTS:
        assert kept_tok(text)["input_ids"] == direct_tok(text)["input_ids"]
    assert (kept_tok.chat_template, kept_tok.eos_token, kept_tok.pad_token_id) == (
        direct_tok.chat_template, direct_tok.eos_token, direct_tok.pad_token_id)
    assert load_model(ref, dtype=torch.bfloat16).dtype == torch.bfloat16


def test_a_folder_base_and_a_big_gguf_are_not_converted(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    assert converted_folder(resolve_base(tmp_path)) is None
    monkeypatch.setattr(base_model, "CONVERT_UNDER", 1)
    assert converted_folder(resolve_base(default_model_path())) is None


def test_a_cache_that_cannot_be_written_is_said_and_skipped(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("")
    base_model._keep(blocked / "bases" / "x", lambda tmp: None)
    assert "not caching the converted base" in capsys.readouterr().err
    assert not (blocked / "bases").exists()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), ValueError("not serializable")])
def test_a_failed_save_leaves_no_folder_and_says_so(tmp_path, capsys, error):
    def half(tmp):
        (tmp / "model.safetensors").write_bytes(b"half")
        raise error

    base_model._keep(tmp_path / "bases" / "x", half)
    assert list((tmp_path / "bases").iterdir()) == []
    assert "not caching the converted base" in capsys.readouterr().err


def test_a_folder_another_process_kept_first_is_used_quietly(tmp_path, capsys):
    (tmp_path / "bases" / "x").mkdir(parents=True)
    (tmp_path / "bases" / "x" / "kept").write_text("")
    base_model._keep(tmp_path / "bases" / "x", lambda tmp: (tmp / "mine").write_text(""))
    assert [p.name for p in (tmp_path / "bases" / "x").iterdir()] == ["kept"]
    assert [p.name for p in (tmp_path / "bases").iterdir()] == ["x"] and capsys.readouterr().err == ""
