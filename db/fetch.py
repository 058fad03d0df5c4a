"""Get MovieLens and IMDb's datasets onto a fresh machine.

ML-100K: GroupLens when reachable, else the RecBole wheel on PyPI (`fetch_ml100k`).
Every GroupLens release (`RELEASES`): `fetch_release`, md5-checked against the md5 GroupLens publishes
beside each zip, streamed to a temp file and renamed into place only once verified.
IMDb's five dataset files: `fetch_imdb_datasets`, each resumable after an interruption (HTTP Range).
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import imdb
from .errors import RecchatError
from .fileio import file_sha256
from .paths import cache_dir

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


def fetch_ml100k(dest: Path | None = None, *, try_url: bool = True, log: Log = print, base_url: str | None = None,
                 progress: Progress | None = None) -> Path:
    """Return a path `import_ml100k` accepts; downloads only what is not already cached and verified.

    GroupLens first (`download_release`: its published md5, pinned); on any failure, or without
    `try_url`, the RecBole wheel from PyPI, in which case the path is the folder of its atomic files."""
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
        try:
            return download_release(release("ml-100k"), dest, base_url=base_url, progress=progress, log=log)
        except RecchatError as e:
            log(f"{e}; using the RecBole wheel from PyPI instead")
    return _from_recbole_wheel(dest, log)


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


# ---------------------------------------------------------------------------------------------------
# Every GroupLens MovieLens release, table-driven: one row per zip.

GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
GROUPLENS_URL_ENV = "RECCHAT_GROUPLENS_URL"  # overrides GROUPLENS_BASE_URL (a mirror, a test server)
TIMEOUT_S = 30  # per socket operation, not for the whole download
CHUNK = 1 << 20

Progress = Callable[[int, int | None], None]
"""Called as progress(bytes_just_read, total) while a zip downloads; total is Content-Length or None."""


@dataclass(frozen=True)
class Release:
    name: str  # what the user types: ml-1m
    zip_name: str  # the file under the base URL: ml-1m.zip
    folder: str  # the top folder inside the zip: ml-1m (ml-10m's is ml-10M100K)
    what: str  # one line for listings

    def url(self, base_url: str | None = None) -> str:
        return grouplens_base_url(base_url).rstrip("/") + "/" + self.zip_name


def _r(name: str, what: str, folder: str | None = None) -> Release:
    return Release(name, f"{name}.zip", folder or name, what)


RELEASES: tuple[Release, ...] = (
    _r("ml-100k", "100,000 ratings, 943 users, 1,682 movies, 1998"),
    _r("ml-1m", "1 million ratings, 6,040 users, 3,900 movies, 2000"),
    _r("ml-10m", "10 million ratings, 69,878 users, 10,681 movies, 2009", folder="ml-10M100K"),
    _r("ml-20m", "20 million ratings, 138,493 users, 27,278 movies, 2015"),
    _r("ml-25m", "25 million ratings, 162,541 users, 62,423 movies, 2019"),
    _r("ml-32m", "32 million ratings, 200,948 users, 87,585 movies, 2023"),
    _r("ml-latest", "the full latest release (about 33 million ratings, updated by GroupLens)"),
    _r("ml-latest-small", "100,836 ratings, 610 users, 9,742 movies to 2018, updated by GroupLens"),
)
_BY_NAME = {r.name: r for r in RELEASES}
# md5s recchat pins on top of the published one: a published md5 that differs is an error too.
# The ml-latest* zips change when GroupLens updates them, so only fixed releases belong here.
PINNED_MD5 = {"ml-100k": GROUPLENS_MD5}
_MD5_RE = re.compile(r"\b[0-9a-fA-F]{32}\b")


def release(name: str) -> Release:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise RecchatError(f"unknown MovieLens release {name!r}; known: {', '.join(_BY_NAME)}") from None


def grouplens_base_url(base_url: str | None = None) -> str:
    """`base_url`, else $RECCHAT_GROUPLENS_URL, else GroupLens itself."""
    return base_url or os.environ.get(GROUPLENS_URL_ENV) or GROUPLENS_BASE_URL


def default_movielens_dir() -> Path:
    return cache_dir() / "movielens"


def fetch_release(
    name: str,
    dest: Path | None = None,
    *,
    base_url: str | None = None,
    progress: Progress | None = None,
    log: Log = print,
) -> Path:
    """The path of the verified `{zip_name}` in `dest`, downloading it only if it is not there yet.

    ml-100k keeps `fetch_ml100k`'s behaviour and cache folder (default `default_ml100k_dir()`, so the
    README's first command and this share one copy): GroupLens first, and on any failure the RecBole
    wheel, in which case the returned path is the folder of RecBole's atomic files, not a zip.
    """
    rel = release(name)
    if rel.name == "ml-100k":
        return fetch_ml100k(dest, base_url=base_url, progress=progress, log=log)
    return download_release(rel, dest or default_movielens_dir(), base_url=base_url, progress=progress, log=log)


def download_release(
    rel: Release,
    dest: Path,
    *,
    base_url: str | None = None,
    progress: Progress | None = None,
    log: Log = print,
) -> Path:
    """GroupLens only, no fallback: the published .md5 first, then the zip, streamed and checked."""
    final = dest / rel.zip_name
    # A file under the final name is trusted without re-hashing (and without the network): it only ever
    # appears there through the rename below, after its md5 matched. No sidecar .md5 is kept.
    if final.is_file():
        log(f"{rel.name} already in {final}")
        return final
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RecchatError(f"cannot create cache folder {dest}: {e.strerror or e}") from None
    url = rel.url(base_url)
    md5_url = url + ".md5"
    expected = _published_md5(rel, url, md5_url)
    pinned = PINNED_MD5.get(rel.name)
    if pinned and expected != pinned:
        raise RecchatError(f"{md5_url} publishes md5 {expected} but recchat pins {pinned} for {rel.name}")
    log(f"downloading {url} ...")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{rel.zip_name}.", suffix=".part")
    except OSError as e:
        raise RecchatError(f"cannot write in {dest}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            got = _stream(rel, url, f, tmp, progress)
        if got != expected:
            raise RecchatError(f"md5 {got} of {url} does not match the published {expected}")
        if not zipfile.is_zipfile(tmp):
            raise RecchatError(f"{url} is not a zip archive (md5 {got})")
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after the rename; removes a partial or bad download
    log(f"saved {final} (md5 {expected} verified)")
    return final


def _published_md5(rel: Release, url: str, md5_url: str) -> str:
    try:
        with urllib.request.urlopen(md5_url, timeout=TIMEOUT_S) as r:
            text = r.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        raise _net_error(rel, url, md5_url, e) from None
    m = _MD5_RE.search(text)
    if not m:
        raise RecchatError(f"{md5_url} holds no md5 ({_one_line(text)[:80]!r})")
    return m.group(0).lower()


def _stream(rel: Release, url: str, f, tmp: Path, progress: Progress | None) -> str:
    """Copy the zip at `url` into `f` chunk by chunk, md5 on the way; returns the hex md5."""
    h = hashlib.md5()
    size = 0
    try:
        r = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except (OSError, http.client.HTTPException) as e:
        raise _net_error(rel, url, url, e) from None
    with r:
        try:
            total: int | None = int(r.headers.get("Content-Length", ""))
        except ValueError:
            total = None
        while True:
            try:
                chunk = r.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise _net_error(rel, url, url, e) from None
            if not chunk:
                break
            try:
                f.write(chunk)
            except OSError as e:
                raise RecchatError(f"cannot write {tmp}: {e.strerror or e}") from None
            h.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk), total)
    if total is not None and size != total:
        raise _net_error(rel, url, url, f"connection closed after {size:,} of {total:,} bytes")
    return h.hexdigest()


def _net_error(rel: Release, url: str, failed: str, e: BaseException | str) -> RecchatError:
    if isinstance(e, urllib.error.HTTPError):
        why = f"HTTP {e.code} {e.reason}" if e.code != 404 else "HTTP 404 not found"
    elif isinstance(e, urllib.error.URLError):
        why = str(e.reason)
    else:
        why = str(e) or type(e).__name__
    at = "" if failed == url else f" at {failed}"
    return RecchatError(
        f"cannot download {url} ({_one_line(why)}{at}); download it elsewhere and run: "
        f"engine data import movielens PATH/TO/{rel.zip_name}"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------
# IMDb's non-commercial datasets: five gzipped TSV files, refreshed daily, for personal and non-commercial use.
# Each is large (title.principals is several GB uncompressed), so a download is resumable: bytes go to
# NAME.part, whose modification time is kept at the server's Last-Modified; a later run asks for the rest
# (Range, If-Range on that date) and starts over when the server sends the whole file instead (it ignores
# Range, or the file changed since). The complete file is renamed into place once its size matches.

IMDB_URL_ENV = "RECCHAT_IMDB_URL"  # overrides imdb.BASE_URL (a mirror, a test server)
OnFile = Callable[[str, int | None], None]
"""Called as on_file(name, total) when a file's download starts; progress(n, total) follows, first with the
bytes a resumed .part already holds."""


def imdb_base_url(base_url: str | None = None) -> str:
    """`base_url`, else $RECCHAT_IMDB_URL, else IMDb's dataset site; always ending in '/'."""
    return (base_url or os.environ.get(IMDB_URL_ENV) or imdb.BASE_URL).rstrip("/") + "/"


