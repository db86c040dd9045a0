"""An OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM) as the model.

Off by default: Docent is offline. A user who outgrows one laptop points
`remote_url` at a server they run; documents still never leave their network
except as the passages of a question, sent to that server only.
"""
from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Iterator, Sequence

from app.engine.backend import GenerationStats, PreparedPrompt
from app.engine.chat_template import Message
from app.errors import DocentError

if TYPE_CHECKING:
    import httpx

# No tokenizer on this side: a conservative estimate keeps prompts inside the server's window.
_CHARS_PER_TOKEN = 3.0
_PER_MESSAGE = 8


class RemoteModelError(DocentError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"The model server at {url} failed: {reason}")


class RemoteLLM:
    def __init__(self, base_url: str, model: str = "", n_ctx: int = 8192, api_key: str = "",
                 timeout_s: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model or self.base_url
        self.n_ctx = n_ctx
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.warnings: list[str] = []
        self._client: httpx.Client | None = None

    def load(self) -> None:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                        timeout=httpx.Timeout(self.timeout_s, connect=10.0))

    def count_tokens(self, text: str) -> int:
        return int(len(text) / _CHARS_PER_TOKEN) + 1

    def prepare(self, messages: Sequence[Message]) -> PreparedPrompt:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        est = sum(self.count_tokens(m.content) + _PER_MESSAGE for m in messages)
        return PreparedPrompt(est, payload)

    def warm(self, messages: Sequence[Message]) -> None:
        """The server manages its own cache; nothing to do here."""

    def stream(self, prompt: PreparedPrompt, max_tokens: int, temperature: float,
               cancel: threading.Event | None, stats: GenerationStats,
               grammar: str | None = None) -> Iterator[str]:
        self.load()
        assert self._client is not None
        import httpx

        body = {"messages": prompt.payload, "stream": True, "temperature": temperature,
                "max_tokens": max(1, min(max_tokens, self.n_ctx - prompt.n_tokens))}
        if self.model:
            body["model"] = self.model
        if grammar is not None:  # llama.cpp's server reads it; servers that do not, ignore it
            body["grammar"] = grammar
        stats.prompt_tokens = prompt.n_tokens
        t0 = time.perf_counter()
        try:
            with self._client.stream("POST", "/v1/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    raise RemoteModelError(self.base_url, f"HTTP {resp.status_code}: {resp.read()[:200]!r}")
                for line in resp.iter_lines():
                    if cancel is not None and cancel.is_set():
                        stats.finish_reason = "cancelled"
                        break  # closing the response tells the server to stop
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choice = (json.loads(data).get("choices") or [{}])[0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    stats.record(text, choice.get("finish_reason"), t0)
                    if text:
                        yield text
        except httpx.HTTPError as e:
            raise RemoteModelError(self.base_url, str(e) or type(e).__name__) from e
        finally:
            stats.seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
