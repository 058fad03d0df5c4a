"""Progress bars for the commands that download or read large files (tqdm, shown only when it takes a while)."""

from __future__ import annotations

from pathlib import Path

import click


class FileBars:
    """One byte bar per file, for commands that read or download several (IMDb's datasets)."""

    def __init__(self) -> None:
        self.bar = None

    def __enter__(self) -> "FileBars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, name: str, total: int | None) -> None:
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(desc=name, total=total, unit="B", unit_scale=True, dynamic_ncols=True, leave=False, delay=0.5)

    def update(self, n: int, total: int | None = None) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def fetch_release_with_bar(name: str, dest: Path | None = None) -> Path:
    from tqdm import tqdm

    from db.fetch import fetch_release

    with tqdm(desc=f"downloading {name}", unit="B", unit_scale=True, dynamic_ncols=True, leave=False,
              delay=0.5) as bar:
        def progress(n: int, total: int | None) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(n)
        return fetch_release(name, dest, progress=progress, log=lambda m: click.echo(m, err=True))
