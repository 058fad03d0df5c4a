"""A fresh install gets the model that was measured: the default build is byte-reproducible in any folder,
and a model's identity (what its stack is found by) follows weights, tokens and prompt settings only."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from db.default_model import ADAPTER_DIR, QUANT, default_engine_model
from db.fileio import file_sha256
from db.gguf_check import default_model_path, model_identity
from engine.rank.stack import SHIPPED_DIR, choose_stack, find_stack

ABSOLUTE = ("/root/", "/home/", "/tmp/", "/work/", "/Users/", "site-packages")


def test_the_default_model_builds_to_the_same_bytes_elsewhere(tmp_path, monkeypatch):
    """The user cache's build (as `chat` made it) against a build from copies in other folders."""
    from trainer.default_model import build

    first = default_engine_model(log=lambda m: None)
    base = tmp_path / "elsewhere" / "base" / default_model_path().name
    base.parent.mkdir(parents=True)
    shutil.copy(default_model_path(), base)
    adapter = tmp_path / "another" / "install" / ADAPTER_DIR.name
    shutil.copytree(ADAPTER_DIR, adapter)
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "other-cache"))
    second = tmp_path / "other-cache" / "models" / first.name
    build(base, adapter, second, QUANT, log=lambda m: None)
    assert file_sha256(second) == file_sha256(first)
    assert model_identity(second) == model_identity(first)
    header = second.read_bytes()[:2_000_000].decode("latin-1")
    assert not any(p in header for p in ABSOLUTE), "no machine path in the GGUF's metadata"


def test_the_shipped_stack_is_found_for_the_default_model(scorer):
    stack = find_stack(scorer.identity, "movie")
    assert stack is not None and stack.uses_llm and stack.rank is not None
    note = choose_stack(scorer.identity, scorer.name, "movie").note
    assert "LLM weight" in note and "no fitted stack" not in note


def _tiny_gguf(path: Path, *, name="m", source="/a/b/base.gguf", prompt="", token="Yes", weight=1.0) -> Path:
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_string("general.source.url", source)
    if prompt:
        w.add_string("recchat.prompt", prompt)
    w.add_block_count(1)
    w.add_array("tokenizer.ggml.tokens", ["<s>", token, "No"])
    w.add_tensor("token_embd.weight", np.full((3, 4), weight, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_identity_ignores_where_a_model_came_from_and_nothing_else(tmp_path):
    ref = model_identity(_tiny_gguf(tmp_path / "a.gguf"))
    assert model_identity(_tiny_gguf(tmp_path / "b.gguf", name="other", source="/x/y/z.gguf")) == ref
    assert model_identity(_tiny_gguf(tmp_path / "c.gguf", weight=1.0001)) != ref, "weights"
    assert model_identity(_tiny_gguf(tmp_path / "d.gguf", token="Yes!")) != ref, "answer tokens"
    assert model_identity(_tiny_gguf(tmp_path / "e.gguf", prompt="notes")) != ref, "prompt settings"


def test_a_stack_is_refused_for_a_model_whose_weights_differ(scorer, tmp_path):
    from engine.rank.stack import choose_stack

    changed = tmp_path / "changed.gguf"
    shutil.copy(scorer.path, changed)
    with open(changed, "r+b") as f:  # one byte of the last tensor's data
        f.seek(-17, 2)
        b = f.read(1)
        f.seek(-17, 2)
        f.write(bytes([b[0] ^ 0x01]))
    other = model_identity(changed)
    assert other != scorer.identity and find_stack(other, "movie") is None
    assert "has no fitted stack" in choose_stack(other, changed.name, "movie").note


@pytest.mark.parametrize("folder", ["engine", "trainer", "results"])
def test_no_machine_paths_in_shipped_artifacts(folder):
    root = Path(__file__).resolve().parents[1] / folder
    bad = []
    for path in root.rglob("*"):
        if path.suffix in {".json", ".jsonl", ".md", ".txt"} and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            bad += [f"{path.name}: {p}" for p in ABSOLUTE if p in text]
    assert not bad, bad
    assert SHIPPED_DIR.exists()
