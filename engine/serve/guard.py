"""What `engine serve` refuses before llama.cpp sees it, and the one log line every refused request gets.

llama-cpp-python's server answers an unknown model name with its default model (a client asking for
another model would silently get this one's P(Yes)), reads bodies of any size, and logs nothing for a
4xx. This ASGI wrapper, in front of it: bodies over MAX_BODY (413), malformed JSON or a non-object
(400), an unknown model (404), `max_tokens` past the context (400, before any token is evaluated).
A prompt longer than the context is refused by llama-cpp-python itself (400). Every response of 400
or more is logged as one line: `engine serve: 404 POST /v1/completions: unknown model 'x'`.
"""

from __future__ import annotations

import json
import sys
from typing import Callable

MAX_BODY = 1 << 20  # bytes: a scoring prompt is a few kB
GUARDED = ("/v1/completions", "/v1/chat/completions", "/v1/embeddings")

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_request(body: bytes, alias: str, n_ctx: int, size: int | None = None) -> tuple[int, str] | None:
    """(status, reason) for a body the server must refuse; None for one llama-cpp-python may serve."""
    size = len(body) if size is None else size
    if size > MAX_BODY:
        return 413, f"body of {size:,} bytes is over {MAX_BODY:,}"
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return 400, f"malformed JSON ({str(e).splitlines()[0][:80]})"
    if not isinstance(obj, dict):
        return 400, "the body must be a JSON object"
    model = obj.get("model")
    if model is not None and model != alias:
        return 404, f"unknown model {str(model)[:60]!r}: this server serves {alias!r}"
    tokens = obj.get("max_tokens")
    if isinstance(tokens, bool) or (tokens is not None and not isinstance(tokens, int)):
        return 400, "max_tokens must be an integer"
    if isinstance(tokens, int) and tokens > n_ctx:
        return 400, f"max_tokens {tokens:,} exceeds the context of {n_ctx:,} tokens"
    return None


class Guard:
    """ASGI middleware: the checks above, and one log line per refused or failed request."""

    def __init__(self, app, alias: str, n_ctx: int, log: Log = _stderr):
        self.app, self.alias, self.n_ctx, self.log = app, alias, n_ctx, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        where = f"{scope['method']} {scope['path']}"
        reason = ""
        if scope["method"] == "POST" and scope["path"] in GUARDED:
            body, size, complete = await _read_body(receive, MAX_BODY)
            if not complete:
                return  # the client went away mid-body: nothing to answer
            refused = check_request(body, self.alias, self.n_ctx, size)
            if refused:
                status, reason = refused
                self.log(f"engine serve: {status} {where}: {reason}")
                return await _json(send, status, reason)
            receive = _replay(body, receive)

        async def logging_send(message):
            if message["type"] == "http.response.start" and message["status"] >= 400:
                self.log(f"engine serve: {message['status']} {where}" + (f": {reason}" if reason else ""))
            await send(message)

        await self.app(scope, receive, logging_send)


async def _read_body(receive, limit: int) -> tuple[bytes, int, bool]:
    """The request body (kept up to `limit`: past it only counted), its size, and False if the client
    disconnected before sending it all."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", size, False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), size, True


def _replay(body: bytes, receive):
    """The body already read, then the client's own messages (a disconnect when it really goes away: the
    server asks while it works, and must not be told the client left when it has not)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


async def _json(send, status: int, message: str) -> None:
    payload = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": status}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
