"""Describing words read against the catalog's vocabulary (engine.vocab.describe): tags, reviewed moods,
people, runtime; kept in the conversation, shown in the reply, corrected by "not X", said back when unknown,
and answered by the list as a preference (a filter with "only")."""

from __future__ import annotations

import pytest

from engine.chat.session import ChatSession
from engine.chat.state import ConversationState
from engine.vocab.describe import Vocabulary, norm
from tests.conftest import engine
from tests.fakes import FakeScorer
from tests.test_import_movielens import write_csv_release

TAGS = {
    "mindfuck": {1: 0.9, 2: 0.5}, "surreal": {2: 0.75, 3: 0.5}, "dark": {3: 0.9, 4: 0.5}, "heist": {5: 0.9, 6: 0.5},
    "time travel": {7: 0.9, 8: 0.5}, "zombies": {9: 0.9, 10: 0.5}, "tom hanks": {11: 0.75, 12: 0.5},
    "one-off note": {13: 0.5},  # on one film only: not a word the catalog knows
}
PEOPLE = {"christopher nolan": {1: 1.0, 7: 1.0}, "greta gerwig": {14: 1.0}}


def vocab(**kw) -> Vocabulary:
    return Vocabulary(TAGS, PEOPLE, kw.get("runtimes", {}))


@pytest.mark.parametrize("text, wanted, avoided, unknown", [
    ("something mind-bending and dark, newer than 2010", ["mind-bending", "dark"], [], []),
    ("Mind Bending stuff", ["mind bending"], [], []),
    ("a zombie movie", ["zombie"], [], []),  # plural folded: the tag is "zombies"
    ("heist movies but not too dark", ["heist"], ["dark"], []),
    ("something cozy", [], [], ["cozy"]),
    ("a cozy and dark movie", ["dark"], [], ["cozy"]),
    ("anything with tom hanks", ["tom hanks"], [], []),  # an actor the catalog knows as a tag
    ("Nolan films", ["Christopher Nolan"], [], []),  # a surname the store's people hold
    ("directed by Greta Gerwig", ["Greta Gerwig"], [], []),
    ("one-off note", [], [], []),
    ("something like Fargo", [], [], []),
    ("something pixar", [], [], ["pixar"]),  # a reviewed word whose tags this catalog lacks
])
def test_reading_describing_words(text, wanted, avoided, unknown):
    r = vocab().read(text)
    assert [w.label for w in r.wanted] == wanted
    assert [w.label for w in r.avoided] == avoided
    assert r.unknown == unknown


EVERYDAY = {"awesome": {1: 0.9, 2: 0.5}, "not seen": {3: 0.9, 4: 0.5}, "christmas": {5: 0.9, 6: 0.5},
            "will smith": {7: 0.9, 8: 0.5}, "space": {9: 0.9, 10: 0.5}, "book": {11: 0.9, 12: 0.5},
            "heist": {13: 0.9, 14: 0.5}, "interesting": {15: 0.9, 16: 0.5}}


@pytest.mark.parametrize("text, wanted", [
    ("Awesome, got both.", []),  # a tag, but said in passing (INSPIRED's seekers, 15 times)
    ("That's a movie I have not seen yet", []),
    ("It was a great book too", []),
    ("Awesome!", []),  # a whole message, but one that acknowledges
    ("That sounds really interesting; what's it about?", []),
    ("something awesome", ["awesome"]),  # after a request word
    ("I love Christmas movies", ["christmas"]),  # before a film noun
    ("christmas!", ["christmas"]),  # the whole answer
    ("movies set in space", ["space"]),
    ("Hmm, I would say Will Smith", ["will smith"]),  # written as a name
    ("we watched it after the heist went wrong", ["heist"]),  # not an everyday word: read anywhere
])
def test_everyday_words_that_are_tags_are_read_only_where_they_describe(text, wanted):
    assert [w.label for w in Vocabulary(EVERYDAY, {}, {}).read(text).wanted] == wanted


def test_runtime_words_need_runtimes():
    assert vocab().read("something under two hours").unknown == ["under two hours"]
    with_runtimes = vocab(runtimes={1: 95, 2: 150})
    r = with_runtimes.read("something under two hours")
    assert [w.label for w in r.wanted] == ["under 120 min"]
    assert with_runtimes.relevance(r.wanted[0], [1, 2, 3]).tolist() == [1.0, 0.0, 0.0]
    assert [w.label for w in with_runtimes.read("a short movie").wanted] == ["short"]


def test_norm_and_relevance():
    assert norm("Mind-Bending") == "mind bending" and norm("zombies") == norm("zombie") == "zombie"
    v = vocab()
    mind = v.want("mind-bending")
    assert set(mind.keys) == {"mindfuck", "surreal"}
    assert v.relevance(mind, [1, 2, 3, 4]).tolist() == [0.9, 0.75, 0.5, 0.0]  # the strongest tag counts
    score = v.score([mind], [v.want("dark")], [1, 3, 4])
    assert score.tolist() == pytest.approx([0.9, 0.5 - 0.9, -0.5])


def test_the_state_keeps_words_and_not_x_corrects_them():
    v = vocab()
    from engine.chat.reading import Reading

    st = ConversationState()
    st.apply(Reading(words=v.read("something mind-bending and dark")), [], [])
    assert st.words == ["mind-bending", "dark"]
    st.apply(Reading(words=v.read("not dark")), [], [])
    assert st.words == ["mind-bending"] and st.avoid_words == ["dark"]
    st.apply(Reading(words=v.read("only heist movies")), [], [])
    assert st.words == ["mind-bending", "heist"] and st.only_words
    assert ConversationState.from_json(st.to_json()) == st


def test_the_chat_reads_words_shows_them_and_ranks_by_them(tmp_path):
    src = write_csv_release(tmp_path / "ml-latest-small")
    with open(src / "tags.csv", "a") as f:
        f.write("3,5,Pixar,7\n")  # "pixar" now on two films (twice on Toy Story): a word the catalog knows
    db_path = tmp_path / "s.db"
    assert engine("data", "import", "movielens", src, "--db", db_path).exit_code == 0
    session = ChatSession(db_path, "someone", scorer_factory=FakeScorer)
    try:
        reply = session.handle("something pixar")
        assert reply.text.startswith("Got it: pixar.")
        ranking = list(session.rank(reply.plan))[-1]
        assert ranking.items[0].item.title == "Toy Story"
        cozy = session.handle("something cozy")
        assert "I don't know 'cozy' here" in cozy.text
        assert session.state.words == ["pixar"]
        reset = session.handle("start over")
        assert session.state.words == [] and "pixar" not in reset.text
    finally:
        session.close()
