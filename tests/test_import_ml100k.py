"""ML-100K import: both layouts, exact counts, idempotence, bad rows, atomicity, one-line errors."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from db import open_db
from db.importers import writer as writer_module
from tests.conftest import FIXTURES, SHARED, count, dump, engine, needs_shared

GL = FIXTURES / "ml100k-grouplens"


@needs_shared
def test_recbole_layout_counts_and_reimport_adds_nothing(ml100k_copy):
    assert count(ml100k_copy, "SELECT COUNT(*) FROM items") == 1682
    assert count(ml100k_copy, "SELECT COUNT(*) FROM users") == 943
    assert count(ml100k_copy, "SELECT COUNT(*) FROM feedback") == 100_000
    assert count(ml100k_copy, "SELECT COUNT(*) FROM feedback WHERE liked = 1") == count(
        ml100k_copy, "SELECT COUNT(*) FROM feedback WHERE rating > 3"
    )
    before = dump(ml100k_copy)
    result = engine("data", "import", "ml-100k", SHARED / "ml-100k", "--db", ml100k_copy)
    assert result.exit_code == 0
    assert "added nothing" in result.stdout
    assert dump(ml100k_copy) == before


@needs_shared
def test_full_grouplens_layout_matches_recbole(tmp_path, ml100k_store):
    """Rewrite the RecBole files in GroupLens form (u.item in ISO-8859-1) and import both ways."""
    src = SHARED / "ml-100k"
    gl = tmp_path / "gl"
    gl.mkdir()
    inter = (src / "ml-100k.inter").read_text().splitlines()[1:]
    (gl / "u.data").write_text("".join(line + "\n" for line in inter))
    rows = []
    for line in (src / "ml-100k.item").read_text(encoding="utf-8").splitlines()[1:]:
        iid, title, year, _ = line.split("\t")
        rows.append("|".join([iid, f"{title} ({year})", "", "", ""] + ["0"] * 19))
    (gl / "u.item").write_bytes(("\n".join(rows) + "\n").encode("iso-8859-1"))
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(gl / "u.data", "ml-100k/u.data")
        zf.write(gl / "u.item", "ml-100k/u.item")
    db = tmp_path / "gl.db"
    assert engine("data", "import", "ml-100k", zpath, "--db", db).exit_code == 0
    q = "SELECT COUNT(*) FROM items i JOIN feedback f ON f.item_id = i.id"
    assert count(db, q) == 100_000
    names = lambda p: count(p, "SELECT group_concat(name, '|') FROM (SELECT name FROM items ORDER BY CAST(source_id AS INT))")
    assert names(db) == names(ml100k_store)
    assert count(db, "SELECT COUNT(*) FROM users") == 943


def test_grouplens_folder_and_zip_fixture(tmp_path):
    db = tmp_path / "s.db"
    r = engine("data", "import", "ml-100k", GL, "--db", db)
    assert r.exit_code == 0, r.output
    assert "added 41 items, 9 users, 74 feedback; skipped 0 bad rows" in r.stdout
    misérables = count(db, "SELECT COUNT(*) FROM items WHERE name = 'Misérables, Les (1995)' AND year = 1995")
    assert misérables == 1, "ISO-8859-1 titles decode"
    toy = open_db(db).execute("SELECT title, year, genres FROM items WHERE source_id = '1'").fetchone()
    assert toy == ("Toy Story", 1995, "Animation, Children's, Comedy")
    zpath = tmp_path / "ml.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in ("u.data", "u.item"):
            zf.write(GL / f, f"ml-100k/{f}")
    before = dump(db)
    assert engine("data", "import", "ml-100k", zpath, "--db", db).exit_code == 0
    assert dump(db) == before, "the zip holds the same data: nothing added"


@pytest.fixture
def bad_gl(tmp_path):
    d = tmp_path / "bad"
    shutil.copytree(GL, d)
    data = (d / "u.data").read_bytes().splitlines(keepends=True)
    data[2] = b"196\t1\n"  # line 3: short line
    data[4] = b"196\t2\tfive\t881250949\n"  # line 5: non-numeric rating
    data[6] = b"196\t99999\t4\t881250949\n"  # line 7: unknown item id
    data[8] = b"196\t3\t4\t88125\xff\xfe949\n"  # line 9: undecodable bytes
    (d / "u.data").write_bytes(b"".join(data))
    items = (d / "u.item").read_bytes().splitlines(keepends=True)
    items[1] = b"2|GoldenEye (1995)|01-Jan-1995\n"  # line 2: short line
    items[3] = b"4|Get \x00Shorty (1995)|" + b"|".join([b"0"] * 22) + b"\n"  # line 4: NUL byte
    (d / "u.item").write_bytes(b"".join(items))
    return d


def test_bad_rows_are_reported_and_skipped(bad_gl, tmp_path):
    db = tmp_path / "s.db"
    r = engine("data", "import", "ml-100k", bad_gl, "--db", db)
    assert r.exit_code == 0
    err = r.stderr
    assert "u.data:3: expected 4 tab-separated fields, got 2" in err
    assert "u.data:5: non-numeric rating or timestamp: 'five' '881250949'" in err
    assert "u.data:7: unknown item id '99999'" in err
    assert "u.data:9: undecodable bytes (utf-8) at column 14" in err
    assert "u.item:2: expected 24 |-separated fields, got 3" in err
    assert "u.item:4: undecodable bytes (NUL at column 7)" in err
    # Ratings of the two dropped items are reported as unknown items too.
    n_bad = err.count("\n")
    assert f"skipped {n_bad} bad rows" in r.stdout
    assert count(db, "SELECT COUNT(*) FROM items WHERE source_id IN ('2', '4')") == 0
    assert count(db, "SELECT COUNT(*) FROM items") == 39
    assert count(db, "SELECT COUNT(*) FROM feedback") == 74 - n_bad + 2  # the 2 u.item rows are not ratings
    before = dump(db)
    again = engine("data", "import", "ml-100k", bad_gl, "--db", db)
    assert again.stderr == err and dump(db) == before, "re-import of a file with bad rows changes nothing"


def test_failure_mid_import_leaves_db_exactly_as_before(tmp_path, monkeypatch):
    db = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", GL, "--db", db).exit_code == 0
    before = dump(db)
    other = tmp_path / "other"
    shutil.copytree(GL, other)
    lines = (other / "u.data").read_text().splitlines()
    (other / "u.data").write_text("".join(f"{int(u) + 5000}\t{i}\t{r}\t{t}\n" for u, i, r, t in (l.split("\t") for l in lines)))
    calls = {"n": 0}
    real = writer_module.Writer.feedback
    monkeypatch.setattr(writer_module, "FEEDBACK_BATCH", 10)  # three batches are written before the crash

    def crash_after_30(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > 30:
            raise RuntimeError("disk on fire")
        return real(self, *a, **k)

    monkeypatch.setattr(writer_module.Writer, "feedback", crash_after_30)
    with pytest.raises(RuntimeError):
        engine("data", "import", "ml-100k", other, "--db", db)
    assert calls["n"] == 31
    assert dump(db) == before


def test_missing_path_is_one_line_error(tmp_path):
    db = tmp_path / "s.db"
    r = engine("data", "import", "ml-100k", tmp_path / "nope", "--db", db)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [f"Error: file not found: {tmp_path / 'nope'}"]
    assert not db.exists()


def test_folder_without_ml100k_files(tmp_path):
    r = engine("data", "import", "ml-100k", tmp_path, "--db", tmp_path / "s.db")
    assert r.exit_code == 1
    assert "not an ML-100K folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unwritable_db_path_is_one_line_error(tmp_path):
    # Tests may run as root, where chmod does not stop writes: a regular file as parent folder does.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    target = blocker / "s.db"
    r = engine("data", "import", "ml-100k", GL, "--db", target)
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1
    assert lines[0].startswith(f"Error: cannot open database {target}")
    assert blocker.read_text() == "x"
