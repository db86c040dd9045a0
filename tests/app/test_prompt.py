"""Prompt budget with the real SmolLM2 tokenizer: never over n_ctx, drops in the right order."""
from __future__ import annotations

import pytest

from app.engine.prompt import NumberedSource, PromptBuilder, Turn
from ingest.passage import Passage

pytestmark = pytest.mark.slow  # SmolLM2 loaded through llama.cpp, for its tokenizer


@pytest.fixture(scope="module")
def llm(smollm_path):
    from app.engine.llm import LocalLLM

    m = LocalLLM(smollm_path, n_ctx=1024, n_threads=2)
    m.load()
    yield m
    m.close()


def _passages(n: int, words: int, start: int = 0) -> list[Passage]:
    return [Passage(f"f:{i}", f"/docs/file{i}.pdf", i + 1, i + 1,
                    " ".join(f"word{i}_{j}" for j in range(words)), 1.0 - i / 10)
            for i in range(start, start + n)]


def test_everything_fits_when_small(llm):
    b = PromptBuilder(llm.prepare, 1024, 256)
    p = b.build("What is word1_3?", _passages(3, 10))
    assert [s.number for s in p.sources] == [1, 2, 3] and not p.truncated
    assert "[1] file0.pdf, p. 1" in p.prepared.text and "Question: What is word1_3?" in p.prepared.text
    assert p.prepared.n_tokens == len(p.prepared.payload) <= 1024 - 256


def test_over_budget_drops_history_then_lowest_ranked(llm):
    b = PromptBuilder(llm.prepare, 1024, 256)
    old = Turn("old question " * 30, "old answer " * 30, [NumberedSource(1, _passages(1, 5, 50)[0])])
    p = b.build("q?", _passages(8, 60), [old])
    assert p.prepared.n_tokens <= b.budget
    assert p.history_turns == 0
    assert 0 < len(p.sources) < 8 and p.dropped_passages == 8 - len(p.sources)
    assert [s.passage.chunk_id for s in p.sources] == [f"f:{i}" for i in range(len(p.sources))]
    assert p.sources[0].number == 2  # numbers never repeat within a chat


def test_follow_up_shares_the_prefix_and_reuses_numbers(llm):
    b = PromptBuilder(llm.prepare, 1024, 128)
    first = b.build("first?", _passages(3, 10))
    first.turn.answer = "Answer one [1]."
    second = b.build("second?", _passages(2, 10, start=1) + _passages(4, 10, start=7), [first.turn])
    # Only unseen passages are new, and a follow-up adds at most a third of k (6 -> 2).
    assert [s.number for s in second.turn.sources] == [4, 5]
    assert [s.passage.chunk_id for s in second.turn.sources] == ["f:7", "f:8"]
    assert second.turn.reused == [2, 3]
    assert set(second.visible) == {1, 2, 3, 4, 5}
    shared = first.prepared.payload
    assert second.prepared.payload[:len(shared)] == shared  # whole first prompt is a prefix


def test_single_huge_passage_is_truncated_not_an_error(llm):
    b = PromptBuilder(llm.prepare, 1024, 256)
    p = b.build("q?", _passages(1, 3000))
    assert p.truncated and p.prepared.n_tokens <= b.budget


def test_generation_never_overflows_context(llm):
    from app.engine.backend import GenerationStats

    b = PromptBuilder(llm.prepare, llm.n_ctx, 256)
    p = b.build("Summarise.", _passages(10, 200))
    stats = GenerationStats()
    out = "".join(llm.stream(p.prepared, 256, 0.0, None, stats))
    assert isinstance(out, str) and stats.finish_reason in ("stop", "length")
    assert p.prepared.n_tokens + 256 <= llm.n_ctx


def test_a_new_topic_in_the_same_chat_gets_full_retrieval(llm):
    b = PromptBuilder(llm.prepare, 2048, 128)
    first = b.build("first?", _passages(3, 10))
    first.turn.answer = "One."
    other = b.build("unrelated?", _passages(3, 10, start=20), [first.turn])
    assert [s.number for s in other.turn.sources] == [4, 5, 6] and other.turn.reused == []
