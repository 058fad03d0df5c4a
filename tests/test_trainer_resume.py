"""Ctrl-C mid-epoch writes a checkpoint; --resume finishes with the same adapter as an unbroken run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from safetensors.torch import load_file

import trainer.loop as loop
from trainer.cli import cli

pytestmark = pytest.mark.slow


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_interrupt_then_resume_equals_unbroken_run(movie_split_dir, tmp_path, monkeypatch):
    args = ["rec-tune", "--train", movie_split_dir / "train.json", "--k", "8", "--epochs", "2", "--micro-batch", "2",
            "--grad-accum", "1", "--lr", "1e-3", "--patience", "5"]
    r = run(*args, "--out", tmp_path / "whole")
    assert r.exit_code == 0, r.output

    real = loop.answer_loss
    calls = {"n": 0}

    def flaky(model, batch, *objective):
        calls["n"] += 1
        if calls["n"] == 6:  # epoch 2, second micro-batch
            raise KeyboardInterrupt
        return real(model, batch, *objective)

    monkeypatch.setattr(loop, "answer_loss", flaky)
    r = run(*args, "--out", tmp_path / "broken")
    assert r.exit_code == 1 and "interrupted at epoch 2; continue with --resume" in r.stderr
    state = json.loads((tmp_path / "broken" / "checkpoint" / "state.json").read_text())
    assert (state["epoch"], state["batch"], state["step"]) == (1, 1, 5)
    monkeypatch.setattr(loop, "answer_loss", real)
    r = run(*args, "--out", tmp_path / "broken", "--resume")
    assert r.exit_code == 0, r.output
    assert "resumed from epoch 2, micro-batch 1, step 5" in r.output

    a = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "broken" / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6
    r = run(*args[:-2], "--patience", "4", "--out", tmp_path / "broken", "--resume")
    assert r.exit_code == 1 and "settings differ" in r.stderr
