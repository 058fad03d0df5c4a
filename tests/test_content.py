"""Films nobody rated, placed in the collaborative model's item space by their content (engine.collab.content):
the franchise a title names, the neighbours' weights, scores and popularity, and the served model's cache."""

from __future__ import annotations

import numpy as np
import pytest

from db import open_db
from db.feedback import Feedback
from db.knowledge import FilmFacts, film_facts
from engine.collab.cache import fit_from_store
from engine.collab.content import ColdMap, ContentWeights, feature_matrix, fit_cold_map, series_key
from engine.collab.model import CollabModel
from tests.test_import_movielens import write_csv_release


@pytest.mark.parametrize("title, key", [
    ("Dune: Part Two", "dune"), ("Dune", "dune"), ("Toy Story 3", "toy story"), ("Rocky II", "rocky"),
    ("Dark Knight Rises, The", "dark knight rises"), ("Godfather: Part II, The", "godfather"),
    ("Star Wars: Episode IV - A New Hope", "star wars"), ("Seven (a.k.a. Se7en)", "seven"),
    ("12 Angry Men", "12 angry men"), ("2001: A Space Odyssey", "2001 space odyssey"),
    ("Mission: Impossible - Dead Reckoning Part One", "mission impossible"),
])
def test_the_franchise_a_title_names(title, key):
    assert series_key(title) == key


def film(i, title, year, genres, tags=None, people=None, votes=None):
    return FilmFacts(i, title, year, tuple(genres), tags or {}, {}, people or [], imdb_votes=votes)


FILMS = [
    film(1, "Dune", 2021, ["Sci-Fi", "Adventure"], {"desert": 3}, [("director", 7, 0)]),
    film(2, "Arrival", 2016, ["Sci-Fi", "Drama"], {"aliens": 2}, [("director", 7, 0)]),
    film(3, "Notebook, The", 2004, ["Romance", "Drama"], {"romantic": 4}),
    film(4, "Love Actually", 2003, ["Romance", "Comedy"], {"romantic": 2}),
    film(5, "Dune: Part Two", 2024, ["Sci-Fi", "Adventure"], people=[("director", 7, 0)], votes=600_000),
    film(6, "Notebook II", 2025, ["Romance"], votes=20),
]
# users 10-13 like Dune and Arrival together, users 20-23 the two romances
RATINGS = Feedback(np.array([10, 10, 11, 11, 12, 12, 13, 20, 20, 21, 21, 22, 22, 23]),
                   np.array([1, 2, 1, 2, 1, 2, 1, 3, 4, 3, 4, 3, 4, 4]),
                   np.ones(14, dtype=np.int64))


def served_model() -> CollabModel:
    model = CollabModel.fit(RATINGS)
    return model.with_cold(fit_cold_map(FILMS, model.item_ids, model.popularity(model.item_ids)))


def test_a_film_without_ratings_borrows_its_neighbours_columns():
    model = served_model()
    assert sorted(model.cold.item_ids.tolist()) == [5, 6]
    scores = dict(zip([5, 6], model.ease_scores([1], [5, 6])))  # someone who liked Dune
    assert scores[5] > 0 and scores[5] > scores[6]  # Dune: Part Two, not the romance sequel
    romance = dict(zip([5, 6], model.ease_scores([3], [5, 6])))
    assert romance[6] > romance[5]
    # the map is exact: a cold film's score is its neighbours' scores, weighted
    base = model.user_scores([1])
    row = int(np.flatnonzero(model.cold.item_ids == 5)[0])
    assert base[len(model.item_ids) + row] == pytest.approx(
        float((model.cold.weights[row] * base[model.cold.neighbours[row]]).sum()), rel=1e-5)


def test_liking_a_film_without_ratings_counts_as_liking_its_neighbours():
    model = served_model()
    liked_sequel = model.ease_scores([5], [2, 4])  # "I loved Dune: Part Two": Arrival rises, not Love Actually
    assert liked_sequel[0] > liked_sequel[1]


def test_affinity_and_like_rate_of_a_film_without_ratings():
    model = served_model()
    cold = model.affinity([1, 2], [5, 6])
    assert cold[0] > cold[1]
    row = int(np.flatnonzero(model.cold.item_ids == 5)[0])
    nbrs = model.item_ids[model.cold.neighbours[row]]
    assert cold[0] == pytest.approx(float((model.cold.weights[row] * model.affinity([1, 2], nbrs)).sum()), rel=1e-5)
    assert model.like_rate([5])[0] == pytest.approx(model.like_rate([999])[0])  # no ratings: the global rate


def test_popularity_of_a_film_without_ratings_is_estimated_not_zero():
    model = served_model()
    pop = model.popularity([5, 6])
    assert (pop > 0).all()  # too few rated films with IMDb votes for the votes line: the neighbours' mean
    rated = [film(100 + k, f"Film {k}", 2000, ["Drama"], votes=10 ** (2 + k % 4)) for k in range(40)]
    seen = np.log1p(np.array([10.0 ** (k % 4) for k in range(40)]))
    cold = fit_cold_map(rated + [film(999, "New Film", 2000, ["Drama"], votes=10 ** 5)],
                        np.array([f.item_id for f in rated]), seen)
    assert cold.popularity[0] == pytest.approx(np.log1p(1000.0), rel=0.05)  # on the line votes -> ratings


def test_feature_groups_and_the_ablation_weights():
    full = feature_matrix(FILMS)
    no_title = feature_matrix(FILMS, ContentWeights().without("title"))
    sims = (full @ full.T).toarray()
    assert sims[4, 0] > sims[4, 1]  # Dune: Part Two is closest to Dune (franchise, genres, director)
    assert no_title.shape[1] < full.shape[1]
    assert ContentWeights().without("genres").genres == 0 and ContentWeights().without("genres").title == 4.0


def test_the_cold_map_is_saved_and_loaded_with_the_model(tmp_path):
    model = served_model()
    model.save(tmp_path / "m.npz")
    back = CollabModel.load(tmp_path / "m.npz")
    assert np.array_equal(back.cold.item_ids, model.cold.item_ids)
    assert np.allclose(back.ease_scores([1], [5, 6]), model.ease_scores([1], [5, 6]))
    empty = CollabModel.fit(RATINGS)
    empty.save(tmp_path / "e.npz")
    assert len(CollabModel.load(tmp_path / "e.npz").cold) == 0 and len(ColdMap.empty()) == 0


def test_the_served_model_places_the_catalogs_unrated_films(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    with open(src / "movies.csv", "a") as f:
        f.write("6,Toy Story 4 (2019),Adventure|Animation|Children|Comedy\n")  # nobody rated it
    db = open_db(tmp_path / "s.db")
    from db.importers.movielens import import_movielens

    import_movielens(db, src)
    notes = []
    model = fit_from_store(db, "movie", log=notes.append)
    ids = {f.title: f.item_id for f in film_facts(db, "movie")}
    assert ids["Toy Story 4"] in model.cold.item_ids.tolist()
    assert "films without ratings placed by their content" in notes[0]
    assert model.ease_scores([ids["Toy Story"]], [ids["Toy Story 4"]])[0] > 0
