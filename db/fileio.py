"""File reads and writes with one-line errors; writes go through a temp file and a rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import RecchatError


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RecchatError(f"file not found: {path}") from None
    except OSError as e:
        raise RecchatError(f"cannot read {path}: {e.strerror or e}") from None


def write_json_atomic(path: Path, data: object) -> None:
    """Write via a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
