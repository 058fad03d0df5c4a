"""Line readers that keep going past bad bytes and report where they were."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from ..fileio import read_bytes  # noqa: F401 (re-exported for importers)
from .report import ImportReport


def decoded_lines(
    path: Path, data: bytes | Iterable[bytes], encoding: str, report: ImportReport, *, skip_header: bool = False
) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for non-empty lines; undecodable lines become bad rows.

    `data`: a whole file's bytes, or an open binary file read line by line (a 20M-line ratings file
    streams through in bounded memory)."""
    lines = data.splitlines() if isinstance(data, bytes) else (raw.rstrip(b"\r\n") for raw in data)
    for lineno, raw in enumerate(lines, start=1):
        if skip_header and lineno == 1:
            continue
        if not raw.strip():
            continue
        report.read += 1
        nul = raw.find(b"\x00")
        if nul >= 0:  # decodes in ISO-8859-1, but no text file holds it
            report.skip(path, lineno, f"undecodable bytes (NUL at column {nul + 1})")
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            report.skip(path, lineno, f"undecodable bytes ({encoding}) at column {e.start + 1}")
            continue
        yield lineno, text


def lines_any(label: str, data: bytes, report: ImportReport, skip_header: bool = False) -> Iterator[tuple[int, str]]:
    """UTF-8 lines, or ISO-8859-1 where a line is not UTF-8 (ML-1M's titles are latin-1: "Misérables")."""
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if (skip_header and lineno == 1) or not raw.strip():
            continue
        report.read += 1
        if b"\x00" in raw:
            report.skip(label, lineno, "undecodable bytes (NUL)")
            continue
        try:
            yield lineno, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield lineno, raw.decode("iso-8859-1")
