"""The chat's message reading: commands, counts and years, cleaning; titles and polarity are in test_mentions."""

from __future__ import annotations

import pytest

from db.types import Item
from engine.chat.filters import DEFAULT_COUNT, read_filters
from engine.chat.intent import parse
from engine.vocab.mentions import TitleIndex
from engine.chat.text import MAX_MESSAGE, clean_message

INDEX = TitleIndex.build([Item(1, "movie", "Fargo (1996)", "Fargo", 1996), Item(2, "movie", "Alien (1979)", "Alien", 1979)],
                         {1: 500, 2: 300})


@pytest.mark.parametrize("text,ymin,ymax", [
    ("80s comedies", 1980, 1989), ("something from the 1970s", 1970, 1979), ("the nineties", 1990, 1999),
    ("after 1990", 1991, None), ("since 1990", 1990, None), ("before 1970", None, 1969),
    ("between 1970 and 1980 thrillers", 1970, 1980), ("movies in 1994", 1994, 1994),
])
def test_years(text, ymin, ymax):
    f = parse(text, INDEX).reading.filters
    assert (parse(text, INDEX).kind, f.year_min, f.year_max) == ("chat", ymin, ymax)


def test_count_exclusion_and_genres():
    f = read_filters("show me 7 sci-fi movies, no romance")
    assert (f.count, f.genres, f.exclude_genres) == (7, ("Sci-Fi",), ("Romance",))
    assert read_filters("top 500 movies").count == 50  # capped
    assert read_filters("recommend something").count is None and DEFAULT_COUNT == 10


def test_why_user_undo_help_unknown():
    assert parse("why Fargo?", INDEX).item.name == "Fargo (1996)"
    assert parse("why Fargo?", INDEX).title == "Fargo"
    assert parse("why Frago?", INDEX).item is None
    assert parse("why", INDEX).kind == "why"
    assert parse("/user bob", INDEX).user == "bob"
    assert parse("undo", INDEX).kind == "undo"
    assert parse("help", INDEX).kind == "help"
    assert parse("start over", INDEX).kind == "reset"
    assert parse("hello there", INDEX).kind == "greeting"
    assert parse("the weather is nice", INDEX).kind == "unknown"
    assert parse("", INDEX).kind == "empty"


def test_clean_message_strips_escapes_and_controls_and_cuts():
    c = clean_message("\x1b[31mred\x1b[0m \x1b]0;title\x07x\x00y\ttab\u200b")
    assert c.text == "red xy tab" and c.stripped and not c.cut
    long = clean_message("a" * 10_000)
    assert long.cut and len(long.text) == MAX_MESSAGE
