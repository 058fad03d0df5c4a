"""`engine stack fit` and `engine eval-catalog` end to end on the real ML-100K store (no LLM: seconds)."""

from __future__ import annotations

import json

from tests.conftest import engine


def test_stack_fit_without_llm_then_eval_catalog(ml100k_copy, movie_split_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    r = engine("stack", "fit", "--no-llm", "--data", movie_split_dir / "valid.json", "--db", ml100k_copy,
               "--rank-users", "40")
    assert r.exit_code == 0, r.output
    path = tmp_path / "data" / "stacks" / "no-llm-movie.json"
    saved = json.loads(path.read_text())
    assert saved["model_id"] is None and "llm_logit" not in saved["like"]["features"]
    assert saved["fitted_on"]["rank_users"] == 40 and saved["fitted_on"]["exclude"].startswith("test.json@sha256:")
    assert saved["short"]["features"] == saved["like"]["features"]  # the short-history head (docs/calibration.md)
    assert saved["fitted_on"]["cut_lengths"] == [1, 2, 3, 5] and saved["fitted_on"]["short_rows"] == 4000
    assert "P(like) weights per SD" in r.stdout and "rank weights per SD" in r.stdout

    out = tmp_path / "catalog.json"
    r = engine("eval-catalog", "--no-llm", "--users", "30", "--db", ml100k_copy, "--json", out,
               "--ease-lambdas", "100,250")
    assert r.exit_code == 0, r.output
    m = json.loads(out.read_text())
    assert m["ease_lambdas_tried"] == [100.0, 250.0] and m["ease_lambda"] in (100.0, 250.0)
    assert r.stderr.count("validation NDCG@10") == 2 and "chosen on the fit half among 100, 250" in r.stdout
    assert m["users"] == 30 and m["best_classic"] in {"popularity", "item-knn", "als", "ease"}
    assert {"ease", "als", "item-knn", "popularity", "previous pipeline without LLM",
            "learned ranker (served)"} <= set(m["metrics"])
    assert "| learned ranker (served) |" in r.stdout


def test_stack_fit_refuses_predictions_of_other_samples(ml100k_copy, movie_split_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"index": i, "label": 1, "logit": 0.0}) + "\n" for i in range(3)))
    r = engine("stack", "fit", "--data", movie_split_dir / "valid.json", "--logits", preds, "--db", ml100k_copy)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == (f"Error: {preds}: predictions do not match the samples of --data "
                                                 "(count or labels differ)")
    assert not (tmp_path / "data" / "stacks").exists()  # nothing written
    r = engine("stack", "fit", "--no-llm", "--data", tmp_path / "missing.json", "--db", ml100k_copy)
    assert r.exit_code == 1 and "file not found" in r.stderr


def test_eval_catalog_refuses_a_bad_lambda_list_in_one_line(ml100k_copy):
    for bad in ("100,lots", "0,250"):
        r = engine("eval-catalog", "--no-llm", "--db", ml100k_copy, "--ease-lambdas", bad)
        assert r.exit_code == 2 and "--ease-lambdas" in r.stderr and "Traceback" not in r.stderr
