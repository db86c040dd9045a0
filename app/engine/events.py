"""What the engine tells its consumers (CLI, GUI) while it answers."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.attribution import SentenceAttribution
from app.engine.computation import Computation
from app.engine.figures import FigureCheck
from app.engine.grounding import Grounding, GroundingCheck
from app.engine.prompt import NumberedSource, Turn
from ingest.passage import Passage


@dataclass
class Answer:
    question: str
    text: str
    # The sources the answer draws on (cited=True): the model's [n] markers, then the ones
    # Docent attributed sentences to (inferred=True), first use first.
    citations: list[NumberedSource] = field(default_factory=list)
    sources: list[NumberedSource] = field(default_factory=list)  # passages given for this answer
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = ""
    model: str = ""
    cached_tokens: int = 0  # prompt tokens served from the KV cache
    turn: Turn | None = None  # for the chat history
    attributions: list[SentenceAttribution] = field(default_factory=list)  # one per sentence of text
    figures: list[FigureCheck] = field(default_factory=list)  # every key figure in text, checked
    grounding: GroundingCheck = field(default_factory=lambda: GroundingCheck(Grounding.UNCHECKED))
    computation: Computation | None = None  # a computed answer's inputs, formula and result

    @property
    def unverified_figures(self) -> list[FigureCheck]:
        return [f for f in self.figures if f.unverified]


@dataclass(frozen=True)
class SourcesEvent:
    passages: list[Passage]
    prompt_tokens: int
    numbers: tuple[int, ...] = ()  # each passage's source number in the chat ([n]), in order


@dataclass(frozen=True)
class ProgressEvent:
    """A long answer's steps before its tokens (a whole document read part by part)."""
    done: int  # steps finished
    total: int  # steps known so far (it may grow: long notes are condensed again)
    what: str  # the step now running, for a status line: "Reading pp. 12-19 of report.pdf"


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class DoneEvent:
    answer: Answer


@dataclass(frozen=True)
class ErrorEvent:
    message: str


Event = SourcesEvent | ProgressEvent | TokenEvent | DoneEvent | ErrorEvent
