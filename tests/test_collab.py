"""The collaborative model: EASE's closed form, the on-disk cache keyed by store state, fold-in."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from db import open_db
from db.errors import RecchatError
from db.feedback import Feedback, record_feedback, store_mark
from db.users import get_or_create_user
from engine.collab.mapped import map_member
from engine.collab.model import CollabModel
from engine.collab.cache import (REFIT_SHARE, CollabService, Staleness, cache_path, load_or_fit, refit_share,
                                 staleness)
from engine.collab.refit import claim_path, refit_running, refits_paused, running_refits, start_refit


def test_ease_matches_the_closed_form_by_hand():
    # 3 users x 3 items, liked matrix X; B = I - P diagMat(1/diag(P)), P = (X'X + lam I)^-1
    users = np.array([0, 0, 1, 1, 2, 2])
    items = np.array([10, 11, 10, 12, 11, 12])
    liked = np.array([1, 1, 1, 1, 1, 0])
    model = CollabModel.fit(Feedback(users, items, liked), lam=1.0)
    X = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    P = np.linalg.inv(X.T @ X + np.eye(3))
    B = np.eye(3) - P / np.diag(P)
    assert model.kind == "ease"
    assert np.allclose(model.weights.B, B, atol=1e-6)
    assert np.allclose(np.diag(model.weights.B), 0)
    assert list(model.seen) == [2, 2, 2] and list(model.likes) == [2, 2, 1]
    # fold-in: a user who liked item 10 scores the others by row 0; unknown ids are ignored
    assert np.allclose(model.user_scores([10, 999]), B[0], atol=1e-6)
    assert model.columns([12, 999]).tolist() == [2, -1]
    assert model.popularity([999])[0] == 0.0


@pytest.fixture
def store(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    return open_db(ml100k_copy, create=False)


def test_cache_is_reused_served_when_the_store_moved_on_and_rebuilt_when_broken(store):
    notes: list[str] = []
    first = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 1 and "none cached" in notes[0]
    path = cache_path(store, "movie")
    assert path.exists()
    again = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 1  # same settings: loaded, no fit
    assert np.array_equal(again.weights.B, first.weights.B)

    uid = get_or_create_user(store, "carol")
    record_feedback(store, uid, 1, True)  # one rating of 100,000: far below REFIT_SHARE
    served = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 1 and served.mark == first.mark
    assert staleness(store, "movie", served) == Staleness(1, 0, 100_000, 1682)
    exact = load_or_fit(store, "movie", notes.append, background=False)  # what a measurement asks for
    assert len(notes) == 2 and "store changed" in notes[1]
    assert exact.seen.sum() == first.seen.sum() + 1 and exact.mark == store_mark(store, "movie")

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    rebuilt = load_or_fit(store, "movie", notes.append)
    assert len(notes) == 3 and "unreadable" in notes[2]
    assert np.array_equal(rebuilt.weights.B, exact.weights.B)

    path.write_bytes(b"not a numpy file")  # foreign
    load_or_fit(store, "movie", notes.append)
    assert len(notes) == 4 and "unreadable" in notes[3]


def test_a_retraction_counts_as_a_change(store):
    uid = get_or_create_user(store, "dave")
    record_feedback(store, uid, 1, True)
    before = load_or_fit(store, "movie", lambda m: None, background=False)
    record_feedback(store, uid, 1, None)
    assert staleness(store, "movie", before).events == 1
    after = load_or_fit(store, "movie", lambda m: None, background=False)
    assert after.seen.sum() == before.seen.sum() - 1


def test_refit_is_due_at_the_stated_share(monkeypatch):
    fitted = dict(fitted_ratings=100_000, fitted_items=1682)
    assert not Staleness(0, 0, **fitted).due(0.0)  # nothing moved: never
    assert Staleness(1, 0, **fitted).due(0.0)  # RECCHAT_REFIT_SHARE=0: any change
    assert not Staleness(4_999, 0, **fitted).due(REFIT_SHARE)
    assert Staleness(5_000, 0, **fitted).due(REFIT_SHARE)
    assert not Staleness(0, 84, **fitted).due(REFIT_SHARE) and Staleness(0, 85, **fitted).due(REFIT_SHARE)
    monkeypatch.setenv("RECCHAT_REFIT_SHARE", "0.2")
    assert refit_share() == 0.2
    monkeypatch.setenv("RECCHAT_REFIT_SHARE", "lots")
    with pytest.raises(RecchatError, match="RECCHAT_REFIT_SHARE='lots': expected a fraction"):
        refit_share()


def test_ratings_never_refit_in_process_and_a_due_refit_runs_behind_the_chat(ml100k_copy, store, monkeypatch):
    """The chat's path after a rating: no fit in this process, ever; below the share nothing starts; past it
    one background process refits, and the service swaps its file in."""
    import engine.collab.cache as cc

    fits, starts = [], []
    real_fit, real_start = cc.fit_from_store, cc.start_refit
    monkeypatch.setattr(cc, "fit_from_store", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    monkeypatch.setattr(cc, "start_refit", lambda *a, **k: starts.append(1) or real_start(*a, **k))
    notes: list[str] = []
    service = CollabService(lambda: open_db(ml100k_copy, create=False), "movie", notes.append)
    model = service.load()
    assert fits == [1]  # first use: nothing cached
    uid = get_or_create_user(store, "erin")
    for item in range(50, 60):
        record_feedback(store, uid, item, True)
        assert service.refresh(store) is False
    assert fits == [1] and starts == [] and service.current() is model

    monkeypatch.setenv("RECCHAT_REFIT_SHARE", "0.0001")  # 10 events ≥ 0.01 % of 100,000 ratings
    assert service.refresh(store) is True
    assert fits == [1] and starts == [1]  # the fit runs in its own process, not here
    assert any("serving it and refitting in the background" in n for n in notes)
    deadline = time.monotonic() + 60
    while refit_running(cache_path(store, "movie")) or service.poll(wait=True) is None:
        assert time.monotonic() < deadline, cache_path(store, "movie").with_suffix(".npz.refit.log").read_text()
        time.sleep(0.2)
    fresh = service.current()
    assert fresh is not model and fresh.mark == store_mark(store, "movie")
    assert fresh.seen.sum() == model.seen.sum() + 10
    assert any("now serving" in n for n in notes)
    assert fits == [1]


def test_a_running_refit_is_stopped_while_a_request_scores(tmp_path, monkeypatch):
    """refits_paused: SIGSTOP for the block, SIGCONT after; a second claim on the same file is refused."""
    import subprocess
    import sys

    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path))
    target = tmp_path / "collab" / "x.npz"
    target.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"f = open({str(claim_path(target))!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX); f.write(str(os.getpid()));"
        " f.flush(); print('ready', flush=True)\nwhile True: time.sleep(0.05)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert running_refits() == [holder.pid] and refit_running(target)

        def state(expected: str) -> str:
            """The holder's scheduler state once it is one of `expected`, or as it is after 10 s: a signal
            is delivered asynchronously, so right after kill() /proc may still show the old state."""
            deadline = time.monotonic() + 10
            while True:
                now = Path(f"/proc/{holder.pid}/stat").read_text().split(") ")[1][0]
                if now in expected or time.monotonic() > deadline:
                    return now
                time.sleep(0.01)

        with refits_paused():
            assert state("T") == "T"
        assert state("SR") in "SR"
        assert start_refit(tmp_path / "none.db", "movie", None, target) is None  # one refit per file
    finally:
        holder.kill()
        holder.wait()
    assert running_refits() == [] and not refit_running(target)


def test_a_fit_over_the_memory_budget_is_refused_before_it_starts(ml100k_copy, monkeypatch):
    """Past the budget every command that fits says so in one line naming the setting, nothing written:
    ML-100K's EASE needs about 36 · 1682² bytes (~97 MiB), its ALS about 18 MiB."""
    from engine.collab.model import memory_budget, plan_fit
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
    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "ease")
    with pytest.raises(RecchatError, match=r"\(EASE, a dense items × items inverse\) over 25,000 items and 1,000,000 "
                                           r"ratings needs about 21\.0 GiB, over the memory budget of 8\.0 GiB"):
        plan_fit(25_000, 1_000_000, 50_000, budget=8 * 2**30)
    monkeypatch.delenv("RECCHAT_COLLAB_MODEL")
    assert plan_fit(1682, 100_000, 943, budget=8 * 2**30).kind == "ease"

    monkeypatch.setenv("RECCHAT_MAX_MEMORY", "5M")
    before = dump(ml100k_copy)
    r = engine("eval-catalog", "--db", ml100k_copy, "--no-llm", "--users", "10")
    assert r.exit_code == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert ("the collaborative model (ALS) over 1,682 items and 100,000 ratings needs about 12 MiB, over the memory "
            "budget of 5 MiB: raise RECCHAT_MAX_MEMORY") in r.stderr
    assert dump(ml100k_copy) == before