def default_imdb_dir() -> Path:
    return cache_dir() / "imdb"


def fetch_imdb_datasets(dest: Path | None = None, *, base_url: str | None = None, refresh: bool = False,
                        progress: Progress | None = None, on_file: OnFile | None = None, log: Log = print) -> Path:
    """The folder holding IMDb's five files, downloading the ones it lacks (all of them with `refresh`: a newer
    daily dump), each resumable after an interruption. Offline: one line naming the files, the URL, the folder
    and the import command."""
    dest = dest or default_imdb_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RecchatError(f"cannot create cache folder {dest}: {e.strerror or e}") from None
    base = imdb_base_url(base_url)
    wanted = [n for n in imdb.FILES if refresh or not (dest / n).is_file()]
    for name in imdb.FILES:
        if name not in wanted:
            log(f"{name} already in {dest} (--refresh downloads today's dump)")
    for k, name in enumerate(wanted):
        try:
            _download_resumable(base + name, dest / name, progress, on_file, log)
        except _Interrupted as e:
            kept = f"; {e.kept:,} bytes kept in {name}.part: run the command again to resume" if e.kept else ""
            raise RecchatError(f"cannot download {base + name} ({e.why}){kept}; to do it by hand, download "
                               f"{', '.join(wanted[k:])} from {base} into {dest}, then run: "
                               f"engine data import imdb-datasets {dest}") from None
    if wanted:
        log(f"saved IMDb's datasets in {dest} (personal and non-commercial use); then: "
            f"engine data import imdb-datasets {dest}")
    return dest


