"""The OpenAI-compatible HTTP backend against a real `engine serve` on loopback, and its error paths
against small fake servers (no log-probabilities, no Yes/No tokens, wrong path, nothing listening)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from db.errors import RecchatError
from db.sample_files import read_samples
from db.scoring import score_samples
from engine.llm.http_scorer import HttpScorer, api_base
from engine.serve.server import free_port, launch
from tests.conftest import count, engine

pytest.importorskip("fastapi", reason="engine serve needs recchat[serve]")


@pytest.fixture(scope="module")
def served():
    """`engine serve` with the default model, as a user starts it, on a free loopback port."""
    proc, url = launch()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_http_p_yes_matches_in_process_on_real_samples(served, scorer, movie_split_dir):
    """Same prompts, same model: the server's log-probabilities give P(Yes) within 1e-3 of llama.cpp in-process."""
    samples = read_samples(movie_split_dir / "test.json")[0][:12]
    remote = HttpScorer(served)
    assert remote.identity == scorer.identity, "engine serve says which GGUF it serves (its stack is found by it)"
    assert remote.prompts == scorer.prompts
    local = [s.p_yes for s in score_samples(scorer, samples)]
    http = [s.p_yes for s in score_samples(remote, samples)]
    assert max(abs(a - b) for a, b in zip(local, http)) <= 1e-3
    assert len(set(round(p, 3) for p in http)) > 6, "real, varying scores"


def test_recommend_and_eval_through_the_server(served, ml100k_copy, movie_split_dir, tmp_path):
    r = engine("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--model", served, "--json", "--top", "3",
               "--candidates", "8")
    assert r.exit_code == 0, r.output
    assert "learned ranker" in r.stderr, "which ranker orders is said"
    recs = json.loads(r.stdout)
    assert len(recs) == 3 and all(0 < x["p_yes"] < 1 for x in recs)
    data = tmp_path / "few.json"
    data.write_text(json.dumps(json.loads((movie_split_dir / "test.json").read_text())[:12]))
    r = engine("eval", "--db", ml100k_copy, "--model", served, "--data", data, "--train", movie_split_dir / "train.json",
               "--roc", tmp_path / "roc.png")
    assert r.exit_code == 0, r.output
    (model, sha) = open_row(ml100k_copy)
    assert model == served and len(sha) == 64


def open_row(path):
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT model_path, model_sha256 FROM eval_runs").fetchone()
    finally:
        conn.close()


# ---------------------------------------------------------------- error paths
class FakeOpenAI(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose completion answer a test chooses."""

    completion: dict = {}

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "some-model"}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/completions":
            self._send(200, type(self).completion)
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture
def fake_server():
    handler = type("Handler", (FakeOpenAI,), {"completion": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def completion(top: dict | None) -> dict:
    logprobs = None if top is None else {"tokens": ["Yes"], "token_logprobs": [-0.1], "top_logprobs": [top]}
    return {"choices": [{"text": "Yes", "index": 0, "logprobs": logprobs, "finish_reason": "length"}]}


def one_line(e: pytest.ExceptionInfo, *parts: str) -> None:
    msg = str(e.value)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, msg


def test_a_plain_openai_server_scores_with_yes_and_no_log_probabilities(fake_server):
    url, handler = fake_server
    handler.completion = completion({"Yes": -0.2, "No": -1.8, " Yes": -5.0})
    s = HttpScorer(url)  # the /v1 suffix is optional
    assert s.name == url + "/v1" and s.prompts.format.name == "alpaca" and not s.prompts.notes
    [score] = s.score(["prompt"])
    assert score.logit == pytest.approx(1.6)
    assert score.p_yes == pytest.approx(1 / (1 + 2.718281828459045 ** -1.6))


def test_no_log_probabilities_is_a_one_line_error(fake_server):
    url, handler = fake_server
    handler.completion = completion(None)
    with pytest.raises(RecchatError) as e:
        HttpScorer(url).score(["prompt"])
    one_line(e, api_base(url), "no log-probabilities")


def test_no_yes_no_tokens_is_a_one_line_error(fake_server):
    url, handler = fake_server
    handler.completion = completion({"Sure": -0.1, "Maybe": -2.0})
    with pytest.raises(RecchatError) as e:
        HttpScorer(url).score(["prompt"])
    one_line(e, api_base(url), "'Yes'")


def test_wrong_url_is_a_one_line_error(fake_server):
    url, _ = fake_server
    with pytest.raises(RecchatError) as e:
        HttpScorer(url + "/somewhere/else")
    one_line(e, url + "/somewhere/else/v1/models", "HTTP 404")


def test_server_down_is_a_one_line_error_and_eval_writes_nothing(ml100k_copy, movie_split_dir, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(RecchatError) as e:
        HttpScorer(url)
    one_line(e, url, "cannot reach the server")
    before = count(ml100k_copy, "SELECT COUNT(*) FROM feedback")
    r = engine("eval", "--db", ml100k_copy, "--model", url, "--data", movie_split_dir / "test.json", "--limit", "5",
               "--roc", tmp_path / "roc.png")
    assert r.exit_code == 1
    assert r.stderr.strip().count("\n") == 0 and url in r.stderr
    assert count(ml100k_copy, "SELECT COUNT(*) FROM eval_runs") == 0
    assert count(ml100k_copy, "SELECT COUNT(*) FROM feedback") == before
    r = engine("recommend", "--db", ml100k_copy, "--user", "ml100k-196", "--model", url)
    assert r.exit_code == 1 and url in r.stderr and "Traceback" not in r.output


def test_the_chat_reports_a_server_it_cannot_reach(ml100k_copy):
    from engine.chat.session import ChatSession

    url = f"http://127.0.0.1:{free_port()}/v1"
    session = ChatSession(ml100k_copy, "someone", url)
    with pytest.raises(RecchatError) as e:
        session.load_model()
    one_line(e, url)
