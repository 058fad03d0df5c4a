"""Lists people can take elsewhere: a ranked list as Letterboxd's list-import CSV (Title, Year, imdbID),
JSON or Markdown by the file's extension, and a person's ratings as Letterboxd's ratings-import CSV
(Title, Year, imdbID, Rating on its 0.5-5 scale, WatchedDate). `engine data import letterboxd` reads both
back (db.importers.exports): a list as a watchlist, ratings as ratings.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from db.errors import RecchatError
from db.fileio import atomic_path
from db.types import Interaction, Item

LIST_FORMATS = (".csv", ".json", ".md")
CHAT_LIKE, CHAT_DISLIKE = 4.0, 2.0  # a like or dislike made without stars, on Letterboxd's scale (> 3 is a like)


@dataclass(frozen=True)
class ListRow:
    position: int
    title: str
    year: int | None
    imdb_id: str = ""  # "tt0111161"
    p_like: float | None = None


def list_rows(items: list[Item], imdb: dict[int, int], p_like: list[float] | None = None) -> list[ListRow]:
    return [ListRow(k, it.title, it.year, f"tt{imdb[it.id]:07d}" if it.id in imdb else "",
                    p_like[k - 1] if p_like else None) for k, it in enumerate(items, 1)]


def write_list(path: Path, rows: list[ListRow]) -> Path:
    """The list in the format its extension names; the file appears whole or not at all."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in LIST_FORMATS:
        raise RecchatError(f"{path.name}: write a list as .csv (Letterboxd's list import), .json or .md")
    if ext == ".csv":
        text = _csv(["Title", "Year", "imdbID"], [[r.title, r.year or "", r.imdb_id] for r in rows])
    elif ext == ".json":
        text = json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n"
    else:
        text = "| # | Title | Year | IMDb | P(like) |\n| --- | --- | --- | --- | --- |\n" + "".join(
            f"| {r.position} | {r.title} | {r.year or ''} | "
            f"{f'[{r.imdb_id}](https://www.imdb.com/title/{r.imdb_id}/)' if r.imdb_id else ''} | "
            f"{'' if r.p_like is None else f'{r.p_like:.2f}'} |\n" for r in rows)
    _write(path, text)
    return path


def write_ratings(path: Path, history: list[Interaction], items: dict[int, Item], imdb: dict[int, int]) -> int:
    """A person's current ratings as Letterboxd's ratings import; a like or dislike made without stars is
    CHAT_LIKE / CHAT_DISLIKE stars. Returns how many rows were written."""
    rows = []
    for h in history:
        it = items.get(h.item_id)
        if it is None:
            continue
        stars = h.rating if h.rating is not None and 0.5 <= h.rating <= 5 else (CHAT_LIKE if h.liked else CHAT_DISLIKE)
        day = datetime.fromtimestamp(h.ts, timezone.utc).strftime("%Y-%m-%d") if h.ts else ""
        rows.append([it.title, it.year or "", f"tt{imdb[it.id]:07d}" if it.id in imdb else "", f"{stars:g}", day])
    _write(Path(path), _csv(["Title", "Year", "imdbID", "Rating", "WatchedDate"], rows))
    return len(rows)


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    try:
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    except OSError as e:
        raise RecchatError(f"cannot write {path}: {e.strerror or e}") from None
