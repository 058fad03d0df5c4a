"""Inputs that once crashed: an eval on a store without the samples' items, an empty collaborative model, an
empty year range, "why the first one"."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

from db import open_db
from db.feedback import Feedback
from db.snapshot import read_domain
from db.types import Interaction
from engine.collab.model import CollabModel
from engine.evaluation.split_eval import EvalRequest, load_inputs, report_lines, run_eval
from engine.chat.session import ChatSession
from tests.conftest import engine
from tests.fakes import FakeScorer

SAMPLE = {"instruction": "Given the user's preference and unpreference, identify whether the user will like the "
                         "target movie by answering \"Yes.\" or \"No.\".",
          "output": "Yes."}


def _samples(path, n=12):
    rows = []
    for k in range(n):
        rows.append({**SAMPLE, "input": f'User Preference: "Film {k} (1990)"\nUser Unpreference: "Film {k + 1} (1991)"\n'
                                        f'Whether the user will like the target movie "Film {k + 2} (1992)"?',
                     "output": "Yes." if k % 2 else "No."})
    path.write_text(json.dumps(rows))
    return path


@pytest.mark.parametrize("with_items", [False, True])
def test_eval_on_a_store_without_the_samples_items_reports_what_it_skipped(tmp_path, with_items):
    db = open_db(tmp_path / "empty.db")
    if with_items:  # a store with ratings, but of other items than the samples name
        assert engine("data", "import", "ml-100k", "tests/fixtures/ml100k-grouplens", "--db", tmp_path / "empty.db").exit_code == 0
    req = EvalRequest(_samples(tmp_path / "test.json"))
    inputs = load_inputs(req)
    bar = lambda label, total: contextlib.nullcontext(lambda n: None)  # noqa: E731
    result = run_eval(read_domain(db, "movie"), FakeScorer(), req, inputs, bar)
    lines = report_lines(result, with_train=False)
    assert result.metrics["n"] == 12 and "like_share" in result.baselines
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert [line.split(":")[0] for line in skipped] == ["skipped ease_alone", "skipped served_stack",
                                                         "skipped stack_without_llm"]
    assert all("`engine data import ml-100k` enables it" in line for line in skipped)


def test_every_public_method_of_an_empty_collaborative_model_answers_unknown(tmp_path):
    none = np.empty(0, dtype=np.int64)
    model = CollabModel.fit(Feedback(none, none, none))
    assert model.columns([1, 2]).tolist() == [-1, -1]
    assert model.like_rate([1, 2]).tolist() == [0.5, 0.5]
    assert model.like_rate([1], without=[Interaction(1, "x", True, None, 0.0)]).tolist() == [0.5]
    assert model.popularity([3]).tolist() == [0.0]
    assert model.ease_scores([1], [2, 3], unknown=-1.0).tolist() == [-1.0, -1.0]
    assert model.affinity([1], [2]).tolist() == [0.0]
    assert len(model.user_scores([1])) == 0 and model.global_rate == 0.5
    assert model.tie_break(np.zeros(2), [1, 2]).tolist() == [0.0, 0.0]
    model.save(tmp_path / "m.npz")
    assert CollabModel.load(tmp_path / "m.npz").columns([1]).tolist() == [-1]
    known = CollabModel.fit(Feedback(np.array([1, 1]), np.array([10, 11]), np.array([1, 0])))
    assert known.like_rate([999]).tolist() == [known.global_rate]  # an id it does not hold: unknown, not an index error


def test_an_empty_year_range_is_a_one_line_error(tmp_path):
    r = engine("recommend", "--user", "x", "--year-min", "2000", "--year-max", "1990", "--db", tmp_path / "none.db")
    assert r.exit_code == 2 and "--year-min 2000 is after --year-max 1990: the range is empty" in r.stderr


def test_why_the_first_one_explains_the_first_row(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    session = ChatSession(ml100k_copy, "newbie", scorer_factory=lambda: FakeScorer(), n_candidates=12)
    assert "no list on screen" in session.handle("why the first one").text
    session.shown = [session.store.item(1), session.store.item(2)]
    for text, want in (("why the first one", 1), ("why the second one?", 2), ("why #2", 2), ("why the last one", 2)):
        reply = session.handle(text)
        assert reply.explain_item is not None and reply.explain_item.id == want, text
    assert "There is no third one on screen" in session.handle("why the third one").text
