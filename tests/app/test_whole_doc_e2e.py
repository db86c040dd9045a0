"""'Summarise this document' with the real SmolLM2: every part read, progress, Stop, page citations."""
from __future__ import annotations

import threading
import time

import pytest

from app.engine.events import DoneEvent, ErrorEvent, ProgressEvent, SourcesEvent, TokenEvent
from tests.docs_factory import make_pdf

pytestmark = pytest.mark.slow

TOPICS = ["lighthouse keepers", "ferry timetables", "tidal gauges", "harbour dredging", "fish markets",
          "pier repairs", "storm warnings", "rope making", "boat licences", "quay lighting"]
PAGES = [f"Chapter {i}: {t}. The harbour board spent {i * 7} thousand pounds on {t} this year, "
         f"and the {t} committee met {i + 2} times. " * 9 for i, t in enumerate(TOPICS * 2, 1)]


@pytest.fixture
def report(library, tmp_path):  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = make_pdf(docs / "harbour board 2026.pdf", PAGES)
    (docs / "other.txt").write_text("Unrelated: the choir rehearses on Tuesdays.\n")
    assert library.indexer.index_paths([docs]).failures == []
    return pdf


@pytest.fixture
def answerer(library, smollm_path):  # type: ignore[no-untyped-def]
    library.settings.update(n_ctx=4096, max_answer_tokens=96)
    a = library.answerer(str(smollm_path))
    a.temperature = 0.0
    a.load()
    yield a
    a.close()


def test_summarise_this_document_reads_every_part_and_cites_pages(answerer, report):
    events = list(answerer.ask("Summarise this document", where={"path": str(report)}))
    assert not any(isinstance(e, ErrorEvent) for e in events), events
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert len(progress) >= 3, progress  # 20 pages do not fit one part: two or more, then the answer
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[0].what.startswith("Reading p. 1") or progress[0].what.startswith("Reading pp. 1-")
    kinds = [type(e) for e in events]
    assert kinds.index(SourcesEvent) < kinds.index(TokenEvent) < kinds.index(DoneEvent)
    answer = events[-1].answer
    assert answer.text.strip()
    # Every citation is a passage of this file with its page; written or inferred, there is one.
    assert answer.citations, (answer.text, answer.attributions)
    assert all(c.passage.path == str(report) and 1 <= c.passage.page_start <= len(PAGES) for c in answer.citations)
    assert answer.sources and all(s.passage.path == str(report) for s in answer.sources)
    assert answer.prompt_tokens > sum(len(p.split()) for p in PAGES) // 2  # the whole file was read


def test_stop_while_reading_a_document_then_ask_again(answerer, report):
    cancel = threading.Event()
    events, t_stop = [], None
    for e in answerer.ask("Summarise this document", where={"path": str(report)}, cancel=cancel):
        events.append(e)
        if isinstance(e, ProgressEvent) and e.done == 1 and not cancel.is_set():
            cancel.set()
            t_stop = time.perf_counter()
    assert t_stop is not None and isinstance(events[-1], DoneEvent)
    assert events[-1].answer.finish_reason == "cancelled"
    assert not any(isinstance(e, TokenEvent) for e in events)
    # The model is free again: an ordinary question in the same scope is answered from retrieval.
    again = list(answerer.ask("How much was spent on ferry timetables?", where={"path": str(report)}))
    assert not any(isinstance(e, ProgressEvent) for e in again)
    assert isinstance(again[-1], DoneEvent) and again[-1].answer.finish_reason in ("stop", "length", "repetition")