def test_the_catalog_size_chooses_the_model(monkeypatch):
    """EASE up to EASE_MAX_ITEMS items and within the budget; ALS past either; RECCHAT_COLLAB_MODEL forces one."""
    from db.errors import RecchatError
    from engine.collab.model import EASE_MAX_ITEMS, plan_fit

    monkeypatch.delenv("RECCHAT_COLLAB_MODEL", raising=False)
    big = 64 * 2**30
    assert plan_fit(EASE_MAX_ITEMS, 10**6, 10**4, budget=big).kind == "ease"
    over = plan_fit(EASE_MAX_ITEMS + 1, 10**6, 10**4, budget=big)
    assert over.kind == "als" and "items > 10,000" in over.why
    tight = plan_fit(5_000, 10**6, 10**4, budget=600 * 2**20)  # EASE would need 858 MiB
    assert tight.kind == "als" and "858 MiB, over the budget" in tight.why
    # the ML-20M shape: 27k items, 20M ratings, 138k users fit ALS within the 8 GB
    ml20m = plan_fit(27_000, 20 * 10**6, 138_000, budget=8 * 2**30)
    assert ml20m.kind == "als" and ml20m.need < 4 * 2**30
    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "als")
    assert plan_fit(1682, 10**5, 943, budget=big).kind == "als"
    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "svd")
    with pytest.raises(RecchatError, match="RECCHAT_COLLAB_MODEL='svd': expected auto, ease or als"):
        plan_fit(1682, 10**5, 943, budget=big)


