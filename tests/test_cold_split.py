"""The cold-item split: held-out movies never reach training windows, item statistics or the
collaborative models; test windows target only them."""

from __future__ import annotations

import json

import pytest

from db import open_db
from db.sample_files import load_samples
from db.samples import COLD_FILE, read_cold_items
from tests.conftest import engine


@pytest.fixture(scope="module")
def cold_dir(ml100k_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("cold")
    r = engine("data", "split", "movie", "--cold-items", "0.15", "--seed", "0", "--out", out, "--db", ml100k_store)
    assert r.exit_code == 0, r.output
    assert "held out" in r.stdout
    return out


def test_held_out_movies_appear_only_as_test_targets(cold_dir, ml100k_store):
    cold = read_cold_items(cold_dir / "test.json")
    (n_items,) = open_db(ml100k_store).execute(
        "SELECT COUNT(DISTINCT item_id) FROM feedback WHERE source = 'import'").fetchone()
    assert len(cold) == round(n_items * 0.15)
    train, valid, test = (load_samples(cold_dir / f"{n}.json") for n in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (8000, 1000, 1000)
    for s in train + valid:
        assert s.item_id not in cold and not cold & set(s.history)
    assert all(s.item_id in cold and not cold & set(s.history) and len(s.history) == 10 for s in test)
    assert {s.label for s in test} == {0, 1}
    again = engine("data", "split", "movie", "--cold-items", "0.15", "--seed", "0", "--out", cold_dir / "again",
                   "--db", ml100k_store)
    assert again.exit_code == 0
    assert json.loads((cold_dir / "again" / COLD_FILE).read_text())["items"] == sorted(cold)


def test_collaborative_models_never_see_held_out_ratings(cold_dir, ml100k_store):
    from db.snapshot import read_domain
    from engine.evaluation.stack_fit import collab_without

    cold = read_cold_items(cold_dir / "test.json")
    test = load_samples(cold_dir / "test.json")
    snap = read_domain(open_db(ml100k_store), "movie")
    model = collab_without(snap, test, items=cold)
    assert not cold & {int(i) for i in model.item_ids}
    full = collab_without(snap, test)
    assert cold & {int(i) for i in full.item_ids}, "without the list they would leak"


def test_other_splits_have_no_held_out_items(movie_split_dir, tmp_path):
    assert read_cold_items(movie_split_dir / "test.json") == set()
    (tmp_path / COLD_FILE).write_text("not json")
    with pytest.raises(Exception, match="cannot read the held-out items"):
        read_cold_items(tmp_path / "test.json")


def test_cold_share_is_checked(ml100k_store, tmp_path):
    r = engine("data", "split", "movie", "--cold-items", "1.5", "--out", tmp_path, "--db", ml100k_store)
    assert r.exit_code == 2 and "--cold-items" in r.stderr
    r = engine("data", "split", "book", "--cold-items", "0.15", "--out", tmp_path, "--db", ml100k_store)
    assert r.exit_code == 1 and "defined for movies" in r.stderr
