"""`engine rate`, `engine recommend` and `engine eval` end to end: real store, real model, real files."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.metrics import roc_auc_score

from db import open_db
from db.errors import RecchatError
from db.fileio import check_writable
from db.feedback import rated_item_ids
from db.users import find_user
from tests.conftest import count, dump, engine


def test_rate_by_title_and_id(ml100k_copy):
    r = engine("rate", "--db", ml100k_copy, "--user", "carol", "--item", "alien (1979)", "--like", "--create")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "carol likes Alien (1979) [id 183]"
    r = engine("rate", "--db", ml100k_copy, "--user", "carol", "--item", "183", "--dislike")
    assert r.exit_code == 0
    row = open_db(ml100k_copy).execute(
        "SELECT c.liked, c.source FROM current_feedback c JOIN users u ON u.id = c.user_id WHERE u.name = 'carol'").fetchall()
    assert row == [(0, "cli")]  # latest wins


def test_rate_refuses_an_unknown_user_without_create(ml100k_copy):
    """A typo in --user is an error naming close names, not a new user with one rating."""
    before = dump(ml100k_copy)
    r = engine("rate", "--db", ml100k_copy, "--user", "ml100k-19x", "--item", "183", "--like")
    assert r.exit_code == 1
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("Error: no user named 'ml100k-19x'; did you mean") and "--create" in err
    assert dump(ml100k_copy) == before


@pytest.mark.parametrize("command", ["rate", "recommend"])
def test_an_empty_user_name_is_one_line_error(ml100k_copy, command):
    before = dump(ml100k_copy)
    args = ["--item", "183", "--like", "--create"] if command == "rate" else ["--model", "/nonexistent.gguf"]
    r = engine(command, "--db", ml100k_copy, "--user", "  ", *args)
    assert r.exit_code == 1
    assert r.stderr.strip() == "Error: user name is empty"
    assert dump(ml100k_copy) == before


def test_rate_unknown_title_lists_close_matches(ml100k_copy):
    before = dump(ml100k_copy)
    r = engine("rate", "--db", ml100k_copy, "--user", "carol", "--item", "Alein", "--like")
    assert r.exit_code == 1
    assert r.stderr.strip().startswith("Error: unknown item 'Alein'; close matches: Alien (1979) [id 183]")
    assert len(r.stderr.strip().splitlines()) == 1
    assert dump(ml100k_copy) == before  # not even the user was created


def test_rate_ambiguous_title(ml100k_copy):
    before = dump(ml100k_copy)
    r = engine("rate", "--db", ml100k_copy, "--user", "carol", "--item", "Chasing Amy", "--like")
    assert r.exit_code == 1
    assert "ambiguous item 'Chasing Amy': Chasing Amy (1997) [id 246]; Chasing Amy (1997) [id 268]; use the id" in r.stderr
    assert dump(ml100k_copy) == before


def test_rate_without_a_store_is_one_line_error(tmp_path):
    r = engine("rate", "--db", tmp_path / "no" / "such" / "dir" / "x.db", "--user", "a", "--item", "1", "--like")
    assert r.exit_code == 1
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error:")


def test_recommend_json_ranks_unrated_items(ml100k_copy):
    r = engine("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--candidates", "8", "--top", "3", "--json")
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    assert len(recs) == 3
    keys = [x["match"] for x in recs]
    assert keys == sorted(keys, reverse=True)  # the learned ranker orders
    assert all(0 < x["p_yes"] < 1 and 0 < x["p_like"] < 1 for x in recs)
    assert "learned ranker" in r.stderr  # which ranker orders (fitted on this catalog, or the fallback) is said
    db = open_db(ml100k_copy)
    assert not {x["id"] for x in recs} & rated_item_ids(db, find_user(db, "ml100k-196"))


def test_recommend_with_query_and_table(ml100k_copy):
    r = engine("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--query", "star trek", "--top", "2")
    assert r.exit_code == 0, r.output
    header, *lines = r.stdout.strip().splitlines()
    assert "P(like)" in header and "P(Yes)" in header
    assert len(lines) == 2 and all("Star Trek" in line for line in lines)
    r = engine("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--query", "zzzqqq")
    assert "no candidates match" in r.stdout


def test_recommend_bad_model_is_one_line_error(ml100k_copy, tmp_path):
    bad = tmp_path / "m.gguf"
    bad.write_text("hello")
    r = engine("recommend", "--db", ml100k_copy, "--user", "x", "--model", bad)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [f"Error: not a GGUF file: {bad} (starts with b'hell')"]


def _eval_file(movie_split_dir, tmp_path):
    """6 real samples of two users (both labels each) and 4 rows with a bad shape."""
    test = json.loads((movie_split_dir / "test.json").read_text())
    by_user: dict[int, list] = {}
    for s in test:
        by_user.setdefault(s["user_id"], []).append(s)
    picked = []
    for rows in by_user.values():
        yes = [s for s in rows if s["output"] == "Yes."][:2]
        no = [s for s in rows if s["output"] == "No."][:1]
        if len(yes) == 2 and no:
            picked += yes + no
        if len(picked) == 6:
            break
    bad = [
        {"instruction": "x", "input": picked[0]["input"]},  # no output
        {"instruction": "x", "input": picked[0]["input"], "output": "Maybe."},
        ["not", "an", "object"],
        {"instruction": "x", "input": "no history here", "output": "Yes."},
    ]
    f = tmp_path / "mixed.json"
    f.write_text("[\n" + ",\n".join(json.dumps(x) for x in picked[:3] + bad + picked[3:]) + "\n]\n")
    return f, picked


def test_eval_reports_bad_rows_and_stores_the_run(ml100k_copy, movie_split_dir, tmp_path):
    data, picked = _eval_file(movie_split_dir, tmp_path)
    out = tmp_path / "out" / "m.json"
    preds = tmp_path / "out" / "m.jsonl"
    r = engine("eval", "--db", ml100k_copy, "--data", data, "--train", movie_split_dir / "train.json",
               "--json", out, "--k", "0", "--predictions", preds)
    assert r.exit_code == 0, r.output
    assert "mixed.json:5: missing or non-string 'output'" in r.stderr
    assert "mixed.json:6: output must be 'Yes.' or 'No.', got 'Maybe.'" in r.stderr
    assert "mixed.json:7: sample is not a JSON object" in r.stderr
    assert "mixed.json:8:" in r.stderr
    assert "skipped 4 samples with a bad shape" in r.stderr
    m = json.loads(out.read_text())
    assert {"auc", "gauc", "n", "baselines", "seconds"} <= set(m)
    assert m["n"] == 6 and set(m["baselines"]) == {"like_share", "feature_lr"}
    assert 0 <= m["auc"] <= 1 and m["gauc"] is not None
    assert m["baselines"]["like_share"]["auc"] == pytest.approx(
        roc_auc_score([s["output"] == "Yes." for s in picked], [_share(s["input"]) for s in picked]))
    assert (tmp_path / "out" / "m.roc.png").read_bytes()[:4] == b"\x89PNG"
    row = open_db(ml100k_copy).execute("SELECT model_sha256, dataset, k, metrics FROM eval_runs").fetchall()
    assert len(row) == 1 and len(row[0][0]) == 64 and row[0][2] == 0 and json.loads(row[0][3])["n"] == 6
    assert "LLM P(Yes)" in r.stdout and "feature_lr" in r.stdout
    # beside the LLM: EASE alone, the shipped stack without the LLM and (the default model's own) served stack
    assert {"ease_alone", "stack_without_llm", "served_stack"} <= set(m["stacks"])
    for name in ("stack_without_llm", "served_stack"):
        assert m["stacks"][name]["n"] == 6 and 0 <= m["stacks"][name]["auc"] <= 1
    assert "llm_logit" in m["stacks"]["served_stack"]["weights"] and "served stack weights" in r.stdout
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(6))
    assert [r["label"] for r in rows] == [int(s["output"] == "Yes.") for s in picked]
    assert [r["user_id"] for r in rows] == [s["user_id"] for s in picked]
    for row in rows:
        assert row["p_yes"] == pytest.approx(1 / (1 + math.exp(-row["logit"])), abs=1e-5)


def _share(text: str) -> float:
    from db.prompt import parse_input

    p = parse_input("movie", text)
    return len(p.liked) / (len(p.liked) + len(p.disliked))


def test_eval_limit_and_errors(ml100k_copy, movie_split_dir, tmp_path):
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "valid.json", "--limit", "2",
               "--roc", tmp_path / "r.png")
    assert r.exit_code == 0, r.output
    assert "n=2" in r.stdout and "feature_lr" in r.stdout  # train.json beside --data is found
    assert count(ml100k_copy, "SELECT COUNT(*) FROM eval_runs") == 1

    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": "x",\n "input": ')
    r = engine("eval", "--db", ml100k_copy, "--data", broken)
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [f"Error: {broken}:2: malformed JSON: Expecting value"]

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    r = engine("eval", "--db", ml100k_copy, "--data", empty)
    assert r.exit_code == 1 and "no usable samples" in r.stderr
    r = engine("eval", "--db", ml100k_copy, "--data", tmp_path / "missing.json")
    assert r.exit_code == 1 and "file not found" in r.stderr

    # outputs that could not be written fail before any scoring, with one line each
    (tmp_path / "a-file").write_text("")
    not_folder = f"{tmp_path / 'a-file'} is a file, not a folder"
    for option, out, reason in [("--json", tmp_path / "a-file" / "m.json", not_folder),
                                ("--predictions", tmp_path / "a-file" / "p.jsonl", not_folder),
                                ("--roc", tmp_path / "a-file" / "sub" / "r.png", "Not a directory")]:
        r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "valid.json", option, out)
        assert r.exit_code == 1 and r.stderr.strip().splitlines() == [f"Error: cannot write {out}: {reason}"], r.output
        assert "scoring" not in r.stderr
    assert count(ml100k_copy, "SELECT COUNT(*) FROM eval_runs") == 1
    assert not [p.name for p in tmp_path.rglob("*.tmp")]  # the probes leave no temp files
    with pytest.raises(RecchatError, match="it is a folder"):
        check_writable(tmp_path)


def test_eval_hybrid_fits_on_another_split(ml100k_copy, movie_split_dir, tmp_path):
    out = tmp_path / "h.json"
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "test.json", "--limit", "12",
               "--hybrid-fit", movie_split_dir / "valid.json", "--hybrid-limit", "16", "--json", out)
    assert r.exit_code == 0, r.output
    assert "hybrid LR" in r.stdout
    h = json.loads(out.read_text())["hybrid"]
    assert h["n"] == 12 and h["fit_n"] == 16 and 0 <= h["auc"] <= 1
    assert set(h["coefficients"]) == {"llm_logit", "like_share", "item_like_rate", "log_popularity"}


def test_eval_hybrid_refuses_leaks_and_missing_train(ml100k_copy, movie_split_dir, tmp_path):
    test = movie_split_dir / "test.json"
    r = engine("eval", "--db", ml100k_copy, "--data", test, "--limit", "2", "--hybrid-fit", test)
    assert r.exit_code == 1 and "needs a different split" in r.stderr
    lone = tmp_path / "lone" / "test.json"
    lone.parent.mkdir()
    lone.write_text(test.read_text())
    r = engine("eval", "--db", ml100k_copy, "--data", lone, "--limit", "2", "--hybrid-fit", movie_split_dir / "valid.json")
    assert r.exit_code == 1 and "--hybrid-fit needs --train" in r.stderr


def test_eval_notes_need_training_statistics(ml100k_copy, movie_split_dir, tmp_path):
    lone = tmp_path / "lone" / "test.json"
    lone.parent.mkdir()
    lone.write_text((movie_split_dir / "test.json").read_text())
    r = engine("eval", "--db", ml100k_copy, "--data", lone, "--limit", "2", "--notes")
    assert r.exit_code == 1 and "--notes needs --train" in r.stderr
    out = tmp_path / "n.json"
    r = engine("eval", "--db", ml100k_copy, "--data", movie_split_dir / "test.json", "--limit", "4", "--notes",
               "--json", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["n"] == 4
