"""The chat's message reading: pure rules, a fake title lookup."""

from __future__ import annotations

import pytest

from tui.intent import DEFAULT_COUNT, parse
from tui.text import MAX_MESSAGE, clean_message

TITLES = {"alien": "Alien (1979)", "heat": "Heat (1995)", "cats": "Cats (1998)", "fargo": "Fargo (1996)",
          "star wars": "Star Wars (1977)", "sense and sensibility": "Sense and Sensibility (1995)"}


def find(text: str):
    return TITLES.get(text.lower())


def test_more_like_a_title_with_a_mood():
    i = parse("something like Alien but funnier", find)
    assert i.kind == "recommend"
    assert i.items == ("Alien (1979)",)
    assert i.request.genres == ("Comedy",)


def test_longest_title_wins_and_its_words_are_not_filters():
    i = parse("more like Sense and Sensibility but not too scary", find)
    assert i.items == ("Sense and Sensibility (1995)",)
    assert i.request.exclude_genres == ("Horror",) and i.request.genres == ()


@pytest.mark.parametrize("text,ymin,ymax", [
    ("80s comedies", 1980, 1989), ("something from the 1970s", 1970, 1979), ("the nineties", 1990, 1999),
    ("after 1990", 1991, None), ("since 1990", 1990, None), ("before 1970", None, 1969),
    ("between 1970 and 1980 thrillers", 1970, 1980), ("movies in 1994", 1994, 1994),
])
def test_years(text, ymin, ymax):
    i = parse(text, find)
    assert (i.kind, i.request.year_min, i.request.year_max) == ("recommend", ymin, ymax)


def test_count_exclusion_and_genres():
    i = parse("show me 7 sci-fi movies, no romance", find)
    assert (i.request.count, i.request.genres, i.request.exclude_genres) == (7, ("Sci-Fi",), ("Romance",))
    assert parse("top 500 movies", find).request.count == 50  # capped
    assert parse("recommend something", find).request.count == DEFAULT_COUNT


@pytest.mark.parametrize("text,liked,item", [
    ("I liked Heat", True, "Heat (1995)"), ("loved Fargo!", True, "Fargo (1996)"),
    ("didn't enjoy Cats", False, "Cats (1998)"), ("I hated Alien", False, "Alien (1979)"),
    ("I did not like Star Wars", False, "Star Wars (1977)"),
])
def test_ratings_in_free_text(text, liked, item):
    i = parse(text, find)
    assert (i.kind, i.liked, i.items) == ("rate", liked, (item,))


def test_rating_an_unknown_title_keeps_the_title_for_the_reply():
    i = parse("I loved Alein", find)
    assert (i.kind, i.items, i.title) == ("rate", (), "Alein")


def test_genre_preference_is_a_request_not_a_rating():
    assert parse("I like comedies", find).kind == "recommend"


def test_why_user_undo_help_unknown():
    assert parse("why Fargo?", find).items == ("Fargo (1996)",)
    assert parse("why", find).kind == "why"
    assert parse("/user bob", find).user == "bob"
    assert parse("undo", find).kind == "undo"
    assert parse("help", find).kind == "help"
    assert parse("hello there", find).kind == "unknown"
    assert parse("", find).kind == "empty"


def test_clean_message_strips_escapes_and_controls_and_cuts():
    c = clean_message("\x1b[31mred\x1b[0m \x1b]0;title\x07x\x00y\ttab\u200b")
    assert c.text == "red xy tab" and c.stripped and not c.cut
    long = clean_message("a" * 10_000)
    assert long.cut and len(long.text) == MAX_MESSAGE
