"""BookCrossing import from the hand-made fixture in the dump's exact CSV layout."""

from __future__ import annotations

from tests.conftest import count, dump, engine


def test_import_counts_names_and_reimport(bx_dir, tmp_path):
    db = tmp_path / "s.db"
    r = engine("data", "import", "bookcrossing", bx_dir, "--db", db)
    assert r.exit_code == 0, r.output
    assert "added 20 items, 20 users, 108 feedback; skipped 0 bad rows" in r.stdout
    assert count(db, "SELECT COUNT(*) FROM items WHERE name = '\"Le Petit Prince\" written by Antoine de Saint-Exupéry'") == 1
    assert count(db, "SELECT COUNT(*) FROM items WHERE title = 'The \"Testament\"'") == 1, "\\\" escapes"
    assert count(db, "SELECT COUNT(*) FROM feedback WHERE liked = 1") == count(db, "SELECT COUNT(*) FROM feedback WHERE rating > 5")
    before = dump(db)
    assert "added nothing" in engine("data", "import", "bookcrossing", bx_dir, "--db", db).stdout
    assert dump(db) == before


def test_bad_rows(bx_dir, tmp_path):
    db = tmp_path / "s.db"
    assert engine("data", "import", "bookcrossing", bx_dir, "--db", db).exit_code == 0
    before = dump(db)
    with open(bx_dir / "BX-Book-Ratings.csv", "ab") as f:
        f.write(b'"276725"\r\n')  # line 110: short line
        f.write(b'"276725";"0195153448";"great"\r\n')  # line 111: non-numeric rating
        f.write(b'"276725";"9999999999";"7"\r\n')  # line 112: unknown ISBN
        f.write(b'"276725";"0195\x00153448";"7"\r\n')  # line 113: undecodable bytes
        f.write(b'"276725";"0195153448";"11"\r\n')  # line 114: out of range
    with open(bx_dir / "BX-Books.csv", "ab") as f:
        f.write(b'"0000000001";"Half a row"\r\n')  # line 22: short line
    r = engine("data", "import", "bookcrossing", bx_dir, "--db", db)
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [
        "BX-Books.csv:22: expected at least 4 ;-separated fields, got 2",
        "BX-Book-Ratings.csv:110: expected 3 ;-separated fields, got 1",
        "BX-Book-Ratings.csv:111: non-numeric rating 'great'",
        "BX-Book-Ratings.csv:112: unknown item id '9999999999'",
        "BX-Book-Ratings.csv:113: undecodable bytes (NUL at column 15)",
        "BX-Book-Ratings.csv:114: rating 11 outside 0-10",
    ]
    assert "added nothing; skipped 6 bad rows" in r.stdout
    assert dump(db) == before


def test_missing_ratings_file(bx_dir, tmp_path):
    (bx_dir / "BX-Book-Ratings.csv").unlink()
    db = tmp_path / "s.db"
    r = engine("data", "import", "bookcrossing", bx_dir, "--db", db)
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: file not found: {bx_dir / 'BX-Book-Ratings.csv'}"


def test_book_split_protocol(bx_dir, tmp_path):
    db = tmp_path / "s.db"
    engine("data", "import", "bookcrossing", bx_dir, "--db", db)
    import json

    outs = []
    for run in ("a", "b"):
        r = engine("data", "split", "book", "--out", tmp_path / run, "--seed", 3, "--db", db)
        assert r.exit_code == 0, r.output
        outs.append({n: json.loads((tmp_path / run / f"{n}.json").read_text()) for n in ("train", "valid", "test")})
    assert outs[0] == outs[1], "same seed, same split"
    splits = outs[0]
    assert [len(splits[n]) for n in ("train", "valid", "test")] == [16, 2, 2]
    users = [{s["user_id"] for s in splits[n]} for n in ("train", "valid", "test")]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2]), "users split 8:1:1, disjoint"
    for s in splits["train"]:
        assert s["item_id"] not in s["history"] and 1 <= len(s["history"]) <= 10
        assert "target book" in s["instruction"] and s["output"] in ("Yes.", "No.")
    other = engine("data", "split", "book", "--out", tmp_path / "c", "--seed", 4, "--db", db)
    assert other.exit_code == 0
    assert json.loads((tmp_path / "c" / "train.json").read_text()) != splits["train"]
