"""Model-side benchmark (issue 3): cold vs follow-up time to first token, RSS vs file size.

`python -m tests.bench.bench_chat` with the Qwen2.5 1.5B Q4_K_M from tests.bench.models.
A real chat over a real 10-Q: the first question's prompt is ~1,000 tokens of
sources; the follow-up reuses the KV cache of everything said before.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import BENCH_LLM, SEC_DOCS, emit, log, quiet_env

# ~1,000 prompt tokens: 10-Q chunks run ~250-330 Qwen tokens each.
TOP_K = 3
QUESTIONS = (
    "What were Apple's total net sales for the three months ended July 1, 2023?",
    "How did that compare with the same quarter a year earlier?",
)


@dataclass
class Turn:
    question: str
    prompt_tokens: int
    cached_tokens: int
    ttft_s: float
    completion_tokens: int
    gen_tokens_per_s: float
    new_sources: int
    reused_sources: int


@dataclass
class ChatBench:
    model: str
    model_file_mb: float
    n_threads: int
    n_ctx: int
    rss_before_load_mb: float
    rss_after_load_mb: float
    rss_growth_vs_file: float
    system_warm_s: float
    cold_unwarmed_ttft_s: float
    turns: list[Turn] = field(default_factory=list)
    follow_up_over_cold: float = 0.0
    target_follow_up_over_cold: float = 0.5
    target_met: bool = False
    notes: str = ""


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _turn(events: Any, question: str) -> Turn:
    from app.engine.events import DoneEvent

    for e in events:
        if isinstance(e, DoneEvent):
            a = e.answer
            gen_s = max(1e-6, a.seconds - a.ttft_s)
            new = len(a.turn.sources) if a.turn else 0
            reused = len(a.turn.reused) if a.turn else 0
            return Turn(question, a.prompt_tokens, a.cached_tokens, a.ttft_s, a.completion_tokens,
                        (a.completion_tokens - 1) / gen_s if a.completion_tokens > 1 else 0.0,
                        new, reused)
    raise RuntimeError(f"no answer for {question!r}")


def run(model: Path, threads: int, answer_tokens: int) -> ChatBench:
    quiet_env()
    from app.engine.answer import Answerer
    from app.engine.library import Library
    from app.engine.llm import LocalLLM
    from app.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="docent-bench-chat-"))
    try:
        docs = home / "docs"
        docs.mkdir()
        shutil.copy2(SEC_DOCS / "2023 Q3 AAPL.pdf", docs)
        lib = Library(Settings.load(home / "data"))
        lib.indexer.index_paths([docs])
        retriever = lib.retriever()
        retriever.search("warm up the embedder", 1)

        # Truly cold: fresh model, nothing cached, not even the system prompt.
        cold = Answerer(retriever, LocalLLM(model, n_ctx=4096, n_threads=threads), top_k=TOP_K,
                        max_answer_tokens=answer_tokens, temperature=0.0)
        cold.llm.load()
        unwarmed = _turn(cold.ask(QUESTIONS[0]), QUESTIONS[0])
        cold.close()

        rss0 = _rss_mb()
        llm = LocalLLM(model, n_ctx=4096, n_threads=threads)
        a = Answerer(retriever, llm, top_k=TOP_K, max_answer_tokens=answer_tokens, temperature=0.0)
        t0 = time.perf_counter()
        a.owner.call(llm.load)
        rss1 = _rss_mb()
        a.load()  # evaluates the system prompt once per load
        warm_s = time.perf_counter() - t0
        chat = a.chat()
        turns = []
        for q in QUESTIONS:
            log(f"asking: {q}")
            turns.append(_turn(chat.ask(q), q))
        a.close()
        lib.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    size_mb = model.stat().st_size / 2**20
    ratio = turns[1].ttft_s / turns[0].ttft_s if turns[0].ttft_s else 0.0
    return ChatBench(
        model.name, round(size_mb, 1), threads, 4096, round(rss0, 1), round(rss1, 1),
        round((rss1 - rss0) / size_mb, 3), warm_s, unwarmed.ttft_s, turns, ratio, 0.5, ratio <= 0.5,
        "cold = first question of a chat after the model load warmed the system prompt; "
        "cold_unwarmed = first question on a fresh model. Follow-up TTFT counts only the new "
        "sources + question; everything said before is served from the KV cache.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path, default=BENCH_LLM)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--answer-tokens", type=int, default=64)
    args = p.parse_args(argv)
    if not args.model.is_file():
        raise SystemExit(f"{args.model} missing: run `python -m tests.bench.models` first")
    emit("chat", run(args.model, args.threads, args.answer_tokens))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
