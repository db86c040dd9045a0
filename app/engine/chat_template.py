"""Render chat messages to the exact prompt text a model was trained on.

The GGUF's own Jinja template is used when it renders; some real templates use
tags or helpers llama-cpp-python's renderer lacks (`{% generation %}`,
`strftime_now`), so those fall back to the family's known format instead of
failing the answer.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Sequence

CHATML = "chatml"
LLAMA3 = "llama3"


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    family: str  # chatml | llama3 | gguf (the model's own template)
    used_fallback: bool
    stop: tuple[str, ...]


def detect_family(template: str | None, architecture: str | None) -> str:
    t = template or ""
    if "<|start_header_id|>" in t or (architecture == "llama" and "<|im_start|>" not in t and t):
        return LLAMA3
    return CHATML


def render_chatml(messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
    out = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return out + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def render_llama3(messages: Sequence[Message], add_generation_prompt: bool = True,
                  bos: str = "<|begin_of_text|>") -> str:
    out = bos + "".join(
        f"<|start_header_id|>{m.role}<|end_header_id|>\n\n{m.content.strip()}<|eot_id|>"
        for m in messages)
    return out + ("<|start_header_id|>assistant<|end_header_id|>\n\n" if add_generation_prompt else "")


_STOPS = {CHATML: ("<|im_end|>", "<|endoftext|>"), LLAMA3: ("<|eot_id|>", "<|end_of_text|>")}


class ChatTemplate:
    def __init__(self, template: str | None, architecture: str | None = None,
                 bos_token: str = "", eos_token: str = "") -> None:
        self.source = template
        self.family = detect_family(template, architecture)
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._compiled = None
        self._compile_error: str | None = None
        if template:
            try:
                self._compiled = self._compile(template)
            except Exception as e:  # a syntax the sandbox can't parse: use the family format
                self._compile_error = f"{type(e).__name__}: {e}"

    @staticmethod
    def _compile(template: str) -> Any:  # a jinja2 Template
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

        def raise_exception(msg: str) -> None:
            raise ValueError(msg)

        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: _dt.datetime.now().strftime(fmt)
        return env.from_string(template)

    @property
    def stop(self) -> tuple[str, ...]:
        extra = (self.eos_token,) if self.eos_token else ()
        return tuple(dict.fromkeys(_STOPS[self.family] + extra))

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> RenderedPrompt:
        if self._compiled is not None:
            try:
                text = self._compiled.render(
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    add_generation_prompt=add_generation_prompt,
                    bos_token=self.bos_token, eos_token=self.eos_token)
                return RenderedPrompt(text, "gguf", False, self.stop)
            except Exception:  # e.g. a template that raises for our roles: fall back
                pass
        return RenderedPrompt(self.fallback(messages, add_generation_prompt), self.family, True,
                              self.stop)

    def fallback(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        if self.family == LLAMA3:
            return render_llama3(messages, add_generation_prompt, self.bos_token or "<|begin_of_text|>")
        return render_chatml(messages, add_generation_prompt)
