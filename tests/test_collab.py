"""The collaborative model: EASE's closed form, the on-disk cache keyed by store state, fold-in."""

from __future__ import annotations

import numpy as np
import pytest

from db import open_db
from db.feedback import Feedback, record_feedback
from db.users import get_or_create_user
from engine.collab import CollabModel
from engine.collab_cache import CollabService, cache_path, load_or_fit, store_state


def test_ease_matches_the_closed_form_by_hand():
    # 3 users x 3 items, liked matrix X; B = I - P diagMat(1/diag(P)), P = (X'X + lam I)^-1
    users = np.array([0, 0, 1, 1, 2, 2])
    items = np.array([10, 11, 10, 12, 11, 12])
    liked = np.array([1, 1, 1, 1, 1, 0])
    model = CollabModel.fit(Feedback(users, items, liked), lam=1.0)
    X = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    P = np.linalg.inv(X.T @ X + np.eye(3))
    B = np.eye(3) - P / np.diag(P)
    assert np.allclose(model.weights, B, atol=1e-6)
    assert np.allclose(np.diag(model.weights), 0)
    assert list(model.seen) == [2, 2, 2] and list(model.likes) == [2, 2, 1]
    # fold-in: a user who liked item 10 scores the others by row 0; unknown ids are ignored
    assert np.allclose(model.user_scores([10, 999]), B[0], atol=1e-6)
    assert model.columns([12, 999]).tolist() == [2, -1]
    assert model.popularity([999])[0] == 0.0


@pytest.fixture
def store(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    return open_db(ml100k_copy, create=False)


def test_cache_is_reused_refitted_when_stale_and_rebuilt_when_broken(store):
    notes: list[str] = []
    first = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 1 and "none cached" in notes[0]
    path = cache_path(store, "movie")
    assert path.exists()
    again = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 1  # same state: loaded, no fit
    assert np.array_equal(again.weights, first.weights)

    uid = get_or_create_user(store, "carol")
    record_feedback(store, uid, 1, True)  # the store moved on: the file is stale
    fresh = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 2 and "store changed" in notes[1]
    assert fresh.state == store_state(store, "movie") != first.state
    assert fresh.seen.sum() == first.seen.sum() + 1

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    rebuilt = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 3 and "unreadable" in notes[2]
    assert np.array_equal(rebuilt.weights, fresh.weights)

    path.write_bytes(b"not a numpy file")  # foreign
    load_or_fit(store, "movie", notes.append)
    assert len(notes) == 4 and "unreadable" in notes[3]


def test_a_retraction_makes_the_cache_stale(store):
    uid = get_or_create_user(store, "dave")
    record_feedback(store, uid, 1, True)
    before = load_or_fit(store, "movie", lambda m: None)
    record_feedback(store, uid, 1, None)
    after = load_or_fit(store, "movie", lambda m: None)
    assert after.seen.sum() == before.seen.sum() - 1


def test_service_refits_in_the_background_and_swaps(ml100k_copy, store):
    notes: list[str] = []
    service = CollabService(lambda: open_db(ml100k_copy, create=False), "movie", notes.append)
    model = service.load()
    assert service.refresh().join(30) is None and service.current() is model  # nothing changed: no refit
    uid = get_or_create_user(store, "erin")
    record_feedback(store, uid, 50, True)
    service.refresh().join(30)
    assert service.current() is not model
    assert service.current().state == store_state(store, "movie")
    assert any("store changed" in n for n in notes)


def test_a_fit_over_the_memory_budget_is_refused_before_it_starts(ml100k_copy, monkeypatch):
    """ML-100K's EASE needs about 36 · 1682² bytes (~100 MB): with a 10 MB budget every command that
    fits says so in one line naming the setting, and nothing is written."""
    from engine.collab import check_fit_memory, memory_budget
    from db.errors import RecchatError
    from tests.conftest import dump, engine

    monkeypatch.setenv("RECCHAT_MAX_MEMORY", "12G")
    assert memory_budget() == 12 * 2**30
    monkeypatch.setenv("RECCHAT_MAX_MEMORY", "800M")
    assert memory_budget() == 800 * 2**20
    monkeypatch.setenv("RECCHAT_MAX_MEMORY", "lots")
    with pytest.raises(RecchatError, match="RECCHAT_MAX_MEMORY='LOTS' is not a size"):
        memory_budget()
    monkeypatch.delenv("RECCHAT_MAX_MEMORY")
    assert memory_budget() > 2**28  # half the machine's memory
    with pytest.raises(RecchatError, match=r"over 25,000 items needs about 21\.0 GiB, over the memory budget of 8\.0 GiB"):
        check_fit_memory(25_000, budget=8 * 2**30)
    check_fit_memory(1682, budget=8 * 2**30)

    monkeypatch.setenv("RECCHAT_MAX_MEMORY", "10M")
    before = dump(ml100k_copy)
    r = engine("eval-catalog", "--db", ml100k_copy, "--no-llm", "--users", "10")
    assert r.exit_code == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "over 1,682 items needs about 0.1 GiB, over the memory budget of 0.0 GiB: raise RECCHAT_MAX_MEMORY" in r.stderr
    assert dump(ml100k_copy) == before
