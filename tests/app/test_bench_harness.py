"""The answer benchmark's per-question scoring runs on a real library and Answerer (the
model scripted): a harness that breaks shows here, not minutes into a benchmark run."""
from __future__ import annotations

from tests.bench.bench_answers import Question, ask_one, prompt_digests
from tests.scripted_llm import ScriptedLLM


def test_one_question_is_scored_with_its_prompt_digest(library, tmp_path):
    from app.engine.answer import Answerer

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "falcon-budget.txt").write_text(
        "The Falcon project budget for 2024 is 2.5 million euros, approved in March.\n", encoding="utf-8")
    (docs / "tides.txt").write_text("Spring tides at the harbour reach 4.2 metres.\n", encoding="utf-8")
    assert library.indexer.index_paths([docs]).indexed == 2
    llm = ScriptedLLM()
    llm.enqueue("The Falcon project budget is 2.5 million euros [1].")
    answerer = Answerer(library.retriever(), llm, max_answer_tokens=64)
    digests = prompt_digests(answerer)
    q = Question("What is the Falcon project budget?", "falcon*", "single_chunk", "2.5 million euros")
    try:
        row = ask_one(answerer, q, {}, digests)
    finally:
        answerer.close()
    assert (row.key_figures, row.key_figures_found) == (1, 1)
    assert row.citations == 1 and row.citations_right_filing == 1 and row.prompt_has_filing
    assert len(digests) == 1 and row.prompt_sha256 == digests[0] and len(row.prompt_sha256) == 64
    assert row.sources and row.sources[0].startswith("falcon-budget.txt")


def test_the_compute_benchmark_scores_a_figure_with_its_sign():
    from decimal import Decimal

    from tests.bench.bench_compute import holds_reference

    assert holds_reference("$5,608 million", "5,608 million, computed by Docent as A − B")
    assert not holds_reference("$5,608 million", "-5,608 million, computed by Docent as B − A")
    assert not holds_reference("$5,608 million", "5,608 million", result=Decimal("-5608"))
    assert holds_reference("-1.40%", "-1.4%, computed by Docent", result=Decimal("-1.4"))
    assert not holds_reference("-1.40%", "1.4%, computed by Docent", result=Decimal("1.4"))
    assert holds_reference("-1.40%", "Net sales fell 1.4% in the quarter.")  # prose states the sign in words
    assert not holds_reference("25.93%", "26.9%")