class _Interrupted(Exception):
    def __init__(self, why: str, kept: int = 0):
        super().__init__(why)
        self.why, self.kept = why, kept


def _why(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}" if e.code != 404 else "HTTP 404 not found"
    if isinstance(e, urllib.error.URLError):
        return _one_line(str(e.reason))
    return _one_line(str(e)) or type(e).__name__


def _download_resumable(url: str, final: Path, progress: Progress | None, on_file: OnFile | None, log: Log,
                        resume: bool = True) -> None:
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if resume and part.is_file() else 0
    request = urllib.request.Request(url)
    if have:
        request.add_header("Range", f"bytes={have}-")
        request.add_header("If-Range", email.utils.formatdate(part.stat().st_mtime, usegmt=True))
    try:
        r = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part is as long as the file or longer: done, or another dump's
            if _range_total(e.headers.get("Content-Range", "")) == have:
                part.replace(final)
                return
            log(f"{part.name} does not fit {url}: downloading it again")
            return _download_resumable(url, final, progress, on_file, log, resume=False)
        raise _Interrupted(_why(e), have) from None
    except (OSError, http.client.HTTPException) as e:
        raise _Interrupted(_why(e), have) from None
    with r:
        stamp = _http_time(r.headers.get("Last-Modified"))
        if r.status == 206:
            start, total = _content_range(r.headers.get("Content-Range", ""))
            if start != have or (stamp is not None and abs(stamp - part.stat().st_mtime) > 1):
                log(f"{part.name} does not match {url} any more: downloading it again")
                r.close()
                return _download_resumable(url, final, progress, on_file, log, resume=False)
        else:  # 200: the whole file, whatever was asked (Range ignored, or the file changed since the .part began)
            have, total = 0, _int(r.headers.get("Content-Length"))
        if total is None and r.status == 206 and (rest := _int(r.headers.get("Content-Length"))) is not None:
            total = have + rest
        if on_file:
            on_file(final.name, total)
        if progress and have:
            progress(have, total)
        size = _append(r, part, have, stamp, progress, total)
    if total is not None and size != total:
        raise _Interrupted(f"connection closed after {size:,} of {total:,} bytes", size)
    part.replace(final)


def _append(r, part: Path, have: int, stamp: float | None, progress: Progress | None, total: int | None) -> int:
    """Copy the response into `part` from byte `have` on; returns the part's size. Its mtime stays the server's
    Last-Modified after every chunk, so an interrupted part can be resumed only against the same file."""
    size = have
    try:
        f = open(part, "r+b" if have else "wb")
    except OSError as e:
        raise RecchatError(f"cannot write {part}: {e.strerror or e}") from None
    with f:
        f.seek(have)
        f.truncate()
        while True:
            try:
                chunk = r.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise _Interrupted(_why(e), size) from None
            if not chunk:
                break
            try:
                f.write(chunk)
                f.flush()
            except OSError as e:
                raise RecchatError(f"cannot write {part}: {e.strerror or e}") from None
            size += len(chunk)
            if stamp is not None:
                os.utime(part, (stamp, stamp))
            if progress:
                progress(len(chunk), total)
    if stamp is not None:
        os.utime(part, (stamp, stamp))
    return size


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-\d+/(\d+|\*)")


def _content_range(text: str) -> tuple[int | None, int | None]:
    """(first byte, whole size) of a 206's Content-Range: `bytes 100-999/1000`."""
    m = _CONTENT_RANGE.match(text.strip())
    if not m:
        return None, None
    return int(m.group(1)), None if m.group(2) == "*" else int(m.group(2))


def _range_total(text: str) -> int | None:
    """The whole size a 416 names: `bytes */1000`."""
    m = re.match(r"bytes\s+\*/(\d+)", text.strip())
    return int(m.group(1)) if m else None


def _http_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
