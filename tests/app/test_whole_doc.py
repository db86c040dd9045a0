"""Whole-document requests: which questions are, which file they mean, the file read in order,
and the map-reduce over its parts (logic with a scripted model; the real path with SmolLM2
is in test_whole_doc_e2e.py)."""
from __future__ import annotations

import re
import threading
from typing import Iterator, Sequence

import pytest

from app.engine.backend import GenerationStats, PreparedPrompt
from app.engine.chat_template import Message
from app.engine.events import DoneEvent, ProgressEvent, SourcesEvent, TokenEvent
from app.engine.whole_doc import asks_for_task, says_whole_document
from tests.docs_factory import make_pdf

PAGES = [f"Page {i} of the Harbour Board annual report. The {w} pier was inspected in spring; "
         f"its repair budget is {i * 11} thousand pounds. " * 6
         for i, w in enumerate(["north", "south", "east", "west", "old", "new", "ferry", "fish"], 1)]


@pytest.mark.parametrize("question", [
    "Summarise this document", "Summarize the report.", "Give me an overview of this file",
    "List the risks in this document", "What are the key points?", "tl;dr", "What is this paper about?",
    "List all the deadlines in the contract",
])
def test_tasks_over_a_document_are_recognised(question):
    assert asks_for_task(question)


@pytest.mark.parametrize("question", [
    "What was Apple's net income?", "How do the reported shifts correspond with the strategies "
    "outlined in the report?", "Who signed the lease?", "Is the listing price above 2 million?",
])
def test_ordinary_questions_are_not_tasks(question):
    assert not asks_for_task(question)


def test_whole_document_words():
    assert says_whole_document("Summarise this document")
    assert says_whole_document("list the risks in the whole contract")
    assert not says_whole_document("What are the key points?")


@pytest.fixture
def two_docs(library, tmp_path):  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = make_pdf(docs / "harbour-board-report.pdf", PAGES)
    note = docs / "bakery.txt"
    note.write_text("The Crumb bakery opens at 6:30 and sells rye bread.\n" * 3)
    report = library.indexer.index_paths([docs])
    assert report.failures == [] and report.indexed == 2
    return pdf, note


def test_the_target_is_the_one_file_meant(library, two_docs):
    pdf, note = two_docs
    reader = library.whole_doc(library.retriever())
    scoped = reader.target("List the key points", {"path": str(pdf)})
    assert scoped is not None and scoped.path == str(pdf) and scoped.why == "scope"
    assert reader.target("What is the repair budget?", {"path": str(pdf)}) is None  # a plain question
    # Unscoped, two files: "this document" names none of them; a summary of the whole library is
    # not a document's summary, so retrieval answers it.
    assert reader.target("Summarise this document", None) is None
    assert reader.target("Summarise this document", {"path": [str(pdf), str(note)]}) is None
    # Naming the document picks it from the library (app.engine.doc_rank).
    named = reader.target("Summarise the Harbour Board report", None)
    assert named is not None and named.path == str(pdf) and named.why == "named"


def test_the_file_is_read_whole_in_order_with_pages(library, two_docs):
    pdf, _ = two_docs
    reader = library.whole_doc(library.retriever())
    target = reader.target("Summarise this file", {"path": str(pdf)})
    passages = reader.passages(target.file_id)
    assert passages and all(p.path == str(pdf) for p in passages)
    starts = [p.page_start for p in passages]
    assert starts == sorted(starts) and starts[0] == 1 and passages[-1].page_end == len(PAGES)
    text = " ".join(" ".join(p.text.split()) for p in passages)  # the PDF wraps lines
    for i in range(1, len(PAGES) + 1):
        assert f"Page {i} of the Harbour" in text
    # The chunker's overlap is joined once, and no passage carries the embedder's label line.
    assert text.count("its repair budget is 11 thousand") == PAGES[0].count("its repair budget is 11 thousand")
    assert all(p.spans for p in passages)


class ScriptedLLM:
    """Counts ~4 characters a token; answers each part with one note on its first source."""

    name = "scripted"

    def __init__(self, n_ctx: int = 1024, block: threading.Event | None = None) -> None:
        self.n_ctx = n_ctx
        self.block = block
        self.prompts: list[str] = []

    def load(self) -> None: ...

    def warm(self, messages: Sequence[Message]) -> None: ...

    def close(self) -> None: ...

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def prepare(self, messages: Sequence[Message]) -> PreparedPrompt:
        text = "\n".join(m.content for m in messages)
        return PreparedPrompt(self.count_tokens(text), text)

    def stream(self, prompt: PreparedPrompt, max_tokens: int, temperature: float,
               cancel: threading.Event | None, stats: GenerationStats,
               grammar: str | None = None) -> Iterator[str]:
        self.prompts.append(prompt.payload)
        stats.prompt_tokens += prompt.n_tokens
        if self.block is not None and "Part 2 of" in prompt.payload:
            while not (cancel is not None and cancel.is_set()):
                self.block.wait(0.01)
            stats.finish_reason = "cancelled"
            return
        numbers = re.findall(r"^\[(\d+)\] pp?\.", prompt.payload, re.M)
        if "Write short notes" in prompt.payload:
            reply = (f"- The pier repair budget is noted here, with the inspection dates, the contractor "
                     f"and the spring survey's findings on every beam and bollard of this pier [{numbers[0]}].")
        elif "Combine these notes" in prompt.payload:
            reply = "- Budgets for every pier [" + ", ".join(re.findall(r"\[(\d+)\]", prompt.payload)[:2]) + "]."
        else:
            reply = "The report lists pier repair budgets [1]. Spring inspections covered each pier."
        for word in reply.split(" "):
            stats.completion_tokens += 1
            yield word + " "
        stats.finish_reason = "stop"