def _random_feedback(seed: int = 0, users: int = 60, items: int = 40, n: int = 900) -> Feedback:
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.stack([rng.integers(0, users, n), rng.integers(100, 100 + items, n)], 1), axis=0)
    return Feedback(pairs[:, 0], pairs[:, 1], (rng.random(len(pairs)) < 0.6).astype(np.int64))


def test_als_folds_in_exactly_as_implicit_recalculates_a_user(monkeypatch):
    """The served ALS scores a history as implicit's recommend(recalculate_user=True) does on the same fit
    (the eval-catalog 'als' row): the low-rank item-item form is the same linear map."""
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from engine.collab.model import ALS_FACTORS, ALS_ITERATIONS, ALS_REG

    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "als")
    fb = _random_feedback()
    catalog = np.arange(100, 140)
    model = CollabModel.fit(fb, item_ids=catalog)
    assert model.kind == "als" and model.weights.left.shape == (40, ALS_FACTORS)

    liked = fb.liked == 1
    users, rows = np.unique(fb.users[liked], return_inverse=True)
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, fb.items[liked] - 100)), shape=(len(users), 40))
    als = AlternatingLeastSquares(factors=ALS_FACTORS, regularization=ALS_REG, iterations=ALS_ITERATIONS,
                                  random_state=0)
    als.fit(X, show_progress=False)
    history = [101, 105, 117, 130]
    row = sp.csr_matrix((np.ones(4, dtype=np.float32), ([0] * 4, [h - 100 for h in history])), shape=(1, 40))
    ids, vals = als.recommend(0, row, N=40, filter_already_liked_items=False, recalculate_user=True)
    theirs = np.empty(40)
    theirs[ids] = vals
    ours = model.ease_scores(history, catalog)
    assert np.allclose(ours, theirs, atol=1e-4)
    # item-item form: the affinity of a history to a target is the mean of its pairwise weights
    pair = model.weights.block(model.columns([101]), model.columns([117]))[0, 0]
    assert np.isclose(model.affinity([101], [117])[0], pair)


