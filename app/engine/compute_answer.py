"""A question that asks for arithmetic, answered by Docent's arithmetic.

The model reads the same sources as for any answer, but writes only its plan (the
inputs with their markers and a formula; app.engine.compute_plan), constrained by a
grammar; Docent looks every input up in its source, evaluates the formula and writes
the answer with its working (app.engine.computation). The plan is a few dozen tokens,
so a computed answer costs about what a quoted one does.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Iterator, Sequence

from app.engine.backend import GenerationStats
from app.engine.computation import compute
from app.engine.compute_plan import grammar, instruction, parse_plan
from app.engine.compute_request import ComputeRequest
from app.engine.events import DoneEvent, ErrorEvent, Event, ProgressEvent, SourcesEvent, TokenEvent
from app.engine.loops import LoopDetector
from app.engine.prompt import Turn
from app.errors import compute_progress
from ingest.passage import Passage

if TYPE_CHECKING:
    from app.engine.answer import Answerer, StopFlag

log = logging.getLogger(__name__)

PLAN_TOKENS = 400  # eight inputs with 60-character labels and a formula


def answer_by_computing(answerer: "Answerer", question: str, passages: Sequence[Passage], history: list[Turn],
                        request: ComputeRequest, stop: "StopFlag", started: float) -> Iterator[Event]:
    prompt = answerer.owner.call(lambda: answerer.build_prompt(question, passages, history,
                                                                               instruction(request.wanted)))
    yield SourcesEvent([s.passage for s in prompt.sources], prompt.prepared.n_tokens,
                       tuple(s.number for s in prompt.sources))
    yield ProgressEvent(0, 1, compute_progress())
    stats = GenerationStats()
    pieces: list[str] = []
    try:
        for piece in answerer.generate(prompt.prepared, PLAN_TOKENS, stop, stats, LoopDetector(),
                                       grammar=grammar(question, request.wanted), temperature=0.0):
            pieces.append(piece)
    except Exception as e:  # llama.cpp / HTTP failures reach the user, never kill the app
        log.exception("generation of a computation's plan failed")
        yield ErrorEvent(f"The model failed while answering: {e}")
        return
    if stop.is_set():
        stats.finish_reason = "cancelled"
        prompt.turn.answer = ""
        yield DoneEvent(answerer.checked_answer(prompt, stats, time.perf_counter() - started, passages))
        return
    plan = parse_plan("".join(pieces))
    computation = compute(plan, prompt.visible, request, question)
    log.info("computed answer: %s (%d inputs, formula %r)", computation.status.value, len(plan.inputs),
             plan.formula)
    prompt.turn.answer = computation.text
    yield TokenEvent(computation.text)
    yield DoneEvent(answerer.checked_answer(prompt, stats, time.perf_counter() - started, passages, computation))