def _run(answerer, question, where, cancel=None):  # type: ignore[no-untyped-def]
    return list(answerer.ask(question, where=where, cancel=cancel))


def test_map_reduce_reads_every_part_then_answers_with_page_citations(library, two_docs):
    from app.engine.answer import Answerer

    pdf, _ = two_docs
    llm = ScriptedLLM(n_ctx=1024)
    a = Answerer(library.retriever(), llm, max_answer_tokens=128,
                 whole_doc=library.whole_doc(library.retriever()))
    events = _run(a, "Summarise this document", {"path": str(pdf)})
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("SourcesEvent") < kinds.index("TokenEvent") < kinds.index("DoneEvent")
    parts = [p for p in llm.prompts if "Part " in p[:2000] and "Write short notes" in p]
    assert len(parts) >= 3  # a 1,024-token context cannot hold the 8 pages at once
    assert len(progress) == len(llm.prompts) and [p.done for p in progress] == list(range(len(progress)))
    assert all("harbour-board-report.pdf" in p.what for p in progress)
    read = "\n".join(parts)
    for i in range(1, len(PAGES) + 1):
        assert f"Page {i} of the Harbour" in read  # every page reached a part
    answer = next(e for e in events if isinstance(e, DoneEvent)).answer
    assert answer.text.startswith("The report lists")
    assert answer.citations and all(c.passage.path == str(pdf) and c.passage.page_start for c in answer.citations)
    sources = next(e for e in events if isinstance(e, SourcesEvent))
    assert sources.passages and all(p.path == str(pdf) for p in sources.passages)
    assert answer.prompt_tokens == sum(llm.count_tokens(p) for p in llm.prompts)  # every step's
    assert answer.turn is not None and answer.turn.sources and answer.sources == answer.turn.sources


def test_notes_too_long_for_one_prompt_are_combined_first(library, two_docs):
    from app.engine.answer import Answerer

    pdf, _ = two_docs
    llm = ScriptedLLM(n_ctx=1024)
    a = Answerer(library.retriever(), llm, max_answer_tokens=700,  # ~316 tokens left: not all the notes
                 whole_doc=library.whole_doc(library.retriever()))
    events = _run(a, "Summarise this document", {"path": str(pdf)})
    assert any("Combine these notes" in p for p in llm.prompts)
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert any("Combining" in p.what for p in progress)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].total >= progress[0].total  # the steps known grew with the combining
    assert isinstance(events[-1], DoneEvent) and events[-1].answer.text


def test_stop_while_reading_ends_the_answer_at_once(library, two_docs):
    from app.engine.answer import Answerer

    pdf, _ = two_docs
    cancel = threading.Event()
    llm = ScriptedLLM(n_ctx=1024, block=threading.Event())
    a = Answerer(library.retriever(), llm, max_answer_tokens=128,
                 whole_doc=library.whole_doc(library.retriever()))
    seen = []
    for e in a.ask("Summarise this document", where={"path": str(pdf)}, cancel=cancel):
        seen.append(e)
        if isinstance(e, ProgressEvent) and e.done == 1:  # part 2 is being read (and blocks)
            cancel.set()
    done = seen[-1]
    assert isinstance(done, DoneEvent) and done.answer.finish_reason == "cancelled"
    assert not any(isinstance(e, TokenEvent) for e in seen)
    assert not any("Part 3 of" in p for p in llm.prompts)  # nothing after the stop was read
    a.close()


def test_a_plain_question_in_a_scoped_chat_still_uses_retrieval(library, two_docs):
    from app.engine.answer import Answerer

    pdf, _ = two_docs
    llm = ScriptedLLM(n_ctx=2048)
    a = Answerer(library.retriever(), llm, whole_doc=library.whole_doc(library.retriever()))
    events = _run(a, "What is the repair budget of the ferry pier?", {"path": str(pdf)})
    assert not any(isinstance(e, ProgressEvent) for e in events)
    assert len(llm.prompts) == 1 and "Write short notes" not in llm.prompts[0]
