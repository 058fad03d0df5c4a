"""`engine recommend --among FILE` and `engine ask --among FILE`: only the listed items are ranked; a line that
names no item or several is one error naming the line, with nothing ranked or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db import open_db
from db.errors import RecchatError
from db.importers.movielens import import_movielens
from engine.cli.among import list_lines, read_among, title_and_year
from engine.collab.cache import load_or_fit
from engine.rank.recommend import retrieve
from engine.rank.retrieval import Query
from engine.rank.served import serving_order
from tests.conftest import dump, engine
from tests.fakes import FakeScorer

MOVIES = {1: "Toy Story (1995)", 2: '"Terminator, The (1984)"', 3: '"Godfather, The (1972)"', 4: "Hamlet (1996)",
          5: "Hamlet (1948)", 6: "Emma (1996)", 7: "Emma (1996)", 8: "Blade Runner 2049 (2017)",
          9: '"Shawshank Redemption, The (1994)"', 10: "Alien (1979)", 11: "Fargo (1996)", 12: "Heat (1995)"}


def write_release(folder: Path) -> Path:
    """A ml-latest-small-shaped release of 12 films (two Hamlets, two Emmas of 1996) and 5 users who rate most."""
    folder.mkdir()
    movies = "".join(f"{i},{t},Drama\n" for i, t in MOVIES.items())
    (folder / "movies.csv").write_text("movieId,title,genres\n" + movies, encoding="utf-8")
    ratings = "".join(f"{u},{m},{1 + (u * m) % 5}.0,{964982703 + u * 100 + m}\n"
                      for u in range(1, 6) for m in MOVIES if (u + m) % 4)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + ratings, encoding="utf-8")
    (folder / "README.txt").write_text("Summary\n=======\n\nThis dataset (ml-latest-small) describes ratings.\n")
    return folder


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "s.db"
    db = open_db(path)
    import_movielens(db, write_release(tmp_path / "ml-latest-small"))
    db.conn.close()
    return path


@pytest.fixture
def fake_model(monkeypatch):
    """Both commands score with a FakeScorer: no GGUF is opened (the learned ranker orders)."""
    monkeypatch.setattr("engine.llm.backends.open_scorer", lambda path=None: FakeScorer())
    monkeypatch.setattr("engine.chat.session.open_scorer", lambda path=None: FakeScorer())


def listing(tmp_path: Path, *lines: str, name: str = "list.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ids_by_name(path: Path) -> dict[str, int]:
    db = open_db(path, create=False)
    try:
        return {r["name"]: r["id"] for r in db.query("SELECT id, name FROM items ORDER BY id")}
    finally:
        db.conn.close()


def among(store: Path, path: Path) -> tuple[int, ...]:
    db = open_db(store, create=False)
    try:
        return read_among(db, path, "movie")
    finally:
        db.conn.close()


# ------------------------------------------------------------------------------------- the file
def test_blank_lines_and_comments_are_skipped_and_numbers_kept(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("\ufeff# my list\n\n  Toy Story  \n# Alien\nFargo\r\n", encoding="utf-8")
    assert [(line.number, line.text) for line in list_lines(path)] == [(3, "Toy Story"), (5, "Fargo")]


@pytest.mark.parametrize("text, expected", [("Heat (1995)", ("Heat", 1995)), ("heat 1995", ("heat", 1995)),
                                            ("Heat(1995)", ("Heat", 1995)), ("Heat", ("Heat", None)),
                                            ("1984", ("1984", None)),
                                            ("2001: A Space Odyssey", ("2001: A Space Odyssey", None))])
def test_title_and_year(text, expected):
    assert title_and_year(text) == expected


def test_a_file_of_comments_only_is_an_error(tmp_path):
    with pytest.raises(RecchatError, match="names no items"):
        list_lines(listing(tmp_path, "# nothing", "", "   "))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(RecchatError, match="cannot read it"):
        list_lines(tmp_path / "nope.txt")


def test_a_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Amélie\n".encode("latin-1"))
    with pytest.raises(RecchatError, match="not UTF-8"):
        list_lines(path)


# ------------------------------------------------------------------------------------ resolving
def test_ids_names_titles_and_the_title_linker(store, tmp_path):
    by = ids_by_name(store)
    path = listing(tmp_path, str(by["Fargo (1996)"]), "Toy Story (1995)", "alien", "the terminator",
                   "the godfather 1972", "Hamlet (1948)", "blade runner 2049", "shawshank redemtion", "Toy Story")
    assert among(store, path) == (by["Fargo (1996)"], by["Toy Story (1995)"], by["Alien (1979)"],
                                  by["Terminator, The (1984)"], by["Godfather, The (1972)"], by["Hamlet (1948)"],
                                  by["Blade Runner 2049 (2017)"], by["Shawshank Redemption, The (1994)"])  # once each


def test_an_unknown_line_names_its_number(store, tmp_path):
    path = listing(tmp_path, "# films", "Toy Story", "", "zzqq no such film")
    with pytest.raises(RecchatError) as e:
        among(store, path)
    assert str(e.value).startswith(f"--among {path}, line 4: unknown item 'zzqq no such film'")


def test_an_unknown_id_is_an_unknown_line(store, tmp_path):
    with pytest.raises(RecchatError, match=r"line 1: unknown item '99999'"):
        among(store, listing(tmp_path, "99999"))


def test_an_ambiguous_title_lists_the_items_and_asks_for_a_year(store, tmp_path):
    by = ids_by_name(store)
    with pytest.raises(RecchatError) as e:
        among(store, listing(tmp_path, "Fargo", "hamlet"))
    msg = str(e.value)
    assert "line 2: 'hamlet' names several items" in msg and "write the id or add the year" in msg
    assert f"[id {by['Hamlet (1996)']}]" in msg and f"[id {by['Hamlet (1948)']}]" in msg and "\n" not in msg


def test_two_films_of_one_name_and_year_ask_for_the_id(store, tmp_path):
    with pytest.raises(RecchatError) as e:
        among(store, listing(tmp_path, "Emma (1996)"))
    assert "line 1: 'Emma (1996)' names several items" in str(e.value)
    assert str(e.value).endswith("; write the id")


# ------------------------------------------------------------------------------------ retrieval
def test_retrieve_keeps_only_the_listed_items(store, tmp_path):
    by = ids_by_name(store)
    ids = among(store, listing(tmp_path, "Fargo", "Heat", "Alien"))
    db = open_db(store, create=False)
    order = serving_order(db, "movie", load_or_fit(db, "movie", log=lambda m: None, background=False), None)
    _, cands = retrieve(db, order, None, Query(among=ids), 50)
    assert {c.item.id for c in cands} == set(ids)
    _, cands = retrieve(db, order, None, Query(among=ids), 50, exclude=(by["Heat (1995)"],))
    assert {c.item.id for c in cands} == {by["Fargo (1996)"], by["Alien (1979)"]}
    _, cands = retrieve(db, order, None, Query(), 50)
    assert len(cands) == len(MOVIES)  # without the limit, the whole catalog
    db.conn.close()


# -------------------------------------------------------------------------------------- the CLI
def test_recommend_ranks_only_the_list(store, tmp_path, fake_model):
    by = ids_by_name(store)
    path = listing(tmp_path, "Fargo", "# a comment", "heat 1995", "the terminator")
    r = engine("recommend", "--db", store, "--user", "1", "--among", path, "--top", "10", "--json")
    assert r.exit_code == 0, r.output
    assert {row["id"] for row in json.loads(r.stdout)} == {by["Fargo (1996)"], by["Heat (1995)"],
                                                          by["Terminator, The (1984)"]}


def test_ask_ranks_only_the_list(store, tmp_path, fake_model):
    by = ids_by_name(store)
    path = listing(tmp_path, "Fargo", "Heat (1995)", "Alien")
    r = engine("ask", "--db", store, "--user", "me", "--among", path, "--json", "something like Toy Story")
    assert r.exit_code == 0, r.output
    items = {row["id"] for row in json.loads(r.stdout.splitlines()[-1])["items"]}
    assert items == {by["Fargo (1996)"], by["Heat (1995)"], by["Alien (1979)"]}


COMMANDS = [("recommend", "--user", "1"), ("ask", "--user", "me", "hello")]


def run_with_list(store: Path, command: tuple[str, ...], path: Path):
    """`engine COMMAND --db STORE --user NAME --among PATH [MESSAGE]`."""
    return engine(command[0], "--db", store, *command[1:3], "--among", path, *command[3:])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("lines, says", [(("Fargo", "hamlet"), "line 2: 'hamlet' names several items"),
                                         (("zzqq no such film",), "line 1: unknown item 'zzqq no such film'"),
                                         (("# only a comment",), "names no items")])
def test_a_bad_list_is_one_line_and_writes_nothing(store, tmp_path, fake_model, command, lines, says):
    before = dump(store)
    r = run_with_list(store, command, listing(tmp_path, *lines))
    assert r.exit_code == 1
    assert len(r.output.strip().splitlines()) == 1 and says in r.output
    assert dump(store) == before  # no user, no chat, no rating


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_list_file_is_one_line(store, tmp_path, fake_model, command):
    before = dump(store)
    r = run_with_list(store, command, tmp_path / "nope.txt")
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1 and "nope.txt" in r.output
    assert dump(store) == before


def test_ask_with_a_list_and_no_store_is_one_line(tmp_path, fake_model):
    r = engine("ask", "--db", tmp_path / "none.db", "--user", "me", "--among", listing(tmp_path, "Fargo"), "hi")
    assert r.exit_code == 1 and r.output.strip() == f"Error: database not found: {tmp_path / 'none.db'}"
    assert not (tmp_path / "none.db").exists()


def test_help_says_what_a_bad_line_does():
    for command in ("recommend", "ask"):
        r = engine(command, "--help")
        assert "--among FILE" in r.output and "naming the line" in " ".join(r.output.split())


def test_the_list_is_read_in_the_chosen_catalog(store, tmp_path, fake_model):
    """Two releases both hold Fargo: its line names the --dataset one's; the other's id is unknown there."""
    other = write_release(tmp_path / "ml-latest")
    (other / "README.txt").write_text("Summary\n=======\n\nThis dataset (ml-latest) describes ratings.\n")
    db = open_db(store)
    import_movielens(db, other)
    rows = list(db.query("SELECT id, source FROM items WHERE name = 'Fargo (1996)' ORDER BY id"))
    db.conn.close()
    assert [r["source"] for r in rows] == ["ml-latest-small", "ml-latest"]
    small, latest = rows[0]["id"], rows[1]["id"]
    path = listing(tmp_path, "Fargo")
    r = engine("recommend", "--db", store, "--user", "1", "--dataset", "ml-latest", "--among", path, "--json")
    assert r.exit_code == 0, r.output
    assert [row["id"] for row in json.loads(r.stdout)] == [latest]
    r = run_with_list(store, ("recommend", "--user", "1", "--dataset", "ml-latest"), listing(tmp_path, str(small)))
    assert r.exit_code == 1 and f"line 1: unknown item '{small}'" in r.output


def test_a_year_in_parentheses_is_never_read_as_part_of_the_title():
    """ReDial's "Jumanji (2017)" is not the 1995 film and "Renoir (2012)" not the film "2012"; "Blade Runner
    2049", a number without parentheses, is still tried as the title."""
    from db.types import Item
    from engine.cli.among import link_title
    from engine.vocab.mentions import TitleIndex

    index = TitleIndex.build([Item(1, "movie", "Jumanji (1995)", "Jumanji", 1995), Item(2, "movie", "2012 (2009)", "2012", 2009),
                              Item(3, "movie", "Blade Runner 2049 (2017)", "Blade Runner 2049", 2017)], {1: 3, 2: 2, 3: 1})
    assert link_title(index, "Jumanji (2017)").status == "missing"
    assert link_title(index, "Renoir (2012)").status == "missing"
    assert link_title(index, "Blade Runner 2049").item.id == 3
