"""`engine serve`: one GGUF behind llama-cpp-python's OpenAI-compatible server, for several clients.

The server runs the in-process backend's llama.cpp context settings (one engine.llm.llama_settings.LlamaSettings:
F32 K/V, no flash attention, micro-batches under 64 rows), so its P(Yes) matches (tests/test_http_scorer.py).
Requests are served one at a time (llama-cpp-python holds one context); clients queue.
It adds GET /recchat/model: the model's sha256 (its stack is stored under it), the prompt settings
it was rec-tuned on and the exact Yes/No answer tokens, so clients build the same prompts.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from db.errors import RecchatError
from db.fileio import file_sha256
from db.gguf_check import check_gguf, model_identity
from engine.llm.llama_settings import LlamaSettings
from engine.llm.scorer import answer_ids, settings_for

from .guard import Guard

SERVER_EXTRA = "pip install 'recchat[serve]' (fastapi, uvicorn and the other llama-cpp-python[server] packages)"
SERVER_ARENAS = 2  # glibc malloc arenas for the server process (its default is 8 per core)
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(n: int = SERVER_ARENAS) -> int | None:
    """Cap glibc's malloc arenas before the server starts its worker threads; returns the cap, or None.

    Each of the up to 40 threads that answer concurrent requests gets an arena of its own (16 on two
    cores), and freed memory in those arenas stays resident: RSS grew 40-50 MiB per round of 64
    concurrent clients (docs/reliability.md). A MALLOC_ARENA_MAX the person set wins; elsewhere than
    glibc nothing is done."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return n if libc.mallopt(_M_ARENA_MAX, n) == 1 else None


def model_info(path: Path) -> dict:
    """What GET /recchat/model answers: identity, prompt settings and answer tokens of `path`."""
    import llama_cpp

    info = check_gguf(path)
    settings = settings_for(info, str(path))
    try:
        vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    except ValueError:  # llama-cpp-python's "Failed to load model from file"
        raise RecchatError(_cannot_load(path, info)) from None
    tokenize = lambda text: vocab.tokenize(text.encode("utf-8"), add_bos=True, special=settings.format.special)
    yes, no = answer_ids(tokenize, settings.format, str(path))
    piece = lambda t: vocab.detokenize([t]).decode("utf-8", "replace")
    out = {"identity": model_identity(path), "sha256": file_sha256(path), "name": path.name, "prompt_format": settings.format.name,
           "chat_template": settings.format.chat_template, "notes": settings.notes, "item_text": settings.item_text,
           "yes_id": yes, "no_id": no, "yes_token": piece(yes), "no_token": piece(no)}
    vocab.close()
    return out


def _cannot_load(path: Path, info) -> str:
    return f"llama.cpp cannot load {path} (architecture {info.architecture!r})"


def model_settings(path: Path, settings: LlamaSettings, cache_mb: int) -> dict:
    """Keyword arguments of llama-cpp-python's ModelSettings: `settings` (as in-process scoring runs them),
    every position's logits (for `logprobs`) and `cache_mb` MiB of RAM for prompt states."""
    return {"model": str(path), "model_alias": path.name, **settings.server_kwargs(), "logits_all": True,
            "verbose": False, "cache": cache_mb > 0, "cache_type": "ram", "cache_size": cache_mb << 20}


def build_app(path: Path, settings: LlamaSettings = LlamaSettings(), *, cache_mb: int = 2048):
    """The FastAPI app: llama-cpp-python's OpenAI routes plus /recchat/model; the model is checked and loaded here.

    `cache_mb` of RAM keep the model states of recent prompts: concurrent clients interleave their
    requests, and without it each request re-reads its whole prompt (the previous one was another
    user's); with it a request restores the state of its longest cached prefix (0: off)."""
    check_gguf(path)  # a wrong --model is named before missing server packages are
    try:
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError as e:
        raise RecchatError(f"engine serve needs the server packages ({e.name} is missing): {SERVER_EXTRA}") from None
    info = model_info(path)
    model = ModelSettings(**model_settings(path, settings, cache_mb))
    try:
        with model_params_of(settings):
            app = create_app(server_settings=ServerSettings(), model_settings=[model])  # loads the model
    except ValueError:
        raise RecchatError(_cannot_load(path, check_gguf(path))) from None
    app.add_api_route("/recchat/model", lambda: info, methods=["GET"])
    return Guard(app, path.name, settings.n_ctx)


@contextmanager
def model_params_of(settings: LlamaSettings):
    """llama-cpp-python's Llama takes no `use_extra_bufts`: while the server loads its model, the default
    model parameters it starts from carry `settings`' (engine.llm.llama_settings: AMX off)."""
    import llama_cpp.llama_cpp as low

    default = low.llama_model_default_params

    def params():
        p = default()
        settings.apply_model(p)
        return p

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = default


def serve(path: Path, host: str, port: int, *, settings: LlamaSettings = LlamaSettings(), n_ctx: int | None = None,
          threads: int | None = None, cache_mb: int = 2048, announce: Callable[[], None] | None = None) -> None:
    """Serve `path` until Ctrl-C; `n_ctx` and `threads` override `settings`. `announce` runs once the model
    is checked and loaded, just before the server starts listening (a bad model is refused before it)."""
    limit_malloc_arenas()
    app = build_app(path, settings.with_overrides(n_ctx=n_ctx, threads=threads), cache_mb=cache_mb)
    try:
        import uvicorn
    except ImportError:
        raise RecchatError(f"engine serve needs the server packages (uvicorn is missing): {SERVER_EXTRA}") from None
    if announce:
        announce()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str] = (), wait: float = 300.0, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`engine serve ARGS` as a child process on a free loopback port, once it answers; for tests and benches.

    `env`: variables added to the child's environment. Returns the process (terminate it when done) and its
    API URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "serve", "--port", str(port),
                             *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env} if env else None)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + wait
    while True:
        try:
            urllib.request.urlopen(url + "/models", timeout=2).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RecchatError("engine serve did not start: " + (proc.stderr.read().strip() if proc.stderr else ""))
            time.sleep(0.3)
