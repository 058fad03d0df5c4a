"""TALLRec samples from rating histories, the two split protocols, and the K-shot sampler.

Used by `engine data split`, the trainer and evaluation, so every component sees the same samples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .errors import RecchatError
from .fileio import write_json_atomic
from .prompt import INSTRUCTIONS, NO, YES, build_input, item_label
from .types import Interaction, Sample

DEFAULT_DATASET = {"movie": "ml-100k", "book": "bookcrossing"}
WINDOW = 10
COLD_FILE = "cold_items.json"  # beside a cold-item split's JSON files: the held-out item ids
META_FILE = "split.json"  # beside a split's JSON files: how its items are named ({"item_text": "genres"})


@dataclass(frozen=True)
class Splits:
    train: list[Sample]
    valid: list[Sample]
    test: list[Sample]
    cold_items: tuple[int, ...] = ()  # items no train/valid window mentions (cold-item split)
    item_text: bool = False  # items named with their genres (db.prompt.item_label)


def load_histories(db: sqlite_utils.Database, domain: str, dataset: str) -> dict[int, list[Interaction]]:
    """Imported interactions per user, users in first-appearance order, events in file order."""
    rows = db.execute(
        """SELECT f.user_id, f.item_id, i.name, f.liked, f.rating, f.ts, i.genres
           FROM feedback f JOIN users u ON u.id = f.user_id JOIN items i ON i.id = f.item_id
           WHERE u.dataset = ? AND i.domain = ? AND f.source = 'import' AND f.liked IS NOT NULL
           ORDER BY f.id""",
        [dataset, domain],
    )
    histories: dict[int, list[Interaction]] = {}
    for user_id, item_id, name, liked, rating, ts, genres in rows:
        histories.setdefault(user_id, []).append(Interaction(item_id, name, bool(liked), rating, ts, genres or ""))
    return histories


def make_sample(domain: str, user_id: int | None, history: list[Interaction], target: Interaction,
                item_text: bool = False) -> Sample:
    name = (lambda h: item_label(h.name, h.genres)) if item_text else (lambda h: h.name)
    liked = [name(h) for h in history if h.liked]
    disliked = [name(h) for h in history if not h.liked]
    return Sample(
        instruction=INSTRUCTIONS[domain],
        input=build_input(domain, liked, disliked, name(target)),
        output=YES if target.liked else NO,
        user_id=user_id,
        item_id=target.item_id,
        history=[h.item_id for h in history],
    )


def movie_splits(histories: dict[int, list[Interaction]], last: int = 10_000, window: int = WINDOW,
                 item_text: bool = False) -> Splits:
    """TALLRec movie protocol: time-sorted full windows of `window` previous items, the last `last` split 8:1:1 in order."""
    samples = []
    for user_id, events in histories.items():
        events = sorted(events, key=lambda e: e.ts)  # stable: equal timestamps keep file order
        for i in range(window, len(events)):  # only full windows, as TALLRec (checked: 1000/1000)
            samples.append(make_sample("movie", user_id, events[i - window : i], events[i], item_text))
    return _split_in_order(samples[-last:], item_text)


def cold_item_splits(histories: dict[int, list[Interaction]], share: float = 0.15, seed: int = 0, *,
                     last: int = 9_000, n_test: int = 1_000, window: int = WINDOW, item_text: bool = False) -> Splits:
    """Items the models never saw: a seeded `share` of the rated movies is held out entirely.

    Train and valid are the movie protocol over each user's other ratings (time-sorted windows; the
    last `last` windows split 8:1 in order), so no training window mentions a held-out item, as target
    or in its history. Test: `n_test` seeded windows whose target is held out, each with the user's 10
    preceding other ratings as history. What the collaborative models may not see is in `cold_items`.
    """
    if not 0 < share < 1:
        raise RecchatError(f"the cold-item share must be in (0, 1), got {share}")
    items = sorted({e.item_id for events in histories.values() for e in events})
    cold = set(random.Random(seed).sample(items, round(len(items) * share)))
    warm_samples, cold_samples = [], []
    for user_id, events in histories.items():
        seen: list[Interaction] = []  # the user's earlier ratings of warm items
        for e in sorted(events, key=lambda e: e.ts):
            if len(seen) >= window:
                (cold_samples if e.item_id in cold else warm_samples).append(
                    make_sample("movie", user_id, seen[-window:], e, item_text))
            if e.item_id not in cold:
                seen.append(e)
    warm_samples = warm_samples[-last:]
    a = len(warm_samples) * 8 // 9
    test = random.Random(seed).sample(cold_samples, min(n_test, len(cold_samples)))
    return Splits(warm_samples[:a], warm_samples[a:], test, tuple(sorted(cold)), item_text)


def book_splits(histories: dict[int, list[Interaction]], seed: int = 0, window: int = WINDOW,
                item_text: bool = False) -> Splits:
    """TALLRec book protocol: shuffle each user's items (seeded), last item is the target; users split 8:1:1."""
    rng = random.Random(seed)
    per_user = []
    for user_id, events in histories.items():
        if len(events) < 2:
            continue
        events = list(events)
        rng.shuffle(events)
        per_user.append(make_sample("book", user_id, events[:-1][-window:], events[-1], item_text))
    rng.shuffle(per_user)
    return _split_in_order(per_user, item_text)


