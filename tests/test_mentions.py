"""Reading what people type: titles (engine.vocab.mentions), polarity and filters (engine.chat.reading),
and the conversation state they build (engine.chat.state). Pure: the real ML-100K catalog, no store."""

from __future__ import annotations

from collections import Counter

import pytest

from db.types import Item
from engine.chat.intent import parse
from engine.vocab.mentions import TitleIndex, keys, ordinariness
from engine.chat.reading import read
from engine.chat.state import ConversationState

from tests.conftest import SHARED, needs_shared

pytestmark = needs_shared


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    rows = (SHARED / "ml-100k" / "ml-100k.item").read_text(encoding="utf-8").splitlines()[1:]
    counts = Counter(line.split("\t")[1] for line in
                     (SHARED / "ml-100k" / "ml-100k.inter").read_text().splitlines()[1:])
    items = []
    for line in rows:
        iid, title, year, genres = line.split("\t")
        items.append(Item(int(iid), "movie", f"{title} ({year})", title, int(year) if year.isdigit() else None, "",
                          ", ".join(genres.split())))
    return TitleIndex.build(items, {i.id: counts[str(i.id)] for i in items})


def names(index, text):
    return [m.item.name if m.item else None for m in index.find(text)]


def said(index, text):
    return {m.item.name: m.polarity for m in read(text, index).mentions}


# ------------------------------------------------------------------------------------ linking
@pytest.mark.parametrize("text,expected", [
    ("I really like sci-fi movies like The Matrix or The Terminator", ["Terminator, The (1984)"]),
    ("my favorite movie is Mr. Holland's Opus, anything similar?", ["Mr. Holland's Opus (1995)"]),
    ("I loved Fargo and Pulp Fiction but hated Titanic", ["Fargo (1996)", "Pulp Fiction (1994)", "Titanic (1997)"]),
    ("terminator, the", ["Terminator, The (1984)"]),
    ("anything like terminator?", ["Terminator, The (1984)"]),
    ("12 Monkeys was wild", ["Twelve Monkeys (1995)"]),
    ("twelve monkeys", ["Twelve Monkeys (1995)"]),
    ("Se7en", ["Seven (Se7en) (1995)"]),
    ("shawshank redemtion", ["Shawshank Redemption, The (1994)"]),  # a typo in a long title
    ("the shawshank redemption and STAR WARS", ["Shawshank Redemption, The (1994)", "Star Wars (1977)"]),
    ("Cape Fear (1962)", ["Cape Fear (1962)"]),  # a year picks among remakes
    ("sabrina 1954 please", ["Sabrina (1954)"]),
    ("Sabrina", ["Sabrina (1995)"]),  # the most rated breaks the tie
])
def test_titles_in_the_forms_people_type(index, text, expected):
    assert names(index, text) == expected


@pytest.mark.parametrize("text", [
    "I can't stand the heat in summer", "the car crash scene was too long", "I love speed and action",
    "big fans of the rock music scene", "it was fine, I guess", "Heat is what I hate about summer",
])
def test_ordinary_words_are_not_titles(index, text):
    assert names(index, text) == []


@pytest.mark.parametrize("text,expected", [
    ("I loved Heat", ["Heat (1995)"]), ("i saw heat and crash", ["Heat (1995)", "Crash (1996)"]),
    ('what about "Speed"?', ["Speed (1994)"]), ("Have you seen The Rock with Nicolas Cage?", ["Rock, The (1996)"]),
    ("Jaws", ["Jaws (1975)"]), ("Speed was awesome", ["Speed (1994)"]),
])
def test_ordinary_word_titles_when_marked(index, text, expected):
    assert names(index, text) == expected


def test_how_ordinary_a_title_is(index):
    assert ordinariness(keys("Fargo")) == 0 and ordinariness(keys("Heat")) == 1
    assert ordinariness(keys("It")) == 2 and ordinariness(keys("The Rock")) == 1
    assert ordinariness(keys("Men in Black")) == 1 and ordinariness(keys("Pulp Fiction")) == 0


