"""llama.cpp through llama-cpp-python: load, tokenize, stream, stop."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from app.engine.chat_template import ChatTemplate
from app.errors import ModelLoadError


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = ""  # stop | length | cancelled


class LocalLLM:
    """Owns one `llama_cpp.Llama`. Not thread-safe: one owner thread drives it."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0, n_gpu_layers: int = 0,
                 seed: int = 0) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.seed = seed
        self._llm = None
        self.template: ChatTemplate | None = None

    def load(self) -> None:
        if self._llm is not None:
            return
        from app.models.gguf import read_gguf_info

        info = read_gguf_info(self.path)  # raises ModelFileError before llama.cpp sees a bad file
        from llama_cpp import Llama

        from app.models.hardware import physical_cores

        ctx = self.n_ctx or min(info.context_length or 4096, 4096)
        try:
            self._llm = Llama(model_path=str(self.path), n_ctx=ctx,
                              n_threads=self.n_threads or physical_cores(),
                              n_gpu_layers=self.n_gpu_layers, seed=self.seed, verbose=False)
        except Exception as e:  # llama.cpp reports failures as ValueError/RuntimeError
            raise ModelLoadError(str(self.path), str(e)) from e
        self.n_ctx = self._llm.n_ctx()
        meta = self._llm.metadata
        self.template = ChatTemplate(meta.get("tokenizer.chat_template"),
                                     meta.get("general.architecture"),
                                     self._token_text(self._llm.token_bos()),
                                     self._token_text(self._llm.token_eos()))

    @property
    def llm(self):  # type: ignore[no-untyped-def]
        self.load()
        return self._llm

    def _token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return self._llm.detokenize([token_id], special=True).decode("utf-8", "replace")  # type: ignore[union-attr]

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt. BOS is added only if the template didn't write it."""
        bos = self.template.bos_token if self.template else ""
        add_bos = not (bos and text.startswith(bos))
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, tokens: list[int], max_tokens: int, temperature: float,
               stop: tuple[str, ...] = (), cancel: threading.Event | None = None,
               stats: GenerationStats | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated; return when done or cancelled."""
        stats = stats if stats is not None else GenerationStats()
        stats.prompt_tokens = len(tokens)
        max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
        t0 = time.perf_counter()
        it = self.llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature,
                                        stop=list(stop), stream=True, seed=self.seed)
        try:
            for part in it:
                if cancel is not None and cancel.is_set():
                    stats.finish_reason = "cancelled"
                    break
                choice = part["choices"][0]
                text = choice.get("text") or ""
                if text:
                    if stats.completion_tokens == 0:
                        stats.ttft_s = time.perf_counter() - t0
                    stats.completion_tokens += 1
                    yield text
                if choice.get("finish_reason"):
                    stats.finish_reason = choice["finish_reason"]
        finally:
            close = getattr(it, "close", None)
            if close:
                close()
            stats.seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
