"""Answers through the core: the stream's order, stop, regenerate, errors, and chats that
survive a restart. Each runs with the scripted model (tests/scripted_llm.py: fast, what is
tested is the core) and with SmolLM2 through llama.cpp (marked slow)."""
from __future__ import annotations

import sqlite3

from app.core.events import AnswerEvent, ModelEvent, ModelState
from app.engine.answer_marks import shown_text
from app.engine.events import DoneEvent, ErrorEvent, SourcesEvent, TokenEvent
from app.engine.search_service import SearchRequest
from tests.docs_factory import make_mixed_folder
from tests.ingest.sync_helpers import wait_until
from tests.scripted_llm import AnswerModel


def _stream(rec, job_id: int) -> list:  # type: ignore[no-untyped-def]
    return [e.event for e in rec.of(AnswerEvent) if e.job_id == job_id]


def _loaded(core, rec, model: AnswerModel) -> None:  # type: ignore[no-untyped-def]
    core.load_model(model.path)
    wait_until(lambda: any(isinstance(e, ModelEvent) and e.state in (ModelState.READY, ModelState.ERROR)
                           for e in rec.events), 120)
    states = [e.state for e in rec.of(ModelEvent)]
    assert ModelState.LOADING in states and states[-1] == ModelState.READY, rec.of(ModelEvent)
    assert core.model_state == ModelState.READY


def test_ask_stop_regenerate_and_chats_across_a_restart(make_core, tmp_path, answer_model):
    model = answer_model
    docs = tmp_path / "docs"
    make_mixed_folder(docs)
    core, rec = make_core([docs], max_answer_tokens=48, llm=model.llm)
    assert core.model_state == ModelState.NONE  # nothing selected yet: the host offers a model
    assert core.wait_idle(180)
    _loaded(core, rec, model)

    chat = core.chats.create()
    job = core.ask("What time does the Crumb bakery open?", chat_id=chat.id)
    answer = job.wait(300)
    assert answer is not None and answer.text.strip(), _stream(rec, job.id)
    stream = _stream(rec, job.id)
    assert isinstance(stream[0], SourcesEvent) and isinstance(stream[-1], DoneEvent)
    assert all(isinstance(e, TokenEvent) for e in stream[1:-1]) and len(stream) > 2
    assert any(p.path.endswith("bakery.html") for p in stream[0].passages)

    # stop on the first token, then ask again in the same chat
    stop_jobs: list = []

    def stop_at_first_token(e) -> None:  # type: ignore[no-untyped-def]
        if isinstance(e, AnswerEvent) and isinstance(e.event, TokenEvent) and stop_jobs \
                and e.job_id == stop_jobs[0].id:
            stop_jobs[0].cancel()

    unsubscribe = core.subscribe(stop_at_first_token)
    model.hold_next()
    stop_jobs.append(core.ask("Describe the lighthouse keeper's October log in detail.", chat_id=chat.id))
    stopped = stop_jobs[0].wait(300)
    unsubscribe()
    assert stopped is not None and stopped.finish_reason == "cancelled"
    again = core.ask("How far apart are the tomatoes planted?", chat_id=chat.id)
    assert again.wait(300) is not None and isinstance(_stream(rec, again.id)[-1], DoneEvent)
    turns = core.chats.get(chat.id).turns
    assert [t.stopped for t in turns] == [False, True, False]
    assert len(core.chats.history(chat.id)) == 2  # the stopped answer is not fed back

    regen = core.regenerate(chat.id)
    assert regen.wait(300) is not None
    turns = core.chats.get(chat.id).turns
    assert len(turns) == 3 and turns[-1].question == "How far apart are the tomatoes planted?"
    assert turns[-1].answer == shown_text(regen.answer) and turns[0].sources  # as the window shows it

    # an injected SQLite failure in retrieval: an error event, and the next question is served
    retriever = core._answers._answerer.retriever
    real = retriever.search
    retriever.search = lambda *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error"))
    failed = core.ask("Anything?", chat_id=chat.id)
    assert failed.wait(120) is None and "disk I/O error" in failed.error
    assert isinstance(_stream(rec, failed.id)[-1], ErrorEvent)
    retriever.search = real
    ok = core.ask("When does the bakery open?")
    assert ok.wait(300) is not None
    assert len(core.chats.get(chat.id).turns) == 3  # the failed one saved nothing

    core.close()
    core2, rec2 = make_core(model_path=model.path, max_answer_tokens=32, llm=model.llm)
    reopened = core2.chats.get(chat.id)
    assert [t.question for t in reopened.turns] == [t.question for t in turns]
    assert reopened.turns[0].sources and reopened.turns[1].stopped
    follow = core2.ask("And on weekends?", chat_id=chat.id)
    assert follow.wait(300) is not None
    assert len(core2.chats.get(chat.id).turns) == 4


def test_no_model_is_an_error_event_not_an_exception(make_core, tmp_path):
    core, rec = make_core([])
    job = core.ask("Anything?")
    assert job.wait(60) is None and "docent model download" in job.error
    assert isinstance(_stream(rec, job.id)[-1], ErrorEvent)
    assert core.model_state == ModelState.NONE
    missing = core.ask("x", chat_id=12345)
    assert missing.wait(5) is None and "12345" in missing.error


def test_settings_changed_in_the_window_apply_to_the_next_question(make_core, tmp_path, answer_model):
    """The Settings window saves through core.update_settings; nothing there says "after a
    restart" for these, so the next answer must use them (they were read once, at load)."""
    model = answer_model
    docs = tmp_path / "docs"
    make_mixed_folder(docs)
    core, rec = make_core([docs], max_answer_tokens=48, llm=model.llm)
    assert core.wait_idle(180)
    _loaded(core, rec, model)
    loads = lambda: sum(e.state == ModelState.LOADING for e in rec.of(ModelEvent))  # noqa: E731
    first = core.ask("Describe the lighthouse keeper's October log in detail.").wait(300)
    assert first is not None and first.completion_tokens > 16
    assert core.search(SearchRequest("lighthouse keeper", 3)).mode == "hybrid"

    core.update_settings(max_answer_tokens=16, retrieval_mode="keyword", context_tokens=200)
    short = core.ask("Describe the lighthouse keeper's October log in detail.").wait(300)
    assert short is not None and 0 < short.completion_tokens <= 16
    answerer = core._answers._answerer
    assert answerer.retriever.mode == "keyword" and answerer.budget.tokens == 200
    assert core.search(SearchRequest("lighthouse keeper", 3)).mode == "keyword"  # `docent search` too
    assert loads() == 1  # none of these needs the model loaded again

    core.update_settings(reranker_path=str(tmp_path / "no-such-reranker"))
    failed = core.ask("What time does the Crumb bakery open?")
    assert failed.wait(120) is None and "The reranker at" in failed.error and "no-such-reranker" in failed.error
    core.update_settings(reranker_path="")
    assert core.ask("What time does the Crumb bakery open?").wait(300) is not None

    core.update_settings(n_ctx=1024)  # the model itself depends on it: loaded again, once
    assert core.ask("What time does the Crumb bakery open?").wait(300) is not None
    assert loads() == 2 and core._answers._answerer.llm.n_ctx == 1024
