"""Prompt budget with the real SmolLM2 tokenizer: never over n_ctx, drops in the right order."""
from __future__ import annotations

import pytest

from app.engine.prompt import PromptBuilder, Turn
from app.engine.retrieval import Passage


@pytest.fixture(scope="module")
def llm(smollm_path):
    from app.engine.llm import LocalLLM

    m = LocalLLM(smollm_path, n_ctx=1024, n_threads=2)
    m.load()
    yield m
    m.close()


def _passages(n: int, words: int) -> list[Passage]:
    return [Passage(f"f:{i}", f"/docs/file{i}.pdf", i + 1, i + 1,
                    " ".join(f"word{i}_{j}" for j in range(words)), 1.0 - i / 10) for i in range(n)]


def test_everything_fits_when_small(llm):
    b = PromptBuilder(llm.template, llm.tokenize, 1024, 256)
    p = b.build("What is word1_3?", _passages(3, 10))
    assert len(p.passages) == 3 and not p.truncated
    assert "[1] file0.pdf, p. 1" in p.text and "Question: What is word1_3?" in p.text
    assert len(p.tokens) <= 1024 - 256


def test_over_budget_drops_history_then_lowest_ranked(llm):
    b = PromptBuilder(llm.template, llm.tokenize, 1024, 256)
    history = [Turn("old question " * 30, "old answer " * 30)]
    p = b.build("q?", _passages(8, 60), history)
    assert len(p.tokens) <= b.budget
    assert p.history_turns == 0
    assert 0 < len(p.passages) < 8
    assert [x.chunk_id for x in p.passages] == [f"f:{i}" for i in range(len(p.passages))]


def test_single_huge_passage_is_truncated_not_an_error(llm):
    b = PromptBuilder(llm.template, llm.tokenize, 1024, 256)
    p = b.build("q?", _passages(1, 3000))
    assert p.truncated and len(p.tokens) <= b.budget


def test_generation_never_overflows_context(llm):
    b = PromptBuilder(llm.template, llm.tokenize, llm.n_ctx, 256)
    p = b.build("Summarise.", _passages(10, 200))
    out = "".join(llm.stream(p.tokens, max_tokens=256, temperature=0.0, stop=p.stop))
    assert isinstance(out, str)
    assert len(p.tokens) + 256 <= llm.n_ctx
