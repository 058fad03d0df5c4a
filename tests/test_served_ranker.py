"""The served learned ranker: which one orders (fitted on this catalog, else the shipped one, said), its clock,
and `engine stack fit-ranker` writing one the chat then uses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.chat.session import ChatSession
from engine.rank.served import CLOCK_QUANTILE, SHIPPED_RANKERS, catalog_clock, choose_ranker
from tests.conftest import engine
from tests.fakes import FakeScorer


def test_the_catalogs_clock_is_not_moved_by_a_persons_recent_ratings():
    catalog = np.linspace(0.0, 1000.0, 100_000)
    mine = np.full(50, 2_000_000.0)  # a chat user's ratings, decades after the catalog's
    assert catalog_clock(np.concatenate([catalog, mine])) < 1000.0
    assert catalog_clock(np.zeros(0)) == 0.0 and 0 < CLOCK_QUANTILE < 1


def test_the_shipped_ranker_loads_and_says_where_it_was_fitted():
    assert (SHIPPED_RANKERS / "ml-latest-small" / "ranker.json").exists()
    own = choose_ranker("ml-latest-small")
    assert "shipped learned ranker fitted on ml-latest-small" in own.note
    other = choose_ranker("some-catalog")
    assert "none is fitted on some-catalog" in other.note and 0 < other.ranker.platt[0]
    fitted = json.loads((SHIPPED_RANKERS / "ml-latest-small" / "ranker.json").read_text())["fitted_on"]
    assert fitted["dataset"] == "ml-latest-small" and "/" not in json.dumps(fitted)  # no machine paths


def test_fit_ranker_writes_a_ranker_the_chat_then_uses(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    r = engine("stack", "fit-ranker", "--db", ml100k_copy, "--people", "20")
    assert r.exit_code == 0, r.output
    assert "validation NDCG@10" in r.stdout and "EASE on the same requests" in r.stdout
    saved = json.loads((tmp_path / "data" / "rankers" / "ml-100k" / "ranker.json").read_text())
    assert saved["fitted_on"]["protocol"] == "hold-out fit half" and saved["fitted_on"]["people"] == 20
    session = ChatSession(ml100k_copy, "ml100k-196", scorer_factory=FakeScorer)
    try:
        session.load_model()
        assert "your learned ranker fitted on ml-100k" in session.order_note
        final = list(session.rank(session.plan()))[-1]
        assert len(final.items) == 10 and all(0 < r.p_like < 1 for r in final.items)
    finally:
        session.close()


def test_fit_ranker_on_an_empty_store_is_one_line(tmp_path):
    from db import open_db

    open_db(tmp_path / "empty.db")
    r = engine("stack", "fit-ranker", "--db", tmp_path / "empty.db")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert "no movie ratings to learn from" in r.stderr


@pytest.mark.parametrize("bad", ["0", "x"])
def test_fit_ranker_refuses_a_bad_people_count(ml100k_copy, bad):
    r = engine("stack", "fit-ranker", "--db", ml100k_copy, "--people", bad)
    assert r.exit_code == 2
