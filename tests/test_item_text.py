"""Item text: items named with their catalog genres, in splits, in the engine's prompts, and checked at eval."""

from __future__ import annotations

import json

import pytest

from db import open_db
from db.prompt import item_label, parse_input
from db.sample_files import load_samples
from db.samples import META_FILE, split_item_text
from db.scoring import PromptSettings
from db.types import Interaction, Item
from tests.conftest import count, engine


def test_item_label():
    assert item_label("Toy Story (1995)", "Animation, Children's, Comedy") == "Toy Story (1995; Animation, Children's, Comedy)"
    assert item_label("Toy Story (1995)", "Animation|Comedy") == "Toy Story (1995; Animation, Comedy)"
    assert item_label("Untitled", "Drama") == "Untitled (Drama)"
    assert item_label("Toy Story (1995)", "") == "Toy Story (1995)"


@pytest.fixture(scope="module")
def text_split(ml100k_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("text")
    r = engine("data", "split", "movie", "--item-text", "--out", out, "--db", ml100k_store)
    assert r.exit_code == 0, r.output
    return out


def test_split_names_items_with_genres_and_says_so(text_split, movie_split_dir, ml100k_store, tmp_path):
    assert json.loads((text_split / META_FILE).read_text()) == {"item_text": "genres"}
    assert split_item_text(text_split / "test.json") and not split_item_text(movie_split_dir / "test.json")
    genres = dict(open_db(ml100k_store).execute("SELECT id, genres FROM items").fetchall())
    plain, text = load_samples(movie_split_dir / "test.json"), load_samples(text_split / "test.json")
    assert len(plain) == len(text) == 1000
    for a, b in zip(plain[:200], text[:200]):
        assert (a.user_id, a.item_id, a.history, a.output) == (b.user_id, b.item_id, b.history, b.output)
        pa, pb = parse_input("movie", a.input), parse_input("movie", b.input)
        assert pb.target == item_label(pa.target, genres[a.item_id])
        assert [n.split(";")[0] for n in pb.liked] == [n[:-1] if n.endswith(")") else n for n in pa.liked]
        assert len(pb.disliked) == len(pa.disliked)
    (tmp_path / META_FILE).write_text((text_split / META_FILE).read_text())
    again = engine("data", "split", "movie", "--out", tmp_path, "--db", ml100k_store)
    assert again.exit_code == 0 and not (tmp_path / META_FILE).exists(), "a reused folder loses a stale description"


def test_the_engine_names_items_the_way_the_model_was_tuned():
    history = [Interaction(1, "Toy Story (1995)", True, 5.0, 1.0, "Animation, Children's, Comedy"),
               Interaction(2, "GoldenEye (1995)", False, 2.0, 2.0, "Action, Adventure, Thriller")]
    target = Item(3, "movie", "Four Rooms (1995)", "Four Rooms", 1995, genres="Thriller")
    text = PromptSettings(item_text=True).for_user("movie", history, target)
    assert '"Toy Story (1995; Animation, Children\'s, Comedy)"' in text
    assert 'Unpreference: "GoldenEye (1995; Action, Adventure, Thriller)"' in text
    assert 'target movie "Four Rooms (1995; Thriller)"?' in text
    assert "Thriller" not in PromptSettings().for_user("movie", history, target).split("Unpreference")[0]


def test_eval_refuses_a_split_named_differently_from_the_model(text_split, ml100k_copy, tmp_path):
    r = engine("eval", "--db", ml100k_copy, "--data", text_split / "test.json", "--limit", "3", "--roc", tmp_path / "r.png")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    assert "without their genres" in r.stderr and "--item-text" in r.stderr
    assert count(ml100k_copy, "SELECT COUNT(*) FROM eval_runs") == 0


def test_stack_features_find_items_by_their_labels(text_split, movie_split_dir, ml100k_store):
    from db.snapshot import read_domain
    from engine.evaluation.stack_fit import sample_refs

    db = read_domain(open_db(ml100k_store), "movie")
    plain = sample_refs(db, load_samples(movie_split_dir / "test.json")[:50])
    text = sample_refs(db, load_samples(text_split / "test.json")[:50])
    assert plain == text
