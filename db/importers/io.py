"""Line readers that keep going past bad bytes and report where they were."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..fileio import read_bytes  # noqa: F401 (re-exported for importers)
from .report import ImportReport


def decoded_lines(
    path: Path, data: bytes, encoding: str, report: ImportReport, *, skip_header: bool = False
) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for non-empty lines; undecodable lines become bad rows."""
    for lineno, raw in enumerate(data.splitlines(), start=1):
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
