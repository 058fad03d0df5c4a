"""The OpenAI-compatible HTTP backend: P(Yes) from a server's /v1/completions log-probabilities.

One completion token per prompt with `logprobs`: the server reports the log-probabilities of the
first answer token, and logprob(Yes) - logprob(No) equals logit(Yes) - logit(No) (the softmax
normaliser cancels), so P(Yes) is the same number the in-process backend computes. A logit bias on
"Yes" makes it the sampled token, so it is always in the returned set; llama-cpp-python's server and
vLLM report log-probabilities of the raw logits, before the bias (README, "Serving over HTTP").

`engine serve` adds GET /recchat/model, which says what the served GGUF is (sha256, prompt format,
notes, the exact Yes/No token ids and texts); any other OpenAI-compatible server is read as an
Alpaca-prompted model whose answer tokens are spelled "Yes" and "No", with no stack of its own.
"""

from __future__ import annotations

import json
import math
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Sequence

from db.errors import RecchatError
from db.prompt import prompt_format as prompt_format_named
from db.scoring import Progress, PromptSettings, Score

TOP_LOGPROBS = 20  # vLLM's default cap on returned log-probabilities
INFO_PATH = "/recchat/model"
YES_BIAS = 100.0


def is_url(model: object) -> bool:
    return isinstance(model, str) and model.startswith(("http://", "https://"))


def api_base(url: str) -> str:
    """`http://host:port` or `.../v1` → the `/v1` base the OpenAI routes hang off."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


@dataclass(frozen=True)
class ServedModel:
    """What the server says of its model (engine serve), or what is assumed of any other server."""

    id: str
    identity: str
    prompt_format: str = "alpaca"
    chat_template: str | None = None
    notes: bool = False
    yes_token: str = "Yes"
    no_token: str = "No"
    yes_id: int | None = None
    item_text: bool = False


class HttpScorer:
    """Scores prompts through an OpenAI-compatible server; one request per prompt, in order."""

    def __init__(self, url: str, *, prompt_format: str | None = None, notes: bool | None = None, timeout: float = 120.0):
        self.url = api_base(url)
        self.timeout = timeout
        self.served = self._served_model()
        try:
            fmt = prompt_format_named(prompt_format or self.served.prompt_format, self.served.chat_template)
        except ValueError as e:
            raise RecchatError(f"{self.url}: {e}") from None
        self.prompts = PromptSettings(fmt, self.served.notes if notes is None else notes, self.served.item_text)

    @property
    def name(self) -> str:
        return self.url

    @property
    def identity(self) -> str:
        return self.served.identity

    # ----------------------------------------------------------------- HTTP
    def _request(self, url: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace").strip().replace("\n", " ")[:200]
            raise RecchatError(f"{url}: the server answered HTTP {e.code}" + (f": {detail}" if detail else "")) from None
        except urllib.error.URLError as e:
            reason = e.reason.strerror if isinstance(e.reason, OSError) and e.reason.strerror else e.reason
            raise RecchatError(f"{url}: cannot reach the server ({reason}); is it running? (engine serve)") from None
        except (socket.timeout, TimeoutError):
            raise RecchatError(f"{url}: no answer within {self.timeout:.0f} s") from None
        except (ValueError, UnicodeDecodeError):
            raise RecchatError(f"{url}: the answer is not JSON; is this an OpenAI-compatible server?") from None

    def _served_model(self) -> ServedModel:
        listing = self._request(self.url + "/models")
        models = listing.get("data") if isinstance(listing, dict) else None
        if not models:
            raise RecchatError(f"{self.url}/models: no model listed; is this an OpenAI-compatible server?")
        model_id = str(models[0].get("id"))
        root = self.url[: -len("/v1")]
        try:
            info = self._request(root + INFO_PATH)
        except RecchatError:  # not `engine serve`: assume a plain Alpaca-prompted model
            return ServedModel(model_id, f"{self.url}#{model_id}")
        return ServedModel(model_id, info.get("identity") or info["sha256"], info.get("prompt_format", "alpaca"), info.get("chat_template"),
                           bool(info.get("notes")), info["yes_token"], info["no_token"], info.get("yes_id"),
                           bool(info.get("item_text")))

    # -------------------------------------------------------------- scoring
    def _completion(self, prompt: str) -> dict:
        body = {"model": self.served.id, "prompt": prompt, "max_tokens": 1, "temperature": 0.0,
                "logprobs": TOP_LOGPROBS}
        if self.served.yes_id is not None:
            body["logit_bias"] = {str(self.served.yes_id): YES_BIAS}
        return self._request(self.url + "/completions", body)

    def _score(self, answer: dict) -> Score:
        try:
            top = answer["choices"][0]["logprobs"]["top_logprobs"][0]
        except (KeyError, IndexError, TypeError):
            top = None
        if not isinstance(top, dict) or not top:
            raise RecchatError(f"{self.url}/completions: the server returned no log-probabilities "
                               "(it must support `logprobs` on completions)")
        values = []
        for token in (self.served.yes_token, self.served.no_token):
            if token not in top:
                raise RecchatError(f"{self.url}/completions: no log-probability for the answer token {token!r} among "
                                   f"the top {len(top)} (is the served model rec-tuned to answer Yes/No?)")
            values.append(float(top[token]))
        if not all(math.isfinite(v) for v in values):
            raise RecchatError(f"{self.url}/completions: non-finite log-probabilities for Yes/No")
        return Score(*values)

    def score(self, prompts: Sequence[str], progress: Progress | None = None) -> list[Score]:
        out = []
        for prompt in prompts:
            out.append(self._score(self._completion(prompt)))
            if progress:
                progress(1)
        return out
