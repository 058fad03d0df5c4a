"""TALLRec JSON import: items parsed out of inputs, bad samples named by line."""

from __future__ import annotations

import json

from db.prompt import parse_input
from tests.conftest import SHARED, count, dump, engine, needs_shared


@needs_shared
def test_movie_items_join_existing_catalog(ml100k_copy):
    before = count(ml100k_copy, "SELECT COUNT(*) FROM items")
    r = engine("data", "import", "tallrec", SHARED / "tallrec" / "movie_test.json", "--domain", "movie", "--db", ml100k_copy)
    assert r.exit_code == 0, r.output
    assert "added nothing" in r.stdout, "every title is already an ML-100K item"
    assert count(ml100k_copy, "SELECT COUNT(*) FROM items") == before


@needs_shared
def test_book_items(tmp_path):
    db = tmp_path / "s.db"
    r = engine("data", "import", "tallrec", SHARED / "tallrec" / "book_valid.json", "--domain", "book", "--db", db)
    assert r.exit_code == 0, r.output
    n = count(db, "SELECT COUNT(*) FROM items WHERE domain = 'book'")
    names = set()
    for s in json.loads((SHARED / "tallrec" / "book_valid.json").read_text()):
        p = parse_input("book", s["input"])
        names.update(p.liked + p.disliked + [p.target])
    assert n == len(names) > 1000
    assert count(db, "SELECT COUNT(*) FROM items WHERE creators = '' AND domain = 'book'") == 0
    before = dump(db)
    engine("data", "import", "tallrec", SHARED / "tallrec" / "book_valid.json", "--domain", "book", "--db", db)
    assert dump(db) == before


def test_bad_samples_and_malformed_json(tmp_path):
    good = {"instruction": "i", "input": 'User Preference: "A (1990)"\nUser Unpreference: \nWhether the user will like the target movie "B (1991)"?', "output": "Yes."}
    f = tmp_path / "s.json"
    f.write_text(json.dumps([good, {"input": "x"}, dict(good, output="Maybe"), dict(good, input="hello")], indent=1))
    db = tmp_path / "s.db"
    r = engine("data", "import", "tallrec", f, "--domain", "movie", "--db", db)
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [
        "s.json:7: missing or non-string 'instruction'",
        "s.json:10: output must be 'Yes.' or 'No.', got 'Maybe'",
        "s.json:15: input is not in TALLRec form (User Preference / User Unpreference / Whether ...)",
    ]
    assert "added 2 items; skipped 3 bad rows" in r.stdout
    before = dump(db)
    f.write_text('[{"instruction": "i",\n "input": }]')
    r = engine("data", "import", "tallrec", f, "--domain", "movie", "--db", db)
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: {f}:2: malformed JSON: Expecting value"
    assert dump(db) == before
    r = engine("data", "import", "tallrec", tmp_path / "missing.json", "--domain", "movie", "--db", db)
    assert r.exit_code == 1 and "file not found" in r.stderr