def test_titles_the_catalog_lacks_are_named(index):
    r = read("I loved Iron Man and Fargo", index)
    assert r.missing == ["Iron Man"] and [m.item.name for m in r.mentions] == ["Fargo (1996)"]
    assert read('have you seen "The Avengers Endgame"?', index).missing == ["The Avengers Endgame"]
    assert read("I loved it, thanks", index).missing == []


# ----------------------------------------------------------------------------------- polarity
@pytest.mark.parametrize("text,expected", [
    ("I loved Fargo and Pulp Fiction but hated Titanic",
     {"Fargo (1996)": "liked", "Pulp Fiction (1994)": "liked", "Titanic (1997)": "disliked"}),
    ("my favorite movie is Mr. Holland's Opus", {"Mr. Holland's Opus (1995)": "liked"}),
    ("enjoyed Fargo", {"Fargo (1996)": "liked"}),
    ("big fan of Star Wars", {"Star Wars (1977)": "liked"}),
    ("Titanic was awesome", {"Titanic (1997)": "liked"}),
    ("Fargo was great and Titanic was boring", {"Fargo (1996)": "liked", "Titanic (1997)": "disliked"}),
    ("I didn't like Titanic", {"Titanic (1997)": "disliked"}),
    ("I never really enjoyed Titanic", {"Titanic (1997)": "disliked"}),
    ("not a fan of Titanic", {"Titanic (1997)": "disliked"}),
    ("Fargo wasn't that good", {"Fargo (1996)": "disliked"}),
    ("something like Fargo but not Titanic", {"Fargo (1996)": "seed", "Titanic (1997)": "disliked"}),
    ("I've seen Fargo", {"Fargo (1996)": "seed"}),  # watched and brought up: a reference point
    ("I want to see Fargo", {"Fargo (1996)": "seen"}),  # not seen yet: noted, no seed
    ("Fargo is on my list", {"Fargo (1996)": "seen"}),
    ("something like Alien but funnier", {"Alien (1979)": "seed"}),
    ("Alien, Terminator, Jaws.", {"Alien (1979)": "seed", "Terminator, The (1984)": "seed", "Jaws (1975)": "seed"}),
])
def test_polarity_per_mention_in_its_clause(index, text, expected):
    assert said(index, text) == expected


def test_filters_ignore_title_words(index):
    r = read("something like Star Wars, no horror, only comedies from the 80s", index)
    f = r.filters
    assert (f.genres, f.exclude_genres, f.only, f.year_min, f.year_max) == (("Comedy",), ("Horror",), True, 1980, 1989)
    assert read("funnier please", index).filters.genres == ("Comedy",)
    assert read("something older", index).filters.older


def test_commands_and_chat(index):
    assert parse("start over", index).kind == "reset"
    assert parse("why Fargo?", index).item.name == "Fargo (1996)"
    assert parse("hello there", index).kind == "greeting"
    assert parse("recommend something", index).kind == "chat"
    assert parse("I loved Fargo", index).kind == "chat"


@pytest.mark.parametrize("text", ["", "😀😀😀", "<script>alert('x')</script>", "Je voudrais un film comme Fargo",
                                  "x" * 500, '"""', "''''", "I loved Iron Man"])
def test_odd_messages_read_without_errors(index, text):
    parse(text, index)  # no exception; what is read is checked elsewhere


# --------------------------------------------------------------------------------------- state
def test_state_accumulates_and_refines(index):
    st = ConversationState()
    st.apply(read("I loved Fargo and Pulp Fiction but hated Titanic", index), [], [])
    st.apply(read("sci-fi please, no horror", index), [], [])
    fargo, pulp, titanic = (index.lookup(t).id for t in ("Fargo", "Pulp Fiction", "Titanic"))
    assert (st.liked, st.disliked, st.genres, st.exclude_genres) == ([fargo, pulp], [titanic], ["Sci-Fi"], ["Horror"])
    st.apply(read("actually Titanic was great", index), [], [])
    assert titanic in st.liked and titanic not in st.disliked  # the latest word wins
    st.apply(read("horror is fine", index), [], [])
    assert "Horror" in st.genres and "Horror" not in st.exclude_genres
    shown = [index.lookup("Alien"), index.lookup("Heat")]
    st.apply(read("more like the second one", index), shown, [1979, 1995])
    assert shown[1].id in st.seeds
    st.apply(read("something older", index), shown, [1979, 1995])
    assert st.year_max == 1978
    assert ConversationState.from_json(st.to_json()) == st


