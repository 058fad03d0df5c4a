"""TALLRec's two stages on the real model: instruction tuning, then rec-tuning from that adapter."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trainer.cli import cli

pytestmark = pytest.mark.slow


def run(*args):
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def test_instruct_then_rec_tune_from_adapter(movie_split_dir, tmp_path):
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(json.dumps([
        {"instruction": "Name the capital of France.", "input": "", "output": "Paris."},
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
        {"instruction": "Give the opposite.", "input": "hot", "output": "cold"},
        {"instruction": "Spell the word backwards.", "input": "stop", "output": "pots"},
    ]))
    run("instruct-tune", "--train", alpaca, "--epochs", "1", "--micro-batch", "2", "--grad-accum", "1",
        "--lr", "1e-3", "--out", tmp_path / "stage1")
    rep1 = json.loads((tmp_path / "stage1" / "train_report.json").read_text())
    assert rep1["stage"] == "instruct-tune" and rep1["steps"] == 2
    run("rec-tune", "--from-adapter", tmp_path / "stage1" / "adapter", "--train", movie_split_dir / "train.json",
        "--k", "4", "--epochs", "1", "--micro-batch", "2", "--grad-accum", "2", "--out", tmp_path / "stage2")
    rep2 = json.loads((tmp_path / "stage2" / "train_report.json").read_text())
    assert rep2["from_adapter"].endswith("adapter") and rep2["steps"] == 1
    from safetensors.torch import load_file

    a = load_file(tmp_path / "stage1" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "stage2" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and any((a[k] - b[k]).abs().max() > 0 for k in a)  # continued, not restarted
