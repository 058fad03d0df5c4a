"""What an import did: rows added per table and the bad rows it skipped (as `file:line: reason`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    source: str
    read: int = 0
    added: dict[str, int] = field(default_factory=dict)
    bad: list[BadRow] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # what an export held and whether it was read, in words

    def skip(self, file: str | Path, line: int, reason: str) -> None:
        self.bad.append(BadRow(Path(file).name, line, reason))

    def summary_lines(self, max_bad: int = 20) -> list[str]:
        lines = [str(b) for b in self.bad[:max_bad]]
        if len(self.bad) > max_bad:
            lines.append(f"... and {len(self.bad) - max_bad} more bad rows")
        added = ", ".join(f"{n} {table}" for table, n in self.added.items() if n)
        lines.append(f"{self.source}: read {self.read} rows, added {added or 'nothing'}; skipped {len(self.bad)} bad rows")
        return lines
