"""bench/scale.py on its tiny shape: the synthetic store, every model's fit, and peaks that are the step's own."""

from __future__ import annotations

import sys

import numpy as np

from bench.scale import SHAPES, measure, ratings_table, run_child


def test_synthetic_ratings_are_unique_pairs_sorted_by_user():
    shape = SHAPES["tiny"]
    users, items, stars = ratings_table(shape)
    assert len(users) == shape.ratings
    assert len(np.unique(users * (shape.items + 1) + items)) == shape.ratings
    assert np.all(np.diff(users) >= 0) and stars.min() >= 1 and stars.max() <= 5
    assert np.array_equal(ratings_table(shape)[1], items)  # seeded


def test_a_step_peak_is_its_own_not_the_parents():
    held = np.ones(40_000_000)  # 305 MiB resident in this process while the step runs
    small = run_child([sys.executable, "-c", "print('ok')"], {})
    big = run_child([sys.executable, "-c", "import numpy as np; a = np.ones(25_000_000); a.sum()"], {})
    assert held.sum() > 0 and small.out == "ok" and small.code == 0
    assert small.peak_gib < 0.1 < 0.18 < big.peak_gib < 0.5


def test_tiny_shape_fits_every_model_and_serves_a_request(tmp_path):
    rows = measure(SHAPES["tiny"], tmp_path, with_llm=False, log=lambda _: None)
    assert [(r["asked"], r["model"], r["exit"]) for r in rows] == [("auto", "ease", 0), ("als", "als", 0)]  # forced EASE = auto's
    for r in rows:
        assert r["fit_s"] >= r["read_s"] > 0 and 0 < r["fit_gib"] < 2 and r["request_s"] > 0
    cached = list((tmp_path / "cache" / "collab").glob("*-movie-*.npz"))
    assert len(cached) == 1  # the served model, where `engine recommend` looks: its request comes after the fit


def test_tiny_csv_release_imports_through_the_movielens_importer(tmp_path):
    rows = measure(SHAPES["tinycsv"], tmp_path, with_llm=False, log=lambda _: None)
    assert rows[0]["exit"] == 0 and rows[0]["model"] == "ease" and rows[0]["store_bytes_per_rating"] > 0


def test_imdb_dump_imports_with_its_catalog_and_reports_bytes_per_film(tmp_path):
    from bench.scale import ImdbShape, imdb_table, measure_imdb

    shape = ImdbShape().scaled(0.0005)
    assert (shape.titles, shape.movies, shape.principals, shape.names) == (5_500, 350, 45_000, 7_000)
    row = measure_imdb(0.0005, tmp_path, log=lambda _: None)
    assert row["exit"] == 0 and row["bad_rows"] == 0, row["error"]  # the generator writes IMDb's format
    assert row["films"] == row["enriched"] + row["added"]["items"] and row["enriched"] == shape.catalog
    assert row["added"]["item_people"] > row["films"] and row["bytes_per_film"] > 0 and 0 < row["import_gib"] < 0.5
    assert "| x0.0005 | 5,500 | 45,000 |" in imdb_table([row])
    assert not (tmp_path / "imdb").exists(), "the dump is removed after the run"
