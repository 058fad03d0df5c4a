"""File reads and writes with one-line errors; writes go through a temp file and a rename."""

from __future__ import annotations

import fcntl
import hashlib
import json
import errno
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import RecchatError


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (model files are hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_ref(path: str | Path) -> str:
    """How artifacts name an input file: its name and content hash, never the folder it sat in on one machine."""
    path = Path(path)
    return f"{path.name}@sha256:{file_sha256(path)[:16]}" if path.is_file() else path.name


def portable_command(argv: list[str]) -> str:
    """A command line as a record: absolute paths cut to their file names (`--db=/x/dev.db` too)."""
    def one(arg: str) -> str:
        opt, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        return f"{opt}{eq}{Path(value).name}" if os.path.isabs(value) else arg
    return " ".join(one(a) for a in argv)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RecchatError(f"file not found: {path}") from None
    except OSError as e:
        raise RecchatError(f"cannot read {path}: {e.strerror or e}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


PARTIAL = "partial-"  # the temp files atomic_path writes: `.NAME.partial-XXXX.tmp` (no other temp file matches)


def remove_partials(path: Path, log=lambda msg: print(msg, file=sys.stderr)) -> list[Path]:
    """Remove temp files a killed write of `path` left beside it, saying so; returns them.

    A writer holds a lock on its temp file for as long as it writes (`atomic_path`), so a temp file nobody
    holds is a partial one from a process that was killed (SIGKILL leaves no chance to clean up)."""
    path = Path(path)
    found = []
    for tmp in sorted(path.parent.glob(f".{path.name}.{PARTIAL}*.tmp")) if path.parent.is_dir() else []:
        try:
            with open(tmp, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                size = os.fstat(f.fileno()).st_size
                tmp.unlink()
        except (BlockingIOError, FileNotFoundError):
            continue  # another process is writing it right now, or it just finished
        except OSError:
            continue
        found.append(tmp)
        log(f"removed {tmp.name} ({size:,} bytes): a partial {path.name} left by an interrupted write; "
            f"{path.name} itself is {'the previous one' if path.exists() else 'absent'}")
    return found


def _temp_beside(path: Path) -> str:
    """An empty temp file in `path`'s folder (created if missing); one-line error if that cannot be."""
    if path.is_dir():
        raise RecchatError(f"cannot write {path}: it is a folder")
    if path.parent.exists() and not path.parent.is_dir():
        raise RecchatError(f"cannot write {path}: {path.parent} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{PARTIAL}", suffix=".tmp")
    except OSError as e:
        raise RecchatError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    return tmp


def check_writable(path: Path) -> None:
    """Fail now, not after minutes of work, if `atomic_path` could not write `path` later."""
    os.unlink(_temp_beside(Path(path)))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it is renamed over `path`, on any error removed.

    A crash or Ctrl-C therefore never leaves half a file under the real name.
    """
    path = Path(path)
    remove_partials(path)
    tmp = _temp_beside(path)
    lock = open(tmp, "rb")  # held while writing: remove_partials leaves a temp file someone holds
    fcntl.flock(lock, fcntl.LOCK_SH)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        lock.close()


@contextmanager
def place_file(path: Path, replace: bool) -> Iterator[Path]:
    """Yield a temp path named like `path` (same file name, in a temp folder beside it); on success it becomes
    `path`. `replace` False never replaces a file that is there: FileExistsError, even when one appeared
    while writing (a hard link, which fails rather than replaces; a rename after a check where links are not
    supported). Either way `path` appears whole or not at all."""
    path = Path(path)
    if path.is_dir():
        raise RecchatError(f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.export-"))
    except OSError as e:
        raise RecchatError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        tmp = folder / path.name
        yield tmp
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except OSError as e:
        if isinstance(e, FileExistsError):
            raise
        raise RecchatError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except OSError as e:
        if isinstance(e, FileExistsError) or e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if path.exists():  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.rename(tmp, path)


def write_json_atomic(path: Path, data: object) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
