"""`engine serve`: one model over an OpenAI-compatible API."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("serve")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GGUF to serve (default: the rec-tuned SmolLM2, built on first use).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads (default: all cores).")
@click.option("--ctx", "n_ctx", type=click.IntRange(256), default=4096, show_default=True, help="Context length in tokens.")
@click.option("--cache-mb", type=click.IntRange(0), default=2048, show_default=True,
              help="RAM for the model states of recent prompts, so interleaved clients do not re-read their prompts (0: off).")
def serve_cmd(model_path, host, port, threads, n_ctx, cache_mb) -> None:
    """Serve a model over an OpenAI-compatible API for several clients (chat, recommend, eval: --model URL).

    Runs llama-cpp-python's server with the in-process backend's llama.cpp settings, so P(Yes) is the
    same; requests are answered one at a time. Needs: pip install 'recchat[serve]'.
    """
    from db.default_model import default_engine_model
    from engine.serve.server import serve

    path = model_path or default_engine_model(log=lambda m: click.echo(m, err=True))
    announce = lambda: click.echo(f"serving {path.name} on http://{host}:{port}/v1 (Ctrl-C stops)", err=True)
    serve(path, host, port, n_ctx=n_ctx, threads=threads, cache_mb=cache_mb, announce=announce)  # after the model checks
