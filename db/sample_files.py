"""TALLRec JSON sample files: read with line numbers for errors, write atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .errors import RecchatError
from .fileio import read_bytes
from .prompt import parse_input
from .types import Sample


def iter_json_array(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, element) of a top-level JSON array, so bad samples can be named by line."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecchatError(f"{path}: not UTF-8 text (byte {e.start})") from None
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        raise RecchatError(f"{path}: expected a JSON list of samples")
    pos = _skip_ws(text, pos + 1)
    if text.startswith("]", pos):
        return
    line, counted = 1, 0  # line numbers counted forward once: counting from the start each time was quadratic
    while True:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise RecchatError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
        line += text.count("\n", counted, pos)
        counted = pos
        yield line, obj
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
        elif text.startswith("]", pos):
            return
        else:
            raise RecchatError(f"{path}:{text.count(chr(10), 0, pos) + 1}: malformed JSON: expected ',' or ']'")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def sample_error(obj: object) -> str | None:
    """Why a JSON element is not a TALLRec sample, or None."""
    if not isinstance(obj, dict):
        return "sample is not a JSON object"
    for key in ("instruction", "input", "output"):
        if not isinstance(obj.get(key), str):
            return f"missing or non-string {key!r}"
    if obj["output"].strip() not in ("Yes.", "No.", "Yes", "No"):
        return f"output must be 'Yes.' or 'No.', got {obj['output'][:20]!r}"
    return None


def read_samples(path: str | Path) -> tuple[list[Sample], list[str]]:
    """Samples that have the TALLRec shape, and `file:line: reason` for those that do not."""
    samples, bad = [], []
    for lineno, obj in iter_json_array(Path(path)):
        err = sample_error(obj)
        if err is None:
            domain = "book" if "target book" in obj["input"] else "movie"
            try:
                parse_input(domain, obj["input"])
            except ValueError as e:
                err = str(e)
        if err:
            bad.append(f"{Path(path).name}:{lineno}: {err}")
            continue
        samples.append(
            Sample(obj["instruction"], obj["input"], obj["output"], obj.get("user_id"), obj.get("item_id"),
                   list(obj.get("history") or []))
        )
    return samples, bad


def load_samples(path: str | Path) -> list[Sample]:
    """All samples of a file; the first malformed one is an error naming its line."""
    samples, bad = read_samples(path)
    if bad:
        raise RecchatError(bad[0])
    return samples
