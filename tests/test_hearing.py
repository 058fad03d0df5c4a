"""Issue 51: the chat hears real people. Every sentence the issue quotes, as a new user and mid-conversation,
through the real session on a real ML-100K store: no sentence switches user or creates one, "not bad" is not a
dislike, a film not seen is neither liked nor disliked, and requests that are not titles are read and said."""

from __future__ import annotations

import pytest

from engine.chat.intent import parse
from engine.chat.session import ChatSession
from engine.chat.state import ConversationState

from tests.conftest import count
from tests.fakes import FakeScorer

HIJACKERS = [  # ReDial seekers and a new user wrote these; each used to start a new user of that name
    "I am in the mood for something lighter now",
    "I am great",
    "I am a huge fan of Stephen King",
    "I am also like the movie Shooter",
    "i am open to any movie",
    "I'm watching with my wife tonight, something funny and not too long",
    "watching with my kids, something fun",
    "movie night with my friends, no horror",
    "switch to something else",
]


@pytest.fixture
def session(ml100k_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECCHAT_DATA_DIR", str(tmp_path / "data"))
    s = ChatSession(ml100k_copy, "viewer", scorer_factory=lambda: FakeScorer())
    yield s
    s.close()


def users(store) -> int:
    return count(store, "SELECT COUNT(*) FROM users")


@pytest.mark.parametrize("text", HIJACKERS)
def test_no_sentence_switches_or_creates_a_user(session, ml100k_copy, text):
    before = users(ml100k_copy)
    for opener in ([], ["I loved Fargo and Pulp Fiction"]):  # as a new user, and mid-conversation
        for said in [*opener, text]:
            reply = session.handle(said)
            assert not reply.user_changed, (said, reply.text)
        assert session.user_name == "viewer" and session.with_users == ()
    assert users(ml100k_copy) == before
    assert "Now chatting as" not in reply.text and "One list for" not in reply.text


def test_a_switch_is_a_command_or_names_a_known_user(session, ml100k_copy):
    assert session.handle("movie night with ml100k-196").text.startswith("One list for viewer and ml100k-196")
    assert session.handle("just me").text.startswith("Just you again")
    assert session.handle("switch to ml100k-196").user_changed  # a known user, and nothing else said
    assert session.handle("/user newbie").user_changed  # the command may create one
    assert session.user_name == "newbie"
    assert not session.handle("switch to nobody-here").user_changed


def test_the_conversation_and_its_likes_survive_a_change_of_mood(session):
    session.handle("I loved Fargo and Pulp Fiction, and Twelve Monkeys. I'm in the mood for something dark")
    reply = session.handle("I am in the mood for something lighter now")
    assert session.user_name == "viewer" and {i for i in session.state.liked} >= {100}  # Fargo's id in ML-100K
    assert "you like Fargo (1996)" in reply.text and "comedy" in reply.text.lower()


@pytest.mark.parametrize("text,verdict", [
    ("Fargo was not bad", "liked"),
    ("Fargo was never boring", "liked"),
    ("Fargo wasn't too good", "disliked"),
    ("Titanic was a good movie, although I did not particularly like it", "disliked"),
    ("I can't say I enjoyed Fargo", "disliked"),
    ("I'm not a big fan of Fargo", "disliked"),
    ("Fargo was good, but the ending wasn't", "liked"),
    ("Fargo was ok", "seed"),
    ("I never saw Fargo but I will check it out", "seen"),
    ("I have seen Fargo. It was hilarious", "liked"),
    ("Fargo had terrible acting", "disliked"),
])
def test_polarity_as_people_say_it(session, text, verdict):
    reading = parse(text, session.titles(), vocab=session.vocabulary()).reading
    assert [m.polarity for m in reading.mentions if m.item is not None] == [verdict]


def test_not_bad_is_not_saved_as_a_dislike_and_the_rest_of_the_sentence_is_heard(session):
    reply = session.handle("Fargo was not bad, and I'm watching with my wife tonight, something funny and not too long")
    assert not reply.user_changed and session.with_users == ()
    assert [(h.name, h.liked) for h in session.history()] == [("Fargo (1996)", True)]
    assert "comedy" in reply.text.lower()
    # ML-100K knows no runtimes: the length is said back, not dropped
    assert "not too long" in reply.text and "runtimes" in reply.text


@pytest.mark.parametrize("text,expected", [
    ("something for the kids", "children's"),
    ("a family movie", "children's"),
    ("a tear jerker", "drama"),
    ("something happy", "comedy"),
])
def test_audience_and_mood_are_read_and_shown(session, text, expected):
    reply = session.handle(text)
    assert reply.text.startswith("Got it:") and expected in reply.text.lower()


def test_newer_and_older_with_nothing_on_screen_read_against_the_catalog(session):
    session.handle("something newer")
    assert session.state.year_min == 1998 - 10 and session.state.year_max is None  # ML-100K ends in 1998
    session.handle("start over")
    session.handle("a classic")
    assert session.state.year_max == 1998 - 25


def test_state_accepts_the_catalog_year_only_without_a_list():
    st = ConversationState()
    from engine.chat.reading import Reading
    from engine.chat.filters import Filters
    st.apply(Reading(filters=Filters(newer=True)), [], [1990, 1995], latest_year=2018)
    assert st.year_min == 1996  # the list on screen wins over the catalog


@pytest.mark.parametrize("text", ["I am great", "Hi, how are you?", "I'm good, and you?", "thanks!"])
def test_small_talk_is_answered_and_changes_nothing(session, text):
    before = session.state.to_json()
    reply = session.handle(text)
    assert reply.text.startswith("Hello!") and reply.plan is None and session.state.to_json() == before


def test_the_next_message_judges_the_film_named_last(session):
    session.handle("Just saw Fargo")
    assert session.state.seeds == [100] and not session.history()
    session.handle("It was pretty boring")
    assert [(h.name, h.liked) for h in session.history()] == [("Fargo (1996)", False)]
    session.handle("I loved Toy Story")
    session.handle("it was great talking to you")  # about the chat, not the film
    session.handle("That's great!")  # an answer, not a verdict
    assert [(h.name, h.liked) for h in session.history()] == [("Fargo (1996)", False), ("Toy Story (1995)", True)]


@pytest.mark.parametrize("text,label,minutes", [
    ("something funny and not too long", "not too long", (0, 120)),
    ("nothing too long please", "not too long", (0, 120)),
    ("something short", "short", (0, 100)),
    ("under two hours", "under 120 min", (0, 120)),
])
def test_length_is_read_as_runtime_where_the_catalog_knows_it(text, label, minutes):
    from engine.vocab.describe import Vocabulary

    vocab = Vocabulary({}, runtimes={1: 95, 2: 150})
    wanted = vocab.read(text).wanted
    assert [(w.label, w.kind, w.minutes) for w in wanted] == [(label, "runtime", minutes)]
    assert vocab.want(label) == wanted[0]  # the state keeps the label; planning turns it back into the want
    assert list(vocab.relevance(wanted[0], [1, 2])) == [1.0, 0.0]


@pytest.mark.parametrize("opener", ["I loved Toy Story", "something like Alien but funnier"])
@pytest.mark.parametrize("text,liked", [
    ("Fargo was not bad", True), ("Fargo was never boring", True),
    ("Titanic was a good movie, although I did not particularly like it", False),
    ("I can't say I enjoyed Fargo", False), ("I'm not a big fan of Fargo", False),
])
def test_polarity_mid_conversation_is_saved_as_said(session, opener, text, liked):
    session.handle(opener)
    session.handle(text)
    film = "Titanic (1997)" if "Titanic" in text else "Fargo (1996)"
    assert (film, liked) in [(h.name, h.liked) for h in session.history()]


def test_a_lighter_mood_takes_the_dark_one_back_and_keeps_the_likes(session):
    from engine.chat.reading import Reading
    from engine.vocab.describe import Want, WordsReading

    st = ConversationState(liked=[100], words=["mind-bending", "dark"])
    st.apply(Reading(words=WordsReading(wanted=[Want("lighter", "tag", ("funny",))])), [], [])
    assert st.words == ["lighter"] and st.liked == [100]


def test_titles_the_catalog_lacks_are_named_one_by_one():
    from engine.chat.reading import missing_titles

    assert missing_titles("I loved Oppenheimer and Dune: Part Two, and      . I'm in the mood") == ["Oppenheimer",
                                                                                                "Dune: Part Two"]
    assert missing_titles("I loved Oppenheimer, Barbie or Tenet but hated it") == ["Oppenheimer", "Barbie", "Tenet"]


def test_a_mood_without_tags_is_answered_by_its_genre_not_said_back(session):
    reply = session.handle("I am in the mood for something lighter")  # ML-100K has no tags
    assert "comedy" in reply.text and "I don't know 'lighter'" not in reply.text


def test_seen_but_not_a_fan_is_a_dislike_and_a_missing_title_is_no_request(session):
    reading = parse("I have seen Fargo but not a fan", session.titles(), vocab=session.vocabulary()).reading
    assert [m.polarity for m in reading.mentions] == ["disliked"]
    reading = parse("I watched Avengers: Infinity War (2018) and i loved it", session.titles(),
                    vocab=session.vocabulary()).reading
    assert reading.missing == ["Avengers: Infinity War"] and reading.filters.genres == ()  # not war films
