"""What a message may contain before the app reads it: no escape sequences, no control bytes, bounded length."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_MESSAGE = 500  # characters the app reads of one message; a pasted 10 kB blob is cut, not refused

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and any other two-byte ESC sequence.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Cleaned:
    text: str
    cut: bool  # the message was longer than MAX_MESSAGE
    stripped: bool  # escape sequences or control characters were removed


def clean_message(raw: str) -> Cleaned:
    """Drop terminal escape sequences and control/format characters, fold whitespace, cut to MAX_MESSAGE."""
    text = _ESCAPES.sub("", raw)
    kept = "".join(" " if ch in "\t\r\n" else ch for ch in text
                   if ch in "\t\r\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    stripped = kept != raw.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    kept = _SPACES.sub(" ", kept).strip()
    cut = len(kept) > MAX_MESSAGE
    return Cleaned(kept[:MAX_MESSAGE].rstrip() if cut else kept, cut, stripped)
