"""What the store knows of a film beyond its ratings: a MovieLens release's tags and tag genome, counted and
kept with their source; what the catalog knows, said by `engine data catalogs` and the chat's first notice."""

from __future__ import annotations

from db import open_db
from db.catalog import catalog_items
from db.importers.movielens import import_movielens
from db.knowledge import Knowledge, item_tags, knowledge
from engine.chat.session import ChatSession
from tests.conftest import SHARED, dump, engine, needs_shared
from tests.fakes import FakeScorer
from tests.test_import_movielens import write_csv_release

GENOME_TAGS = "tagId,tag\n1,Twist Ending\n2,pixar animation\n3,dark\n"
GENOME_SCORES = ("movieId,tagId,relevance\n1,1,0.05\n1,2,0.97\n1,3,0.1\n3,1,0.9\n3,2,0.02\n3,3,0.75\n"
                 "99,1,0.8\n"  # a movie the release does not list: its tags are not the store's
                 "3,7,0.9\n")  # an unknown tag id: a counted bad row


def ids_by_source(db) -> dict[str, int]:
    return {i.title: i.id for i in catalog_items(db, "movie").values()}


def test_tags_are_kept_counted_with_their_source(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    db = open_db(tmp_path / "s.db")
    report = import_movielens(db, src)
    assert report.added["tags"] == 3
    ids = ids_by_source(db)
    tags = item_tags(db, ids.values(), "tags")
    assert tags[ids["Toy Story"]] == {"pixar": 2.0, "fun": 1.0}  # "pixar" and "Pixar": one tag applied twice
    assert tags[ids["Seven (a.k.a. Se7en)"]] == {"twist, ending": 1.0}
    assert ids["Babylon 5"] not in tags
    assert item_tags(db, ids.values(), "genome") == {}
    k = knowledge(db, "movie")
    assert (k.items, k.tagged, k.genome, k.people, k.facts) == (5, 2, 0, 0, 0)
    assert k.describe() == ("The catalog knows tags for 2 films; no people: "
                            "`engine data import imdb-datasets DIR` adds them.")


def test_genome_kept_from_its_threshold_and_a_newer_release_updates_without_duplicates(tmp_path):
    src = write_csv_release(tmp_path / "ml-25m", "ml-25m")
    (src / "genome-tags.csv").write_text(GENOME_TAGS)
    (src / "genome-scores.csv").write_text(GENOME_SCORES)
    db_path = tmp_path / "s.db"
    db = open_db(db_path)
    report = import_movielens(db, src)
    assert [(b.file, b.line) for b in report.bad if b.file == "genome-scores.csv"] == [("genome-scores.csv", 9)]
    ids = ids_by_source(db)
    genome = item_tags(db, ids.values(), "genome")
    assert genome == {ids["Toy Story"]: {"pixar animation": 0.97},
                      ids["Seven (a.k.a. Se7en)"]: {"twist ending": 0.9, "dark": 0.75}}
    assert knowledge(db, "movie").genome == 2

    before = dump(db_path)
    again = import_movielens(open_db(db_path), src)
    assert again.added.get("tags", 0) == 0 and again.added.get("genome", 0) == 0
    assert dump(db_path) == before  # the same release again changes nothing

    with open(src / "tags.csv", "a") as f:  # a newer release: one more application, one new tag
        f.write("3,1,Pixar,5\n3,5,space station,6\n")
    newer = import_movielens(open_db(db_path), src)
    assert newer.added["tags"] == 2
    tags = item_tags(open_db(db_path), ids.values(), "tags")
    assert tags[ids["Toy Story"]] == {"pixar": 3.0, "fun": 1.0}
    assert tags[ids["Babylon 5"]] == {"space station": 1.0}


def test_catalogs_command_and_the_chats_first_notice_say_what_the_catalog_knows(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "movielens", src, "--db", db_path).exit_code == 0
    r = engine("data", "catalogs", "--db", db_path)
    assert r.exit_code == 0
    assert "The catalog knows tags for 2 films; no people: `engine data import imdb-datasets DIR` adds them." in r.stdout
    session = ChatSession(db_path, "someone", scorer_factory=FakeScorer)
    try:
        assert session.notices[1] == knowledge(session.db, "movie").describe()
    finally:
        session.close()


def test_knowledge_in_words():
    assert Knowledge(10, 0, 0, 0, 0).describe() == ("The catalog knows titles, years and genres only; no people: "
                                                    "`engine data import imdb-datasets DIR` adds them.")
    assert Knowledge(10, 4, 3, 9, 9).describe() == ("The catalog knows tags for 4 films, the tag genome for 3 films, "
                                                    "people for 9 films, IMDb votes and runtime for 9 films.")
    assert Knowledge(10, 4, 0, 9, 0).describe().endswith("no IMDb votes: `engine data import imdb-datasets DIR` adds them.")
    assert Knowledge(10, 0, 0, 0, 0, linked=0).describe() == (  # ML-100K: nothing to link IMDb's data by
        "The catalog knows titles, years and genres only; no people, and no IMDb ids to add them by "
        "(ml-latest-small and newer releases have them).")


@needs_shared
def test_ml_latest_small_tags(tmp_path):
    db = open_db(tmp_path / "s.db")
    import_movielens(db, SHARED / "ml-latest-small")
    k = knowledge(db, "movie")
    assert (k.items, k.tagged) == (9742, 1572)  # 1,572 of 9,742 films carry a tag (shared/README.md)
    heist = [i for i, tags in item_tags(db, catalog_items(db, "movie"), "tags").items() if "heist" in tags]
    assert len(heist) == 13


def test_a_catalog_import_fits_what_the_first_answer_needs(tmp_path, monkeypatch):
    from engine.collab.cache import cache_path, load_cached

    monkeypatch.setenv("RECCHAT_FIT_AFTER_IMPORT", "1")
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    src = write_csv_release(tmp_path / "ml-latest-small")
    db_path = tmp_path / "s.db"
    r = engine("data", "import", "movielens", src, "--db", db_path)
    assert r.exit_code == 0 and "preparing the first answer" in r.stderr and "ready:" in r.stderr
    model, why = load_cached(cache_path(open_db(db_path), "movie"), "movie")
    assert model is not None, why  # the first request loads it instead of fitting
    again = engine("data", "import", "movielens", src, "--db", db_path)
    assert "preparing the first answer" not in again.stderr  # nothing changed: nothing to fit