def test_books_by_title_and_author():
    books = [Item(1, "book", '"Clara Callan" written by Richard Bruce Wright', "Clara Callan", 2001, "Richard Bruce Wright"),
             Item(2, "book", '"Classical Mythology" written by Mark P. O. Morford', "Classical Mythology", 2002,
                  "Mark P. O. Morford"),
             Item(3, "book", '"The Da Vinci Code" written by Dan Brown', "The Da Vinci Code", 2003, "Dan Brown")]
    index = TitleIndex.build(books, {1: 3, 2: 1, 3: 50})
    r = read("I loved the da vinci code, anything else by Dan Brown? not Clara Callan", index, "book")
    assert {m.item.title: m.polarity for m in r.mentions} == {"The Da Vinci Code": "liked", "Clara Callan": "disliked"}
    assert read("books by richard bruce wright please", index, "book").author == "Richard Bruce Wright"
    assert read("books by Nobody Known", index, "book").author is None


def test_a_newer_film_of_the_same_name_is_a_relative(index):
    new = index.find("I saw the new Lion King")
    assert [m.item.name for m in new] == ["Lion King, The (1994)"] and new[0].related
    assert not index.find("did you see the original Lion King?")[0].related
    st = ConversationState()
    st.apply(read("I loved the new Lion King", index), [], [])
    lion = index.lookup("The Lion King").id
    assert st.related == [lion] and st.liked == [] and lion in st.positive and lion not in st.mentioned


# ----------------------------------------------- what a 9,742-title catalog adds (INSPIRED on ml-latest-small)
@pytest.fixture(scope="module")
def newer() -> TitleIndex:
    titles = ["Superhero Movie (2008)", "Scary Movie (2000)", "Perfect (1985)", "LOL (2012)", "Gotcha! (1985)",
              "The Last Five Years (2014)", "Evangelion: 1.0 You Are (Not) Alone (Evangerion shin gekijôban: Jo) (2007)",
              "Avengers, The (2012)", "Endgame (2009)", "Jumanji (1995)", "Alien: Covenant (2017)",
              "Seven (a.k.a. Se7en) (1995)", "Inception (2010)"]
    items = []
    for n, name in enumerate(titles, 1):
        title, year = name.rsplit(" (", 1)
        items.append(Item(n, "movie", name, title, int(year[:4]), "", "Comedy"))
    return TitleIndex.build(items, {i.id: 10.0 for i in items})


@pytest.mark.parametrize("text", [
    "I love superhero movies.", "In the mood for a superhero movie.", "no i dont like scary movies",  # a kind of film
    "Perfect!", "Perfect, I will watch the older one first then!", "LOL", "Lol.", "Ahhh, gotcha.",  # replies
    "something released in the last five years",  # every word common: needs a capital or a cue
    "I think the last movie that I felt satisfied with was Ready or Not.",  # "(Not)" inside a title is no alternate
    "Avengers: Endgame", "I really liked Jumanji:next level.",  # a subtitle the catalog lacks
])
def test_what_a_large_catalog_must_not_link(newer, text):
    assert names(newer, text) == []


@pytest.mark.parametrize("text,expected", [
    ("i have seen Scary Movie, it was dumb", ["Scary Movie (2000)"]),
    ("I saw Perfect last year", ["Perfect (1985)"]),
    ('I liked "LOL"', ["LOL (2012)"]),
    ("The Last Five Years was great", ["The Last Five Years (2014)"]),
    ("I loved Alien: Covenant", ["Alien: Covenant (2017)"]),
    ("Se7en and Inception", ["Seven (a.k.a. Se7en) (1995)", "Inception (2010)"]),
    ("I liked the Avengers and Inception", ["Avengers, The (2012)", "Inception (2010)"]),
])
def test_the_same_titles_when_named(newer, text, expected):
    assert names(newer, text) == expected
