"""Fetching ML-100K on a machine that reaches only the package index; every GroupLens release from a loopback server."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest

from db import RecchatError
from db.fetch import GROUPLENS_MD5, RECBOLE_SHA256, RELEASES, download_release, fetch_ml100k, fetch_release, release
from db.fileio import file_sha256
from tests.conftest import closed_port, count, engine


def test_fetch_from_recbole_wheel_then_import(tmp_path):
    logs: list[str] = []
    got = fetch_ml100k(tmp_path / "cache", log=logs.append)
    assert got == tmp_path / "cache"
    for name, h in RECBOLE_SHA256.items():
        assert file_sha256(got / name) == h
    assert any("sha256 verified" in line for line in logs)
    again: list[str] = []
    assert fetch_ml100k(tmp_path / "cache", log=again.append) == got
    assert again == [f"ml-100k already in {got}"], "cached copy reused without network"
    db = tmp_path / "s.db"
    assert engine("data", "import", "ml-100k", got, "--db", db).exit_code == 0
    assert count(db, "SELECT COUNT(*) FROM feedback") == 100_000


def test_fetch_into_unwritable_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecchatError, match="cannot create cache folder"):
        fetch_ml100k(blocker / "cache", try_url=False, log=lambda s: None)


# --- every GroupLens release, against a loopback server serving a folder the test fills ---------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's folder; counts requests; `truncate` sends a Content-Length the body never meets."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.server.truncate and self.path.endswith(".zip"):
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            return  # HTTP/1.0: the connection closes here, short of Content-Length
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    httpd.requests, httpd.truncate, httpd.root = [], False, root
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}/movielens/"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _publish(httpd, name: str, *, md5: str | None = None, with_md5: bool = True, with_zip: bool = True) -> bytes:
    """Build a small `{name}.zip` under /movielens/ and its .md5 (GroupLens's `hex  name` form)."""
    rel = release(name)
    folder = httpd.root / "movielens"
    folder.mkdir(exist_ok=True)
    zpath = folder / rel.zip_name
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr(f"{rel.folder}/ratings.csv", "userId,movieId,rating,timestamp\n" + "1,1,4.0,964982703\n" * 5000)
        zf.writestr(f"{rel.folder}/movies.csv", "movieId,title,genres\n1,Toy Story (1995),Animation\n")
    data = zpath.read_bytes()
    if with_md5:
        (folder / (rel.zip_name + ".md5")).write_text(f"{md5 or hashlib.md5(data).hexdigest()}  {rel.zip_name}\n")
    if not with_zip:
        zpath.unlink()
    return data


def _quiet(_line: str) -> None:
    pass


def test_release_table():
    assert [r.name for r in RELEASES] == [
        "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m", "ml-latest", "ml-latest-small"
    ]
    for r in RELEASES:
        assert r.zip_name == f"{r.name}.zip" and r.what
        assert r.folder == ("ml-10M100K" if r.name == "ml-10m" else r.name)
    assert release("ml-32m").url() == "https://files.grouplens.org/datasets/movielens/ml-32m.zip"
    with pytest.raises(AttributeError):
        release("ml-1m").name = "x"  # frozen


def test_unknown_release_lists_names():
    with pytest.raises(RecchatError) as e:
        release("ml-5m")
    msg = str(e.value)
    assert "\n" not in msg and "ml-5m" in msg
    assert all(r.name in msg for r in RELEASES)
    with pytest.raises(RecchatError, match="ml-latest-small"):
        fetch_release("ml-5m", Path("/nonexistent"), base_url="http://127.0.0.1:9/", log=_quiet)


def test_fetch_streams_verifies_and_caches(server, tmp_path):
    data = _publish(server, "ml-latest-small")
    seen: list[tuple[int, int | None]] = []
    logs: list[str] = []
    dest = tmp_path / "cache"
    got = fetch_release("ml-latest-small", dest, base_url=server.base,
                        progress=lambda n, total: seen.append((n, total)), log=logs.append)
    assert got == dest / "ml-latest-small.zip"
    assert got.read_bytes() == data
    assert sorted(p.name for p in dest.iterdir()) == ["ml-latest-small.zip"], "no temp file left behind"
    assert sum(n for n, _ in seen) == len(data)
    assert {t for _, t in seen} == {len(data)}, "total is the Content-Length"
    assert server.requests == ["/movielens/ml-latest-small.zip.md5", "/movielens/ml-latest-small.zip"]
    assert any("verified" in line for line in logs)

    again: list[str] = []
    assert fetch_release("ml-latest-small", dest, base_url=server.base, progress=seen.append, log=again.append) == got
    assert len(server.requests) == 2, "the cached zip is returned without touching the server"
    assert again == [f"ml-latest-small already in {got}"]


def test_env_base_url_and_default_cache(server, tmp_path, monkeypatch):
    _publish(server, "ml-10m")
    monkeypatch.setenv("RECCHAT_GROUPLENS_URL", server.base)
    monkeypatch.setenv("RECCHAT_CACHE_DIR", str(tmp_path / "xdg"))
    got = fetch_release("ml-10m", log=_quiet)
    assert got == tmp_path / "xdg" / "movielens" / "ml-10m.zip"
    assert zipfile.ZipFile(got).namelist()[0].startswith("ml-10M100K/")


def test_bare_hex_md5_file(server, tmp_path):
    data = _publish(server, "ml-1m", with_md5=False)
    (server.root / "movielens" / "ml-1m.zip.md5").write_text(hashlib.md5(data).hexdigest().upper())
    assert fetch_release("ml-1m", tmp_path / "c", base_url=server.base, log=_quiet).read_bytes() == data


def test_md5_mismatch_leaves_nothing(server, tmp_path):
    data = _publish(server, "ml-1m", md5="0" * 32)
    dest = tmp_path / "cache"
    with pytest.raises(RecchatError) as e:
        fetch_release("ml-1m", dest, base_url=server.base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg
    assert "0" * 32 in msg and hashlib.md5(data).hexdigest() in msg and server.base + "ml-1m.zip" in msg
    assert list(dest.iterdir()) == [], "neither the final name nor a temp file is left"


def test_truncated_download_leaves_nothing(server, tmp_path):
    _publish(server, "ml-20m")
    server.truncate = True
    dest = tmp_path / "cache"
    with pytest.raises(RecchatError, match="connection closed after") as e:
        fetch_release("ml-20m", dest, base_url=server.base, log=_quiet)
    assert "\n" not in str(e.value)
    assert list(dest.iterdir()) == []


def test_pinned_md5_for_ml100k(server, tmp_path):
    """A published md5 that is self-consistent but differs from recchat's pin is refused."""
    _publish(server, "ml-100k")
    with pytest.raises(RecchatError, match=GROUPLENS_MD5) as e:
        download_release(release("ml-100k"), tmp_path / "c", base_url=server.base, log=_quiet)
    assert "\n" not in str(e.value) and "pins" in str(e.value)
    assert server.requests == ["/movielens/ml-100k.zip.md5"], "the zip is not downloaded at all"
    assert list((tmp_path / "c").iterdir()) == []


def test_ml100k_cached_needs_no_network(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"PK")
    logs: list[str] = []
    got = fetch_release("ml-100k", tmp_path, base_url="http://127.0.0.1:9/", log=logs.append)
    assert got == tmp_path / "ml-100k.zip"
    assert logs == [f"ml-100k already in {tmp_path / 'ml-100k.zip'}"]


def test_server_down_one_line_with_import_hint(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}/movielens/"
    with pytest.raises(RecchatError) as e:
        fetch_release("ml-25m", tmp_path / "c", base_url=base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg
    assert base + "ml-25m.zip" in msg
    assert msg.endswith("download it elsewhere and run: engine data import movielens PATH/TO/ml-25m.zip")
    assert list((tmp_path / "c").iterdir()) == []


@pytest.mark.parametrize("missing", ["md5", "zip"])
def test_404_one_line(server, tmp_path, missing):
    _publish(server, "ml-32m", with_md5=missing != "md5", with_zip=missing != "zip")
    with pytest.raises(RecchatError) as e:
        fetch_release("ml-32m", tmp_path / "c", base_url=server.base, log=_quiet)
    msg = str(e.value)
    assert "\n" not in msg and "404" in msg and server.base + "ml-32m.zip" in msg
    assert "engine data import movielens PATH/TO/ml-32m.zip" in msg
    assert list((tmp_path / "c").iterdir()) == []
