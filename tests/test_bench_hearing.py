"""bench/hearing.py's counting on two hand-made dialogues in ReDial's format, against the 41-item fixture."""

from __future__ import annotations


import pytest

from bench.hearing import hear, summarise, working_session
from tests.conftest import FIXTURES, engine

SEEKER, RECOMMENDER = 1, 2


def dialogue(cid: int, messages: list[tuple[int, str]], names: dict[str, str], answers: dict[str, tuple[int, int]]):
    """ReDial's shape: answers are (suggested, liked) per movie id."""
    return {"conversationId": str(cid), "initiatorWorkerId": SEEKER, "respondentWorkerId": RECOMMENDER,
            "movieMentions": names, "respondentQuestions": {},
            "initiatorQuestions": {k: {"suggested": s, "seen": 1, "liked": liked} for k, (s, liked) in answers.items()},
            "messages": [{"messageId": cid * 10 + k, "senderWorkerId": who, "text": text, "timeOffset": k}
                         for k, (who, text) in enumerate(messages)]}


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    store = tmp_path / "store.db"
    assert engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", store).exit_code == 0
    session, linked = working_session(store, None)
    assert linked is not None and linked.exists()  # the store's cached model serves the copy: no second fit
    yield session
    session.close()


def test_small_talk_and_a_like_are_heard_and_counted(session):
    start = session.user_name
    first = hear(session, dialogue(101, [
        (SEEKER, "I am great"),
        (RECOMMENDER, "Have you seen @2?"),  # not fed: only the seeker's messages reach the chat
        (SEEKER, "I loved @1"),
        (SEEKER, "Yes, I have seen @2"),  # the recommender's film: read, not counted as brought up
    ], {"1": "Braveheart  (1995)", "2": "Toy Story (1995)"}, {"1": (0, 1), "2": (1, 2)}))
    assert not first.changed_user and not first.crashed
    assert session.user_name == "redial-101" != start
    film, toy_story = first.films
    assert toy_story.suggested and not film.suggested
    assert (film.name, film.label, film.outcome) == ("Braveheart (1995)", "liked", "like")
    assert film.in_catalog and film.linked == {film.catalog} and film.read == ["liked"]
    assert first.readings[(1012, "1")] == "liked" and set(first.readings) == {(1012, "1"), (1013, "2")}

    second = hear(session, dialogue(103, [
        (SEEKER, "I didn't like @3. Something like @4 please"),
        (SEEKER, "and I loved @5"),
    ], {"3": "Twelve Monkeys (1995)", "4": "Apollo 13 (1995)", "5": "Iron Man (2008)"},
        {"3": (0, 0), "4": (0, 2), "5": (0, 1)}))
    outcome = {f.name: f.outcome for f in second.films}
    assert outcome == {"Twelve Monkeys (1995)": "dislike", "Apollo 13 (1995)": "seed", "Iron Man (2008)": "not linked"}
    assert not second.films[2].in_catalog

    s = summarise([first, second], [{"conversationId": "103", "messageId": "1030", "movieId": "3",
                                     "label_hand": "disliked"}])
    assert s["changed_user_or_crashed"]["k"] == 0 and (s["films_brought_up"], s["films_not_in_catalog"]) == (4, 1)
    assert s["liked_saved_or_seed"] == {"k": 1, "n": 1, "share": 1.0}
    assert s["disliked_saved_as_dislike"]["k"] == 1 and s["disliked_seed_or_like"]["k"] == 0
    assert s["unsaid_saved_as_rating"] == {"k": 0, "n": 1, "share": 0.0}
    assert s["wrong_way_round"] == {"k": 0, "n": 3, "share": 0.0}
    assert (s["audit"]["covered"], s["audit"]["match"]) == (1, 1)
    assert {h.item_id: h.liked for h in session.store.history(session.user_id)} == {
        next(f.catalog for f in second.films if f.name.startswith("Twelve")): False}
