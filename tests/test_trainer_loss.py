"""The training objectives (`trainer rec-tune --loss`) on the real SmolLM2 model and real split samples."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from db.errors import RecchatError
from db.gguf_check import default_model_path
from db.prompt import build_prompt
from db.sample_files import read_samples
from db.types import Sample
from trainer.base_model import load_model, load_tokenizer, resolve_base
from trainer.cli import cli
from trainer.encode import IGNORE, Encoder, Objective, answer_loss, collate
from trainer.loop import objective
from trainer.torch_scoring import torch_p_yes


@pytest.fixture(scope="module")
def base():
    ref = resolve_base(default_model_path())
    tok = load_tokenizer(ref)
    return load_model(ref).eval(), tok


@pytest.fixture(scope="module")
def pair(movie_split_dir) -> list[Sample]:
    """A long liked sample and a short disliked one: the batch needs left padding."""
    samples = read_samples(movie_split_dir / "train.json")[0]
    yes = max((s for s in samples if s.label == 1), key=lambda s: len(s.input))
    no = min((s for s in samples if s.label == 0), key=lambda s: len(s.input))
    return [yes, no]


def _loss(base, samples, kind):
    import torch

    model, tok = base
    enc = Encoder(tok, 512)
    encoded = [enc.encode(s) for s in samples]
    with torch.no_grad():
        return answer_loss(model, collate(encoded, tok.pad_token_id), objective(kind, tok)).item(), encoded


def test_yes_no_loss_is_the_scorers_log_loss(base, pair):
    """--loss yes-no trains exactly what the engine reads: -log P(label) from the Yes/No softmax."""
    model, tok = base
    loss, encoded = _loss(base, pair, "yes-no")
    assert [e.dropped for e in encoded] == [0, 0]
    p = torch_p_yes(model, tok, [build_prompt(s.instruction, s.input) for s in pair])
    expected = (-math.log(p[0]) - math.log(1 - p[1])) / 2
    assert loss == pytest.approx(expected, rel=1e-4)


def test_first_token_loss_reads_each_rows_first_answer_token(base, pair):
    """Batched with left padding, "first" equals each sample's own unpadded first-token cross-entropy."""
    import torch
    import torch.nn.functional as F

    model, tok = base
    batched, encoded = _loss(base, pair, "first")
    alone = []
    for e in encoded:
        start = e.labels.index(next(l for l in e.labels if l != IGNORE))
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([e.input_ids[:start]])).logits[0, -1].float()
        alone.append(F.cross_entropy(logits[None], torch.tensor([e.labels[start]])).item())
    assert batched == pytest.approx(sum(alone) / 2, rel=1e-4)
    yes_no, _ = _loss(base, pair, "yes-no")
    answer, _ = _loss(base, pair, "answer")
    assert batched > yes_no  # the full-vocabulary softmax gives the answer less mass than the pair does
    assert answer != pytest.approx(batched)


def test_yes_no_loss_refuses_other_answers(base, pair):
    _, tok = base
    odd = Sample(pair[0].instruction, pair[0].input, "Maybe.")
    enc = Encoder(tok, 512)
    with pytest.raises(RecchatError, match="--loss yes-no needs answers that start with Yes or No"):
        objective("yes-no", tok).check([enc.encode(odd)])
    Objective("first").check([enc.encode(odd)])  # the other losses train any answer


@pytest.mark.slow  # a second real training run (40 s); test_trainer_e2e keeps one in the default run
def test_rec_tune_with_yes_no_loss(movie_split_dir, tmp_path):
    r = CliRunner().invoke(cli, [str(a) for a in (
        "rec-tune", "--train", movie_split_dir / "train.json", "--k", "4", "--epochs", "1", "--micro-batch", "2",
        "--grad-accum", "2", "--loss", "yes-no", "--out", tmp_path)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "train_report.json").read_text())
    assert report["config"]["loss"] == "yes-no"
    assert 0 < report["epochs"][0]["train_loss"] < 5  # a two-way cross-entropy, not a 49k-way one


def test_checkpoints_from_before_the_loss_option_still_resume():
    """A checkpoint's settings are read with today's defaults, so an old run (no "loss") matches "answer"."""
    from trainer.config import TrainConfig

    old = TrainConfig(k=8).to_json()
    del old["loss"]
    assert TrainConfig.from_json(old).to_json() == TrainConfig(k=8).to_json()


def test_training_dtype_defaults_per_device_and_can_be_forced():
    """auto: bf16 on a GPU (7B fits 24 GB), float32 on CPU; --dtype float32 repeats a CPU run on a GPU."""
    from click.testing import CliRunner

    from trainer.cli import cli
    from trainer.config import TrainConfig
    from trainer.tuning import weights_dtype

    assert weights_dtype("auto", cuda=True) == "bfloat16" and weights_dtype("auto", cuda=False) == "float32"
    assert weights_dtype("float32", cuda=True) == "float32"
    old = TrainConfig().to_json()
    del old["dtype"]  # the shipped adapter's checkpoint predates the option
    assert TrainConfig.from_json(old).dtype == "auto"
    r = CliRunner().invoke(cli, ["rec-tune", "--train", "x.json", "--out", "o", "--dtype", "float16"])
    assert r.exit_code == 2 and "float16" in r.output