def _split_in_order(samples: list[Sample], item_text: bool = False) -> Splits:
    n = len(samples)
    a, b = int(n * 0.8), int(n * 0.9)
    return Splits(samples[:a], samples[a:b], samples[b:], item_text=item_text)


def sample_splits(samples: list[Sample], seed: int = 0, valid_share: float = 0.1, test_share: float = 0.2) -> Splits:
    """Split a published sample file by sample (seeded shuffle) when no raw ratings exist to split by user.

    Exact duplicates are dropped first, so no test sample is also a training sample.
    """
    if not (0 < valid_share < 1 and 0 < test_share < 1 and valid_share + test_share < 1):
        raise RecchatError(f"shares must be in (0, 1) and leave room for training, got valid {valid_share}, "
                           f"test {test_share}")
    unique = list({(s.input, s.output): s for s in samples}.values())
    random.Random(seed).shuffle(unique)
    n_test, n_valid = round(len(unique) * test_share), round(len(unique) * valid_share)
    if min(n_test, n_valid, len(unique) - n_test - n_valid) < 1:
        raise RecchatError(f"{len(unique)} samples are too few to split into train, valid and test")
    return Splits(unique[n_test + n_valid:], unique[n_test:n_test + n_valid], unique[:n_test])


def build_splits(db: sqlite_utils.Database, domain: str, seed: int = 0, dataset: str | None = None,
                 cold_share: float | None = None, item_text: bool = False) -> Splits:
    """The domain's protocol (or the cold-item split); `item_text` names items with their genres."""
    if cold_share is not None and domain != "movie":
        raise RecchatError("the cold-item split is defined for movies (time-ordered histories)")
    dataset = dataset or DEFAULT_DATASET[domain]
    histories = load_histories(db, domain, dataset)
    if not histories:
        raise RecchatError(f"no imported {domain} ratings for dataset {dataset!r}; run `engine data import` first")
    if cold_share is not None:
        return cold_item_splits(histories, cold_share, seed, item_text=item_text)
    if domain == "movie":
        return movie_splits(histories, item_text=item_text)
    return book_splits(histories, seed, item_text=item_text)


def _read_beside(split_file: Path, name: str, what: str, read, absent):
    """`read(json)` of the file `name` beside a split's JSON file (`absent` when there is none);
    one-line error naming `what` when it cannot be read."""
    import json

    path = split_file.parent / name
    if not path.exists():
        return absent
    try:
        return read(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise RecchatError(f"{path}: cannot read {what} ({e})") from None


def split_item_text(split_file: Path) -> bool:
    """Whether the split `split_file` belongs to names items with their genres (engine data split --item-text)."""
    return _read_beside(split_file, META_FILE, "the split's description", lambda d: d.get("item_text") == "genres", False)


def read_cold_items(split_file: Path) -> set[int]:
    """The held-out items of the cold-item split `split_file` belongs to (empty for other splits)."""
    return _read_beside(split_file, COLD_FILE, "the held-out items", lambda d: {int(i) for i in d["items"]}, set())


def kshot(samples: list[Sample], k: int, seed: int = 0) -> list[Sample]:
    """K samples drawn without replacement; the same (k, seed) always gives the same set."""
    if k < 1:
        raise RecchatError(f"K must be positive, got {k}")
    if k > len(samples):
        raise RecchatError(f"K={k} is larger than the pool of {len(samples)} samples")
    return random.Random(seed).sample(samples, k)


def write_splits(splits: Splits, out: Path) -> dict[str, int]:
    try:
        for name in ("train", "valid", "test"):
            write_json_atomic(out / f"{name}.json", [s.to_json() for s in getattr(splits, name)])
        # a folder reused for another split must not keep a stale list or description
        for name, content in ((COLD_FILE, {"items": list(splits.cold_items)} if splits.cold_items else None),
                              (META_FILE, {"item_text": "genres"} if splits.item_text else None)):
            if content:
                write_json_atomic(out / name, content)
            elif (out / name).exists():
                (out / name).unlink()
    except OSError as e:
        raise RecchatError(f"cannot write splits to {out}: {e.strerror or e}") from None
    return {name: len(getattr(splits, name)) for name in ("train", "valid", "test")}
