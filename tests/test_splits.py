"""The movie protocol reproduces TALLRec's published splits exactly; K-shot sampling is seeded."""

from __future__ import annotations

import json

import pytest

from db import RecchatError
from db.prompt import ALPACA_TEMPLATE, build_input, build_prompt, parse_input
from db.sample_files import load_samples
from db.samples import kshot
from tests.conftest import SHARED, engine, needs_shared


@pytest.fixture(scope="module")
def movie_split(movie_split_dir):
    assert [len(json.loads((movie_split_dir / f"{n}.json").read_text())) for n in ("train", "valid", "test")] == [8000, 1000, 1000]
    return movie_split_dir


@needs_shared
@pytest.mark.parametrize("name", ["test", "valid"])
def test_movie_split_reproduces_tallrec(movie_split, name):
    ours = json.loads((movie_split / f"{name}.json").read_text())
    theirs = json.loads((SHARED / "tallrec" / f"movie_{name}.json").read_text())
    assert len(ours) == len(theirs) == 1000
    same = sum(a["input"] == b["input"] and a["output"] == b["output"] and a["instruction"] == b["instruction"]
               for a, b in zip(ours, theirs))
    assert same == 1000


@needs_shared
def test_samples_carry_ids(movie_split):
    samples = load_samples(movie_split / "test.json")
    assert len({s.user_id for s in samples}) == 16
    for s in samples[:50]:
        assert len(s.history) == 10 and s.item_id not in s.history[-1:]
        assert s.label == (1 if s.output == "Yes." else 0)


@needs_shared
def test_prompt_round_trip_on_published_samples():
    for domain, file in (("movie", "movie_test.json"), ("book", "book_valid.json")):
        for s in json.loads((SHARED / "tallrec" / file).read_text()):
            p = parse_input(domain, s["input"])
            assert build_input(domain, p.liked, p.disliked, p.target) == s["input"]


def test_prompt_template():
    p = build_prompt("Do it.", "Some input")
    assert p == ALPACA_TEMPLATE.format(instruction="Do it.", input="Some input")
    assert p.endswith("### Input:\nSome input\n\n### Response:\n")


def test_kshot_is_seeded_and_bounded():
    from db.types import Sample

    pool = [Sample("i", f"x{n}", "Yes.") for n in range(100)]
    a, b, c = kshot(pool, 16, 0), kshot(pool, 16, 0), kshot(pool, 16, 1)
    assert a == b and a != c and len({s.input for s in a}) == 16
    with pytest.raises(RecchatError, match="K=101 is larger than the pool of 100 samples"):
        kshot(pool, 101, 0)


def test_split_on_empty_store_is_one_line_error(tmp_path):
    r = engine("data", "split", "movie", "--out", tmp_path / "o", "--db", tmp_path / "s.db")
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: database not found: {tmp_path / 's.db'}"
    engine("data", "import", "ml-100k", tmp_path / "missing", "--db", tmp_path / "s.db")
    from db import open_db

    open_db(tmp_path / "s.db")
    r = engine("data", "split", "movie", "--out", tmp_path / "o", "--db", tmp_path / "s.db")
    assert r.exit_code == 1 and "no imported movie ratings" in r.stderr


@needs_shared
def test_split_samples_by_sample_is_seeded_and_disjoint(tmp_path):
    src = SHARED / "tallrec" / "book_valid.json"
    r = engine("data", "split-samples", src, "--out", tmp_path / "a", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert "1699 train, 243 valid, 485 test (seed 3)" in r.stdout
    parts = {n: json.loads((tmp_path / "a" / f"{n}.json").read_text()) for n in ("train", "valid", "test")}
    keys = {n: {(x["input"], x["output"]) for x in rows} for n, rows in parts.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["valid"] and not keys["valid"] & keys["test"]
    assert sum(len(k) for k in keys.values()) == len(json.loads(src.read_text()))
    engine("data", "split-samples", src, "--out", tmp_path / "b", "--seed", "3")
    assert (tmp_path / "b" / "test.json").read_text() == (tmp_path / "a" / "test.json").read_text()
    engine("data", "split-samples", src, "--out", tmp_path / "c", "--seed", "4")
    assert (tmp_path / "c" / "test.json").read_text() != (tmp_path / "a" / "test.json").read_text()


def test_split_samples_drops_duplicates_and_reports_bad_rows(tmp_path):
    good = [{"instruction": "i", "input": build_input("movie", [f"M{i} (1990)"], [], f"T{i} (1991)"),
             "output": "Yes." if i % 2 else "No."} for i in range(20)]
    rows = good + [good[0], {"instruction": "i", "input": "no history", "output": "Yes."}]
    src = tmp_path / "s.json"
    src.write_text(json.dumps(rows, indent=0))
    r = engine("data", "split-samples", src, "--out", tmp_path / "out", "--valid-share", "0.25", "--test-share", "0.25")
    assert r.exit_code == 0, r.output
    assert "10 train, 5 valid, 5 test" in r.stdout and "1 malformed sample(s) skipped" in r.stdout
    assert "s.json:" in r.stderr


def test_split_samples_errors(tmp_path):
    r = engine("data", "split-samples", tmp_path / "missing.json", "--out", tmp_path / "o")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: file not found: {tmp_path / 'missing.json'}"
    src = tmp_path / "s.json"
    src.write_text(json.dumps([{"instruction": "i", "input": build_input("movie", ["A (1990)"], [], "B (1991)"),
                                "output": "Yes."}]))
    r = engine("data", "split-samples", src, "--out", tmp_path / "o", "--test-share", "0.95")
    assert r.exit_code == 1 and "shares must be in (0, 1)" in r.stderr
    r = engine("data", "split-samples", src, "--out", tmp_path / "o")
    assert r.exit_code == 1 and "too few to split" in r.stderr
    assert not (tmp_path / "o").exists()
