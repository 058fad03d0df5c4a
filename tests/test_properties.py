"""Generated inputs (hypothesis, bounded example counts): the chat reader, the importers, the CLI's options.

Each surface must answer every input with a reply, a counted bad row or a one-line error: never a
traceback, never a lost good row, never a rating the text did not state.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import open_db
from db.errors import RecchatError
from db.importers.exports import read_goodreads, read_imdb, read_letterboxd
from db.importers.movielens import import_movielens
from engine.vocab.mentions import keys
from engine.chat.session import ChatSession
from engine.cli import cli
from tests.conftest import FIXTURES, engine
from tests.fakes import FakeScorer

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("props") / "store.db"
    assert engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", path).exit_code == 0
    return path


@pytest.fixture(scope="module")
def session(small_store, tmp_path_factory):
    import os

    os.environ["RECCHAT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    s = ChatSession(small_store, "prop-user", scorer_factory=lambda: FakeScorer(), n_candidates=5)
    s.load_model()
    return s


TITLES = ["Toy Story", "GoldenEye", "Four Rooms", "Get Shorty", "Copycat", "Twelve Monkeys", "Babe"]
VERDICTS = ["I loved", "I hated", "something like", "not", "loved", "was great", "but", "and"]
message = st.one_of(
    st.text(max_size=600),  # any Unicode, past the 500-character cut
    st.lists(st.one_of(st.sampled_from(TITLES), st.sampled_from(VERDICTS), st.text(max_size=12),
                       st.sampled_from(["<b>", "\x1b[31m", "\x00", "\u202e", "😀", "日本語", "‽", "\r\n", "“", "'"])),
             max_size=12).map(" ".join),
)


@SETTINGS
@given(text=message)
def test_the_reader_answers_anything_and_rates_only_named_titles(session, text):
    before = len(session.journal.undo_stack)
    reply = session.handle(text)
    assert isinstance(reply.text, str) and reply.text
    for step in session.journal.undo_stack[before:]:
        for change in step.changes:  # a rating was written: the message named that title
            title_words = set(keys(change.item.title)) - {"the", "a", "an"}
            assert title_words & set(keys(text)), (text, change.item.name)
    session.journal.undo_stack[before:] = []


GOOD_RATINGS = [f"{1 + k % 7},{1 + k % 5},{0.5 + k % 10 / 2:.1f},{1_000_000 + k}" for k in range(40)]
MOVIES = ('movieId,title,genres\n1,Toy Story (1995),Animation|Children\n2,"Heat, The (1995)",Action\n'
          '3,Alien (1979),Horror|Sci-Fi\n4,Babe (1995),Children\n5,"Seven (a.k.a. Se7en) (1995)",Thriller\n')
mutation = st.sampled_from([
    lambda line: line.split(",")[0],  # fields dropped
    lambda line: line + ",extra,fields",
    lambda line: line.replace(",", ",nan,", 1),
    lambda line: line.rsplit(",", 2)[0] + ",NaN," + line.rsplit(",", 1)[1],
    lambda line: line.rsplit(",", 2)[0] + ",1e308," + line.rsplit(",", 1)[1],
    lambda line: line.rsplit(",", 1)[0] + ",99999999999999999999999",
    lambda line: line.replace("1", "\xe9"),  # latin-1 bytes where UTF-8 is expected
    lambda line: "\x00" + line,
    lambda line: "",
    lambda line: '"' + line,
])


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.integers(0, len(GOOD_RATINGS) - 1), mutation, max_size=8))
def test_mutated_ratings_lines_are_counted_and_the_good_rows_still_import(tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("ml") / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(MOVIES, encoding="utf-8")
    lines = [edits[k](line) if k in edits else line for k, line in enumerate(GOOD_RATINGS)]
    (folder / "ratings.csv").write_bytes(("userId,movieId,rating,timestamp\n" + "\n".join(lines) + "\n").encode("latin-1"))
    (folder / "README.txt").write_text("This dataset (ml-latest-small) ...")
    db_path = folder.parent / "s.db"
    try:
        report = import_movielens(open_db(db_path), folder)
    except RecchatError as e:
        assert "\n" not in str(e)
        return
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
    intact = len(GOOD_RATINGS) - len(edits)
    assert intact <= stored <= len(GOOD_RATINGS)  # every untouched row is in; a mutated one only if still valid
    assert stored + len(report.bad) >= len(GOOD_RATINGS) - sum(1 for k in edits if lines[k] == "")


LETTERBOXD = ("Date,Name,Year,Letterboxd URI,Rating",
              ['2024-01-0{d},"Film {k}, The",19{y},https://boxd.it/{k},{r}'.format(d=1 + k % 9, k=k, y=50 + k, r=1 + k % 4)
               for k in range(20)])
IMDB = ("Const,Your Rating,Date Rated,Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,"
        "Release Date,Directors",
        [f"tt{1000 + k:07d},{1 + k % 10},2023-01-0{1 + k % 9},Film {k},,Movie,7.0,100,19{50 + k},Drama,10,,"
         for k in range(20)])
GOODREADS = ("Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,"
             "Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,"
             "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies",
             [f'{k},Book {k},Author {k},"{k}, Author",,="",="",{k % 6},4.0,,,100,2000,2000,,2020/01/0{1 + k % 9},,,read,,,,1,0'
              for k in range(20)])


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from([("letterboxd", LETTERBOXD, read_letterboxd), ("imdb", IMDB, read_imdb),
                              ("goodreads", GOODREADS, read_goodreads)]),
       edits=st.dictionaries(st.integers(0, 19), mutation, max_size=6))
def test_mutated_export_rows_are_counted_skips(tmp_path_factory, which, edits):
    name, (header, rows), reader = which
    path = tmp_path_factory.mktemp(name) / "export.csv"
    body = [edits[k](r) if k in edits else r for k, r in enumerate(rows)]
    path.write_bytes(("\ufeff" + header + "\r\n" + "\r\n".join(body) + "\r\n").encode("utf-8", "surrogateescape"))
    try:
        parsed, report = reader(path)
    except RecchatError as e:
        assert "\n" not in str(e)
        return
    assert len(parsed) + len(report.bad) >= len(rows) - len(edits)  # every intact row parsed or explained


int_text = st.one_of(st.integers(-10**12, 10**12).map(str), st.text(max_size=8))
cli_args = st.one_of(
    st.tuples(st.just("recommend"), st.sampled_from(["--top", "--candidates", "--year-min", "--year-max"]), int_text),
    st.tuples(st.just("eval-catalog"), st.sampled_from(["--users", "--last", "--candidates", "--seed"]), int_text),
    st.tuples(st.just("rate"), st.sampled_from(["--item", "--user"]), st.text(max_size=20)),
    st.tuples(st.just("data"), st.sampled_from(["split", "fetch", "import"]), st.text(max_size=12)),
    st.tuples(st.just("ask"), st.sampled_from(["--chat", "--candidates"]), int_text),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(args=cli_args)
def test_cli_options_exit_cleanly_with_one_line_errors(tmp_path_factory, args):
    missing = str(tmp_path_factory.getbasetemp() / "no-such-store.db")  # nothing heavy runs past option parsing
    command, option, value = args
    extra = {"recommend": ["--user", "x"], "eval-catalog": [], "rate": ["--like"], "ask": ["--user", "x", "hi"]}
    argv = [command, option, value, *extra.get(command, []), "--db", missing] if command != "data" else [command, option, value]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
