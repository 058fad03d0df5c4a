"""`chat` refuses bad starts with one line before any UI opens."""

from __future__ import annotations

from click.testing import CliRunner

from tui.cli import chat


def run(*args):
    return CliRunner().invoke(chat, [str(a) for a in args])


def test_help_explains_the_keys():
    r = run("--help")
    assert r.exit_code == 0 and "l / d" in r.output and "--user" in r.output


def test_empty_store_says_what_to_import(tmp_path):
    r = run("--db", tmp_path / "empty.db", "--user", "me")
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == ["Error: the store has no movie items yet: run `engine data import ml-100k` first"]


def test_missing_model_is_one_line(ml100k_copy, tmp_path):
    r = run("--db", ml100k_copy, "--model", tmp_path / "nope.gguf")
    assert r.exit_code == 1
    assert len(r.output.strip().splitlines()) == 1 and "nope.gguf" in r.output


def test_unwritable_store_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("--db", blocker / "sub" / "store.db")
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1 and "cannot open database" in r.output
