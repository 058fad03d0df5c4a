"""`engine serve` refuses a bad model before it says it serves anything, and it runs the same llama.cpp
settings as in-process scoring (one engine.llm.llama_settings.LlamaSettings; no model is loaded here)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import llama_cpp
import pytest

import engine.serve.server as serve_module
from db.errors import RecchatError
from db.gguf_check import default_model_path
from engine.llm.llama_runner import LlamaRunner
from engine.llm.llama_settings import LlamaSettings
from engine.llm.scorer import LlamaScorer
from engine.serve.server import SERVER_ARENAS, build_app, model_settings, serve
from tests.conftest import engine


def test_serve_refuses_a_file_that_is_not_gguf_before_announcing(tmp_path, monkeypatch):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    calls = []
    monkeypatch.setattr(serve_module, "build_app", _spy(build_app, calls))
    r = engine("serve", "--model", passwd, "--port", "1")
    assert r.exit_code == 1, r.output
    assert r.stderr.strip().splitlines() == [f"Error: not a GGUF file: {passwd} (starts with b'root')"]
    assert "serving" not in r.output and "serving" not in r.stderr
    assert len(calls) == 1, "the refusal came from the model checks"


def test_serve_refuses_a_missing_model(tmp_path):
    r = engine("serve", "--model", tmp_path / "nope.gguf", "--port", "1")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [f"Error: model not found: {tmp_path / 'nope.gguf'}"]
    assert "serving" not in r.output


def test_serve_announces_after_the_app_is_built(monkeypatch):
    """The announcement comes once the model is checked and loaded, right before the server listens."""
    pytest.importorskip("uvicorn")
    import uvicorn

    events = []

    def fake_build(path, settings, *, cache_mb):
        events.append(("build", settings, cache_mb))
        return "app"

    monkeypatch.setattr(serve_module, "build_app", fake_build)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: events.append(("run", app, kw["port"])))
    model = default_model_path()
    r = engine("serve", "--model", model, "--port", "8099", "--ctx", "2048", "--threads", "2", "--cache-mb", "0")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip().splitlines()[-1] == f"serving {model.name} on http://127.0.0.1:8099/v1 (Ctrl-C stops)"
    assert events == [("build", LlamaSettings(n_ctx=2048, threads=2), 0), ("run", "app", 8099)]


def test_every_entry_point_defaults_to_one_settings_object():
    for f in (LlamaRunner, LlamaScorer, build_app, serve):
        assert inspect.signature(f).parameters["settings"].default == LlamaSettings(), f.__name__
    s = LlamaSettings()
    assert (s.n_ctx, s.n_batch, s.n_ubatch, s.threads, s.kv_type, s.flash_attn) == (
        4096, 512, 63, None, llama_cpp.GGML_TYPE_F32, False)


def test_runner_and_server_are_derived_from_the_same_settings(monkeypatch):
    """The context parameters the runner builds equal the ModelSettings `engine serve` gives llama-cpp-python."""
    settings = LlamaSettings(n_ctx=1024, threads=3)
    seen = {}

    def no_context(model, cparams):
        seen["cparams"] = cparams
        return None  # the runner then stops with a one-line error: nothing is loaded

    monkeypatch.setattr(llama_cpp, "llama_model_load_from_file", lambda path, params: 1)
    monkeypatch.setattr(llama_cpp, "llama_model_free", lambda model: None)
    monkeypatch.setattr(llama_cpp, "llama_init_from_model", no_context)
    with pytest.raises(RecchatError, match="cannot create a context"):
        LlamaRunner(default_model_path(), settings)
    c = seen["cparams"]

    pytest.importorskip("pydantic_settings")
    from llama_cpp.server.settings import ModelSettings

    m = ModelSettings(**model_settings(default_model_path(), settings, cache_mb=0))
    runner = (c.n_ctx, c.n_batch, c.n_ubatch, c.n_threads, c.n_threads_batch, c.type_k, c.type_v)
    server = (m.n_ctx, m.n_batch, m.n_ubatch, m.n_threads, m.n_threads_batch, m.type_k, m.type_v)
    assert runner == server == (1024, 512, 63, 3, 3, llama_cpp.GGML_TYPE_F32, llama_cpp.GGML_TYPE_F32)
    assert c.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED and m.flash_attn is False
    assert m.logits_all and not m.cache


def test_constructor_keywords_override_single_fields(monkeypatch):
    """`LlamaScorer(path, n_ctx=..., threads=...)` and `serve(..., n_ctx=..., threads=...)` keep working."""
    seen = []

    def stop(path, settings):
        seen.append(settings)
        raise RecchatError("stop")

    monkeypatch.setattr("engine.llm.scorer.LlamaRunner", stop)
    with pytest.raises(RecchatError, match="stop"):
        LlamaScorer(default_model_path(), n_ctx=256, n_batch=256, threads=2)
    assert seen == [LlamaSettings(n_ctx=256, n_batch=256, threads=2)]
    assert LlamaSettings(n_batch=32).micro_batch == 32, "micro-batches never exceed the batch"


def _spy(f, calls: list):
    def wrapper(*args, **kwargs):
        calls.append(args)
        return f(*args, **kwargs)

    return wrapper


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_server_caps_malloc_arenas_unless_the_person_set_them():
    probe = "from engine.serve.server import limit_malloc_arenas; print(limit_malloc_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    capped = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert capped.stdout.strip() == str(SERVER_ARENAS)
    theirs = subprocess.run([sys.executable, "-c", probe], env={**env, "MALLOC_ARENA_MAX": "4"},
                            capture_output=True, text=True, check=True)
    assert theirs.stdout.strip() == "None"
