"""bench/redial.py on two hand-made dialogues in ReDial's format: the requests and their targets (repeats
removed, only movies new to the dialogue), the recall arithmetic, and the mention-count popularity baseline
through a whole run on the small ML-100K fixture catalog."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.redial import (CHAT, EASE_LIKES, MENTIONS, MENTIONS_OWN_OUT, RATINGS, main, part_of, read_dialogues,
                          read_movies, requests, sample_order, table_row)
from tests.conftest import FIXTURES, SHARED, engine, needs_shared

# ReDial ids → names as movies_with_mentions.csv writes them (double spaces, a URL escape, a name with no year),
# and their nbMentions. 105 is a film the catalog lacks; 106 is Toy Story again under a name with no year.
MOVIES = {"101": ("Toy Story (1995)", 2), "102": ("GoldenEye (1995)", 5), "103": ("Twelve Monkeys  (1995)", 40),
          "104": ("Braveheart (1995)", 4), "105": ("Why Him%3F (2016)", 9), "106": ("Toy Story", 1),
          "107": ("Four Rooms (1995)", 1)}
SEEKER, RECOMMENDER = 1, 2


def dialogue(cid: str, messages: list[tuple[int, str]], liked: dict[str, int]) -> dict:
    ids = {i for _, text in messages for i in MOVIES if f"@{i}" in text}
    form = {i: {"suggested": 0, "seen": 1, "liked": liked.get(i, 2)} for i in sorted(ids)}
    return {"movieMentions": {i: MOVIES[i][0] for i in sorted(ids)}, "initiatorQuestions": form,
            "respondentQuestions": form, "conversationId": cid, "initiatorWorkerId": SEEKER,
            "respondentWorkerId": RECOMMENDER,
            "messages": [{"timeOffset": k, "text": t, "senderWorkerId": w, "messageId": k} for k, (w, t) in enumerate(messages)]}


DIALOGUES = [
    dialogue("1", [(SEEKER, "Hi, I loved @101"),
                   (RECOMMENDER, "Try @102"),
                   (RECOMMENDER, "or @101 again, and @103"),  # merged with the message before: one turn
                   (SEEKER, "I saw @102  twice. Anything else?"),
                   (RECOMMENDER, "@102 or @104, @106, @105")],  # 106 is Toy Story, named before; 105 unmapped
             {"101": 1, "102": 1}),
    dialogue("3", [(RECOMMENDER, "Hello! Have you seen @104?"),  # a request with nothing said before
                   (SEEKER, "yes, loved it"),
                   (RECOMMENDER, "Great, enjoy!")],
             {"104": 1}),
]


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "redial"
    folder.mkdir()
    (folder / "dialogues.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DIALOGUES), encoding="utf-8")
    rows = "".join(f'{i},"{name}",{n}\n' for i, (name, n) in MOVIES.items())
    (folder / "movies_with_mentions.csv").write_text("movieId,movieName,nbMentions\n" + rows, encoding="utf-8")
    return folder


def test_requests_keep_only_movies_new_to_the_dialogue(data):
    names, nb = read_movies(data / "movies_with_mentions.csv")
    assert names["103"] == "Twelve Monkeys (1995)" and names["105"] == "Why Him? (2016)" and nb["103"] == 40
    one, three = read_dialogues(data / "dialogues.jsonl", names)
    assert one.liked == {"101", "102"} and three.liked == {"104"}
    film = {"101": 1, "106": 1, "102": 2, "103": 7, "104": 22, "105": None}.get  # 106 and 101: one catalog film
    first, second = requests(one, film)
    assert [m.text for m in first.seeker] == ["Hi, I loved Toy Story (1995)"]
    assert first.targets == ["102", "103"] and first.repeats == ["101"] and first.likes == ["101"]
    assert [m.text for m in second.seeker][-1] == "I saw GoldenEye (1995) twice. Anything else?"
    assert second.earlier == ["101", "102", "103"] and second.targets == ["104", "105"]
    assert second.repeats == ["102"] and second.same_film == ["106"] and second.likes == ["101", "102"]
    assert [len(r.seeker) for r in requests(one, film, both_sides=True)] == [1, 4]  # 1 + 2 recommender + 1
    (only,) = requests(three, film)
    assert only.seeker == [] and only.targets == ["104"]


def test_recall_counts_each_target_and_hr_each_request():
    # hits per target over (R@1, R@10, R@50): request 1 has two targets, request 2 one
    per_request = [[(0.0, 1.0, 1.0), (0.0, 0.0, 1.0)], [(1.0, 1.0, 1.0)]]
    row = table_row("r", per_request, ["a", "b"], held=2, seed=0)
    assert row[:5] == ["r", "0.333", "0.667", "1.000", "1.000"]  # R@10 over held: 2 hits / 2 held targets
    assert row[5] == "2/3" and row[6] == "1.000"
    lo, hi = map(float, row[7].split("-"))
    assert 0.0 <= lo <= 0.667 <= hi <= 1.0


def test_parts_and_order_are_fixed():
    ids = [str(i) for i in range(1, 2000, 2)]
    parts = [part_of(i) for i in ids]
    assert parts == [part_of(i) for i in ids] and 0.2 < parts.count("validation") / len(ids) < 0.4
    ds = [type("D", (), {"id": i})() for i in ids[:50]]
    assert [d.id for d in sample_order(ds, 0)] == [d.id for d in sample_order(list(reversed(ds)), 0)]
    assert [d.id for d in sample_order(ds, 0)] != [d.id for d in sample_order(ds, 1)]


def test_a_run_ranks_by_mention_counts_within_redials_movies(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "cache"))
    store = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", FIXTURES / "ml100k-grouplens", "--db", store).exit_code == 0
    out = tmp_path / "run.json"
    monkeypatch.setattr(sys, "argv", ["redial.py", "--data", str(data), "--db", str(store), "--json", str(out)])
    main()
    printed = capsys.readouterr().out
    assert "6 of ReDial's 7 movies map" in printed
    run = json.loads(out.read_text())
    assert (run["requests"], run["targets"], run["targets_held"], run["candidates"]) == (3, 5, 4, 5)
    first, second = [r for r in run["per_request"] if r["dialog"] == "1"]  # in the dialogue's order
    (third,) = [r for r in run["per_request"] if r["dialog"] == "3"]
    assert first["targets"][1] == 7 and second["targets"][1] is None  # Twelve Monkeys; Why Him? is not held
    # candidates: ReDial's movies the catalog holds less those named before (Toy Story), by nbMentions:
    # Twelve Monkeys 40, GoldenEye 5, Braveheart 4, Four Rooms 1 (Toy Story, 2 + 1 under its two ids, is out)
    assert first["ranks"][MENTIONS] == [2, 1]
    # less dialogue 1's own mentions: GoldenEye 5 - 3, Braveheart 4 - 1, Twelve Monkeys 40 - 1
    assert first["ranks"][MENTIONS_OWN_OUT] == [3, 1] and second["ranks"][MENTIONS_OWN_OUT] == [1, None]
    assert third["ranks"][MENTIONS] == [3]  # nothing named before: Twelve Monkeys, GoldenEye, then Braveheart
    for r in run["per_request"]:
        assert set(r["ranks"]) == {CHAT, MENTIONS, MENTIONS_OWN_OUT, RATINGS, EASE_LIKES}
        assert all(k is None or (t is not None and 1 <= k <= 50) for t, k in zip(r["targets"], r["ranks"][CHAT]))
    mentions = next(row for row in run["table"] if row["ranker"] == MENTIONS)
    assert (mentions["R@1"], mentions["R@10"], mentions["R@10 hits"], mentions["HR@10"]) == ("0.400", "0.800", "4/5", "1.000")


@needs_shared
def test_redial_dev_requests_hold_only_new_movies():
    folder = SHARED / "redial-dev"
    names, _ = read_movies(folder / "movies_with_mentions.csv")
    dialogues = read_dialogues(folder / "dialogues.jsonl", names)
    assert len(dialogues) == 667 and len(names) == 6924
    reqs = [r for d in dialogues for r in requests(d, lambda m: None)]
    assert len(reqs) > 1000 and all(r.targets and not set(r.targets) & set(r.earlier) for r in reqs)
    assert {part_of(d.id) for d in dialogues} == {"fit", "validation"}