def test_an_als_model_round_trips_through_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "als")
    model = CollabModel.fit(_random_feedback(1), state="s")
    model.save(tmp_path / "m.npz")
    again = CollabModel.load(tmp_path / "m.npz")
    assert again.kind == "als" and again.state == "s"
    assert np.array_equal(again.user_scores([101, 102]), model.user_scores([101, 102]))
    assert np.array_equal(again.like_rate([101, 999]), model.like_rate([101, 999]))


def test_eval_catalog_served_by_als_keeps_every_classic_row_and_no_ease_stack(ml100k_copy, monkeypatch, tmp_path):
    """ALS forced on ML-100K: the hold-out still reports EASE (it fits), the shipped EASE stack is not used
    with ALS's features (a notice instead of its pipeline row), and the report names the model that served."""
    import json
    from tests.conftest import engine

    monkeypatch.setenv("RECCHAT_COLLAB_MODEL", "als")
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    r = engine("eval-catalog", "--db", ml100k_copy, "--no-llm", "--users", "10", "--json", tmp_path / "c.json")
    assert r.exit_code == 0, r.output
    assert "no stack without the LLM is installed for ALS" in r.stderr
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["collab"] == "als"
    assert set(report["metrics"]) == {"popularity", "item-knn", "als", "ease", "learned ranker (served)"}


def test_columns_find_store_ids_in_any_order():
    """columns() is a binary search over the ids, whatever order the fit stored them in."""
    import numpy as np

    from engine.collab.model import CollabModel, DenseWeights

    model = CollabModel(np.array([30, 10, 20]), DenseWeights(np.eye(3, dtype=np.float32)), np.ones(3), np.ones(3))
    assert model.columns([10, 99, 30, 20, 5, 31]).tolist() == [1, -1, 0, 2, -1, -1]
    assert model.columns([]).tolist() == []
    empty = CollabModel(np.array([], dtype=np.int64), DenseWeights(np.zeros((0, 0), np.float32)), np.zeros(0), np.zeros(0))
    assert empty.columns([1, 2]).tolist() == [-1, -1]


def test_an_ease_model_maps_its_weights_from_the_file_and_scores_the_same(tmp_path):
    """The n × n weights are mapped, not read (a chat's first answer); a compressed file is read the usual way."""
    model = CollabModel.fit(_random_feedback(1), state="s")
    assert model.kind == "ease"
    model.save(tmp_path / "m.npz")
    again = CollabModel.load(tmp_path / "m.npz")
    B = again.weights.B
    assert isinstance(B.base, np.memmap) and not B.flags.writeable
    assert type(B) is np.ndarray and np.array_equal(B, model.weights.B)
    assert np.array_equal(again.user_scores([101, 102]), model.user_scores([101, 102]))

    with np.load(tmp_path / "m.npz") as z:
        np.savez_compressed(tmp_path / "c.npz", **dict(z))
    assert map_member(tmp_path / "c.npz", "weights") is None
    assert map_member(tmp_path / "m.npz", "no-such-array") is None
    read = CollabModel.load(tmp_path / "c.npz")
    assert read.weights.B.flags.writeable and np.array_equal(read.weights.B, model.weights.B)

    whole = (tmp_path / "m.npz").read_bytes()  # the weights' bytes cut short inside the member: refused, not mapped
    cut = whole.index(b"weights.npy") + 4000
    (tmp_path / "t.npz").write_bytes(whole[:cut] + whole[cut + 4000:])
    with pytest.raises((ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile)):
        CollabModel.load(tmp_path / "t.npz")
