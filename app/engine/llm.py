"""llama.cpp through llama-cpp-python: load safely, prepare, stream, stop fast.

Not thread-safe: a ModelOwner thread makes every call.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from app.engine.backend import GenerationStats, PreparedPrompt
from app.engine.chat_template import ChatTemplate, Message
from app.errors import ModelLoadError

log = logging.getLogger(__name__)


_TINY_MODEL_BYTES = 600 * 1024 * 1024  # below any 1B Q4 GGUF
_TINY_PENALTY = 1.15


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported properly by load()
        return 0


class LocalLLM:
    def __init__(self, path: Path, n_ctx: int = 0, n_threads: int = 0, n_gpu_layers: int | None = None,
                 seed: int = 0, repeat_penalty: float | None = None) -> None:
        self.path = Path(path)
        # Sub-1B models (SmolLM2-135M: 98 MB) fall into one-sentence loops on greedy-ish
        # sampling; a mild penalty keeps them on the sources. 3B models need none.
        self.repeat_penalty = repeat_penalty if repeat_penalty is not None else (
            _TINY_PENALTY if _file_size(self.path) < _TINY_MODEL_BYTES else 1.0)
        self.name = self.path.name
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.seed = seed
        self.warnings: list[str] = []
        self.template: ChatTemplate | None = None
        self._llm: Any = None  # llama_cpp.Llama once loaded (llama_cpp 0.3.36 ships no type hints)
        self._cancel: threading.Event | None = None  # the current answer's stop flag
        self._abort_cb: Any = None  # keep the ctypes callback alive while llama.cpp holds it

    # --- loading -------------------------------------------------------------
    def load(self) -> None:
        if self._llm is not None:
            return
        from app.models import hardware
        from app.models.gguf import read_gguf_info
        from ingest.cpu import physical_cores

        info = read_gguf_info(self.path)  # a bad file fails here, never inside llama.cpp
        ram = hardware.available_ram_bytes()
        warning = hardware.fit_warning(info.file_size, ram)
        if warning:
            self.warnings.append(warning)
            log.warning("%s", warning)
        ctx = self.n_ctx or hardware.choose_context(
            info.context_length or 4096, info.file_size, ram, kv_bytes_per_token=info.kv_bytes_per_token())
        gpu = hardware.default_gpu_layers() if self.n_gpu_layers is None else self.n_gpu_layers
        from llama_cpp import Llama

        try:
            self._llm = Llama(model_path=str(self.path), n_ctx=ctx,
                              n_threads=self.n_threads or physical_cores(),
                              n_gpu_layers=gpu, seed=self.seed, verbose=False)
        except Exception as e:  # llama.cpp reports load failures as ValueError/RuntimeError
            raise ModelLoadError(str(self.path), str(e)) from e
        self.n_ctx = self._llm.n_ctx()
        meta = self._llm.metadata
        self.template = ChatTemplate(meta.get("tokenizer.chat_template"), meta.get("general.architecture"),
                                     self._token_text(self._llm.token_bos()),
                                     self._token_text(self._llm.token_eos()))
        self._install_abort()

    def _install_abort(self) -> None:
        """llama.cpp polls this during a decode, so a stop also cuts a long prompt evaluation."""
        import llama_cpp

        self._abort_cb = llama_cpp.ggml_abort_callback(
            lambda _data: self._cancel is not None and self._cancel.is_set())
        # llama_cpp 0.3.36 has no public handle on the context for the abort callback
        llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, self._abort_cb, None)  # noqa: SLF001

    def _set_abort_polling(self, on: bool) -> None:
        # Polling costs a Python call per graph node: worth it while a prompt is being
        # evaluated (seconds per batch), not per generated token (checked in Python instead).
        import llama_cpp

        cb = self._abort_cb if on else llama_cpp.ggml_abort_callback()  # NULL: no polling
        llama_cpp.llama_set_abort_callback(self.llm._ctx.ctx, cb, None)  # noqa: SLF001 (as above, llama_cpp 0.3.36)

    @property
    def llm(self) -> Any:  # llama_cpp.Llama (untyped)
        self.load()
        return self._llm

    def _token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        raw: bytes = self._llm.detokenize([token_id], special=True)
        return raw.decode("utf-8", "replace")

    # --- prompts -------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt. BOS is added only if the template didn't write it."""
        bos = self.template.bos_token if self.template else ""
        # llama.cpp adds BOS only for models whose vocab asks for it.
        add_bos = not (bos and text.startswith(bos))
        tokens: list[int] = self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prepare(self, messages: Sequence[Message]) -> PreparedPrompt:
        self.load()
        assert self.template is not None
        rendered = self.template.render(messages)
        tokens = self.tokenize(rendered.text)
        return PreparedPrompt(len(tokens), tokens, rendered.stop, rendered.text)

    def warm(self, messages: Sequence[Message]) -> None:
        """Evaluate a fixed prefix once per load so the first question reuses its KV cache."""
        self.load()
        assert self.template is not None
        tokens = self.tokenize(self.template.render(messages, add_generation_prompt=False).text)
        # llama_cpp 0.3.36 keeps the evaluated tokens (its KV cache) only in _input_ids
        if list(self.llm._input_ids[: len(tokens)]) == tokens:  # noqa: SLF001
            return
        self.llm.reset()
        self.llm.eval(tokens)

    # --- generation ----------------------------------------------------------
    def cached_prefix(self, tokens: list[int]) -> int:
        n = 0
        for a, b in zip(self.llm._input_ids, tokens, strict=False):  # noqa: SLF001 (llama_cpp 0.3.36, as above)
            if a != b:
                break
            n += 1
        return n

    def stream(self, prompt: PreparedPrompt, max_tokens: int, temperature: float,
               cancel: threading.Event | None, stats: GenerationStats,
               grammar: str | None = None) -> Iterator[str]:
        """Yield text pieces as generated; stop within one token (or one graph node) of cancel.
        grammar: GBNF the output must follow (a computed answer's plan)."""
        tokens: list[int] = list(prompt.payload)
        stats.prompt_tokens = len(tokens)
        stats.cached_tokens = self.cached_prefix(tokens)
        max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
        t0 = time.perf_counter()
        self._cancel = cancel
        self._set_abort_polling(True)
        constrained = None
        if grammar is not None:
            from llama_cpp import LlamaGrammar

            constrained = LlamaGrammar.from_string(grammar, verbose=False)
        it = self.llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature,
                                        stop=list(prompt.stop), stream=True, seed=self.seed,
                                        repeat_penalty=self.repeat_penalty, grammar=constrained)
        try:
            for part in it:
                if stats.completion_tokens == 0:
                    self._set_abort_polling(False)
                if cancel is not None and cancel.is_set():
                    stats.finish_reason = "cancelled"
                    break
                choice = part["choices"][0]
                text = choice.get("text") or ""
                stats.record(text, choice.get("finish_reason"), t0)
                if text:
                    yield text
        except RuntimeError:
            if cancel is None or not cancel.is_set():
                raise
            stats.finish_reason = "cancelled"  # llama_decode aborted mid-prompt: state stays valid
        finally:
            self._set_abort_polling(False)
            self._cancel = None
            close = getattr(it, "close", None)
            if close:
                close()
            stats.seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
