"""Get MovieLens-100K onto a fresh machine: GroupLens when reachable, else the RecBole wheel on PyPI."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from .errors import RecchatError
from .fileio import file_sha256
from .paths import cache_dir

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
RECBOLE_WHEEL = "recbole==1.2.1"
RECBOLE_DIR = "recbole/dataset_example/ml-100k/"
# sha256 of the atomic files inside recbole-1.2.1's wheel.
RECBOLE_SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}
# GroupLens publishes an md5 beside the zip (ml-100k.zip.md5); no sha256 is published.
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"

Log = Callable[[str], None]


def default_ml100k_dir() -> Path:
    return cache_dir() / "ml-100k"


def cached_ml100k(dest: Path) -> Path | None:
    """The verified copy in `dest`, if there is one."""
    if (dest / "ml-100k.zip").exists():
        return dest / "ml-100k.zip"
    if all((dest / n).exists() and file_sha256(dest / n) == h for n, h in RECBOLE_SHA256.items()):
        return dest
    return None


def fetch_ml100k(dest: Path | None = None, *, try_url: bool = True, log: Log = print) -> Path:
    """Return a path `import_ml100k` accepts; downloads only what is not already cached and verified."""
    dest = dest or default_ml100k_dir()
    found = cached_ml100k(dest)
    if found:
        log(f"ml-100k already in {found}")
        return found
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RecchatError(f"cannot create cache folder {dest}: {e.strerror or e}") from None
    if try_url:
        got = _from_grouplens(dest, log)
        if got:
            return got
    return _from_recbole_wheel(dest, log)


def _from_grouplens(dest: Path, log: Log) -> Path | None:
    log(f"trying {GROUPLENS_URL} ...")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        zpath = Path(tmp) / "ml-100k.zip"
        try:
            with urllib.request.urlopen(GROUPLENS_URL, timeout=10) as r, open(zpath, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            log(f"GroupLens not reachable ({e}); using the RecBole wheel from PyPI")
            return None
        md5 = hashlib.md5(zpath.read_bytes()).hexdigest()
        if md5 != GROUPLENS_MD5 or not zipfile.is_zipfile(zpath):
            log(f"GroupLens zip failed verification (md5 {md5}); using the RecBole wheel from PyPI")
            return None
        zpath.replace(dest / "ml-100k.zip")
    log(f"saved {dest / 'ml-100k.zip'} (md5 verified)")
    return dest / "ml-100k.zip"


def _from_recbole_wheel(dest: Path, log: Log) -> Path:
    log(f"downloading {RECBOLE_WHEEL} (no dependencies) from the package index ...")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", RECBOLE_WHEEL, "--no-deps", "--only-binary=:all:", "-d", tmp, "-q"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("recbole-*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise RecchatError(f"cannot download {RECBOLE_WHEEL}: {last}")
        staged = Path(tmp) / "files"
        staged.mkdir()
        with zipfile.ZipFile(wheels[0]) as zf:
            for name, expected in RECBOLE_SHA256.items():
                try:
                    data = zf.read(RECBOLE_DIR + name)
                except KeyError:
                    raise RecchatError(f"{wheels[0].name} has no {RECBOLE_DIR + name}") from None
                got = hashlib.sha256(data).hexdigest()
                if got != expected:
                    raise RecchatError(f"{name}: sha256 {got} does not match the pinned {expected}")
                (staged / name).write_bytes(data)
        for name in RECBOLE_SHA256:
            (staged / name).replace(dest / name)
    log(f"saved ml-100k to {dest} (sha256 verified)")
    return dest
