"""Line readers that keep going past bad bytes and report where they were."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from ..fileio import read_bytes  # noqa: F401 (re-exported for importers)
from .catalog_data import RatingRow
from .report import ImportReport


def decoded_lines(
    path: Path, data: bytes | Iterable[bytes], encoding: str, report: ImportReport, *, skip_header: bool = False,
    first_line: int = 1, fallback: str | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for non-empty lines; undecodable lines become bad rows.

    `data`: a whole file's bytes, or an open binary file read line by line (a 20M-line ratings file
    streams through in bounded memory). `first_line`: the number of the first line (a chunk of a file)."""
    lines = data.splitlines() if isinstance(data, bytes) else (raw.rstrip(b"\r\n") for raw in data)
    for lineno, raw in enumerate(lines, start=first_line):
        if skip_header and lineno == first_line:
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
            if fallback is None:
                report.skip(path, lineno, f"undecodable bytes ({encoding}) at column {e.start + 1}")
                continue
            text = raw.decode(fallback)
        yield lineno, text


def lines_any(label: str, data: bytes, report: ImportReport, skip_header: bool = False) -> Iterator[tuple[int, str]]:
    """UTF-8 lines, or ISO-8859-1 where a line is not UTF-8 (ML-1M's titles are latin-1: "Misérables")."""
    return decoded_lines(Path(label), data, "utf-8", report, skip_header=skip_header, fallback="iso-8859-1")


SEPARATORS = {"\t": "tab", ",": "comma"}  # how a skip names the separator ("expected 4 tab-separated fields")


def split_ratings(lines: Iterable[tuple[int, str]], sep: str, label, report: ImportReport) -> Iterator[RatingRow]:
    """user, item, rating, timestamp per line (ML-100K's tabs, ML-1M/10M's ::): a counted skip for a short
    line, a non-numeric or NaN rating or timestamp; the rows that are fine go on."""
    name = SEPARATORS.get(sep, sep)
    for lineno, line in lines:
        f = line.split(sep)
        if len(f) < 4:
            report.skip(label, lineno, f"expected 4 {name}-separated fields, got {len(f)}")
            continue
        try:
            rating, ts = float(f[2]), float(f[3])
        except ValueError:
            report.skip(label, lineno, f"non-numeric rating or timestamp: {f[2]!r} {f[3]!r}")
            continue
        if rating != rating or ts != ts:  # NaN
            report.skip(label, lineno, "rating or timestamp is NaN")
            continue
        yield RatingRow(lineno, f[0], f[1], rating, ts)
