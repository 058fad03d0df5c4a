"""Bad trainer inputs are one-line errors and leave nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from gguf import GGUFWriter

from trainer.cli import cli


def trainer(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(r, fragment: str) -> None:
    assert r.exit_code == 1, r.output
    lines = [l for l in r.stderr.strip().splitlines() if l.startswith("Error")]  # progress bars may precede it
    assert len(lines) == 1 and r.stderr.strip().splitlines()[-1] == lines[0], r.stderr
    assert fragment in lines[0], lines[0]


@pytest.fixture
def tiny_train(movie_split_dir, tmp_path) -> Path:
    f = tmp_path / "train.json"
    f.write_text(json.dumps(json.loads((movie_split_dir / "train.json").read_text())[:10]))
    return f


def test_base_neither_hf_folder_nor_gguf(tiny_train, tmp_path):
    text = tmp_path / "weights.bin"
    text.write_text("not a model")
    one_line_error(trainer("rec-tune", "--base", text, "--train", tiny_train, "--out", tmp_path / "o"),
                   "base is neither a Hugging Face model folder nor a GGUF file")
    empty = tmp_path / "folder"
    empty.mkdir()
    one_line_error(trainer("rec-tune", "--base", empty, "--train", tiny_train, "--out", tmp_path / "o"),
                   "no config.json")
    one_line_error(trainer("export", "--base", tmp_path / "missing", "--out", tmp_path / "m.gguf"), "base model not found")


def test_unsupported_architecture(tiny_train, tmp_path):
    hf = tmp_path / "gpt2"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    one_line_error(trainer("rec-tune", "--base", hf, "--train", tiny_train, "--out", tmp_path / "o"),
                   "unsupported architecture 'gpt2'")
    g = tmp_path / "rwkv.gguf"
    w = GGUFWriter(str(g), "rwkv6")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    one_line_error(trainer("export", "--base", g, "--out", tmp_path / "m.gguf"), "unsupported architecture 'rwkv6'")


def test_empty_and_malformed_training_files(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    one_line_error(trainer("rec-tune", "--train", empty, "--out", tmp_path / "o"), "training file has no samples")
    bad = tmp_path / "bad.json"
    bad.write_text('[\n{"instruction": "x", "input": "y", "output": "Yes."},\n{"instruction": 1}\n]')
    one_line_error(trainer("rec-tune", "--train", bad, "--out", tmp_path / "o"), "training file has 2 malformed samples")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": ')
    one_line_error(trainer("instruct-tune", "--train", broken, "--out", tmp_path / "o"), "broken.json:1: malformed JSON")
    one_line_error(trainer("rec-tune", "--train", tmp_path / "nope.json", "--out", tmp_path / "o"), "file not found")
    assert not (tmp_path / "o").exists()


def test_k_larger_than_pool(tiny_train, tmp_path):
    one_line_error(trainer("rec-tune", "--train", tiny_train, "--k", "64", "--out", tmp_path / "o"),
                   "K=64 is larger than the pool of 10 samples")


def test_output_not_writable(tiny_train, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(trainer("rec-tune", "--train", tiny_train, "--k", "2", "--out", blocker / "run"),
                   "output folder is not writable")
    one_line_error(trainer("export", "--out", blocker / "m.gguf"), "output path is not writable")


def test_adapter_that_does_not_match_the_base(tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    small = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=4))
    get_peft_model(small, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path / "adapter")
    out = tmp_path / "out" / "m.gguf"
    one_line_error(trainer("export", "--adapter", tmp_path / "adapter", "--out", out, "--quant", "f16"),
                   "does not match base")
    assert list((tmp_path / "out").iterdir()) == []  # no partial or temp file left behind
    one_line_error(trainer("export", "--adapter", tmp_path, "--out", out), "not a LoRA adapter folder")
