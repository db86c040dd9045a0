"""The owner service's messages: typed dataclasses, JSON objects on the wire, never pickles.

Every message is one JSON object `{"type": NAME, ...fields}`. A request gets one
reply, or a stream of messages that ends with a final one (`is_final`). Decoding
rebuilds the dataclasses field by field from their type hints, so a message with
a missing, extra or wrongly typed field is a WireError, never a crash.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from app.engine.events import Answer, DoneEvent, ErrorEvent, ProgressEvent, SourcesEvent, TokenEvent
from app.engine.search_service import SearchReply, SearchRequest
from ingest.loaders.pdf_speedups import FastPaths
from ingest.passage import Passage
from ingest.pipeline import IndexReport, Progress

# In the endpoint file: a client never talks to an owner of another protocol.
# 3: one Passage type from store to screen (an answer cites NumberedSources).
PROTOCOL = 3
MAX_REQUEST_BYTES = 1 << 20  # what the owner reads from a client, before parsing
MAX_REPLY_BYTES = 64 << 20  # what a client reads (a status of a big library is a few MB)


class WireError(ValueError):
    """A message that is not valid JSON or not a known, well-formed message."""


class ErrorCode(str, enum.Enum):
    BAD_REQUEST = "bad_request"  # malformed or unknown message
    TOO_LARGE = "too_large"
    REFUSED = "refused"  # a user-level error (nothing indexed, no model...): the message says why
    FAILED = "failed"  # an unexpected error in the owner; it keeps serving
    BUSY = "busy"
    STOPPING = "stopping"


# --- requests ------------------------------------------------------------------
@dataclass(frozen=True)
class StatusRequest:
    pass


@dataclass(frozen=True)
class IndexRequest:
    paths: list[str]
    wait: bool = True  # stream per-file progress and the final report; else reply with the job id


@dataclass(frozen=True)
class ForgetRequest:
    paths: list[str]


@dataclass(frozen=True)
class AskRequest:
    question: str
    model: str | None = None  # an absolute GGUF path; None: the owner's model
    k: int | None = None
    folders: list[str] = field(default_factory=list)  # scope: absolute paths; both empty = all
    files: list[str] = field(default_factory=list)
    chat: int | None = None  # the owner's ChatStore chat this question continues (NewChatRequest)


@dataclass(frozen=True)
class WatchRequest:
    paths: list[str]  # folders to keep in sync, from now on


@dataclass(frozen=True)
class UnwatchRequest:
    paths: list[str]
    forget: bool = False  # also drop their documents from the index


@dataclass(frozen=True)
class NewChatRequest:
    title: str = "New chat"


@dataclass(frozen=True)
class CancelRequest:
    """Sent on the connection of a running ask: stop generating (closing the socket does too)."""


# --- replies ---------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorReply:
    code: ErrorCode
    message: str
    exit_code: int = 1


@dataclass(frozen=True)
class FileRow:
    path: str
    status: str
    chunks: int = 0
    pages: int | None = None
    error_kind: str | None = None
    error: str | None = None


def _fast_paths() -> FastPaths:
    from ingest.loaders import pdf_speedups

    return pdf_speedups.probe()  # what the parser workers of this install get (nothing patched)


@dataclass
class StatusReply:
    files: int
    indexed: int
    errors: int
    chunks: int
    records: list[FileRow] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # watched folders
    model: str = ""  # the model answers come from ("" when none is chosen)
    state: str = ""  # the owner's state (ready, indexing...); "" when answered in-process
    served_by: int | None = None
    pdf_fast_paths: FastPaths | None = None  # whether the pypdf drop-ins run here


    @classmethod
    def from_records(cls, records: list[Any], folders: list[str], model: str) -> "StatusReply":
        """From the manifest's FileRecords (what `docent status` shows in-process, too)."""
        from ingest.manifest import FileStatus

        indexed = [r for r in records if r.status == FileStatus.INDEXED]
        return cls(len(records), len(indexed), sum(r.status == FileStatus.ERROR for r in records),
                   sum(r.chunk_count for r in indexed),
                   [FileRow(r.path, r.status.value, r.chunk_count, r.page_count, r.error_kind, r.error)
                    for r in records], list(folders), model, pdf_fast_paths=_fast_paths())


@dataclass(frozen=True)
class JobAccepted:
    job_id: int
    served_by: int


@dataclass(frozen=True)
class IndexProgressMsg:
    progress: Progress


@dataclass(frozen=True)
class IndexDone:
    report: IndexReport


@dataclass(frozen=True)
class ForgetReply:
    removed: int


@dataclass(frozen=True)
class WatchReply:
    changed: list[str]  # the folders this request added (or removed)
    folders: list[str]  # every watched folder after it
    removed: int = 0  # files dropped from the index (unwatch --forget)


@dataclass(frozen=True)
class ChatReply:
    chat_id: int


@dataclass(frozen=True)
class Notice:
    """A warning for the user that is not an error (e.g. the model's context was reduced)."""

    text: str


@dataclass(frozen=True)
class SourcesMsg:
    passages: list[Passage]
    prompt_tokens: int


@dataclass(frozen=True)
class ProgressMsg:
    done: int
    total: int
    what: str


@dataclass(frozen=True)
class TokenMsg:
    text: str


@dataclass(frozen=True)
class AnswerDone:
    answer: Answer


@dataclass(frozen=True)
class AnswerError:
    message: str


_TYPES: dict[str, type] = {
    "search": SearchRequest, "status": StatusRequest, "index": IndexRequest, "forget": ForgetRequest,
    "ask": AskRequest, "cancel": CancelRequest, "watch": WatchRequest, "unwatch": UnwatchRequest,
    "new_chat": NewChatRequest, "watch_reply": WatchReply, "chat_reply": ChatReply,
    "error": ErrorReply, "search_reply": SearchReply, "status_reply": StatusReply, "job": JobAccepted,
    "index_progress": IndexProgressMsg, "index_done": IndexDone, "forget_reply": ForgetReply,
    "notice": Notice, "sources": SourcesMsg, "token": TokenMsg, "progress": ProgressMsg, "answer_done": AnswerDone,
    "answer_error": AnswerError,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}
REQUESTS = (SearchRequest, StatusRequest, IndexRequest, ForgetRequest, AskRequest, WatchRequest,
            UnwatchRequest, NewChatRequest)
_FINAL = (ErrorReply, SearchReply, StatusReply, JobAccepted, IndexDone, ForgetReply, AnswerDone,
          AnswerError, WatchReply, ChatReply)


def is_final(msg: object) -> bool:
    return isinstance(msg, _FINAL)


def encode(msg: object) -> bytes:
    name = _NAMES.get(type(msg))
    if name is None:
        raise WireError(f"not a message: {type(msg).__name__}")
    body = {f.name: _plain(getattr(msg, f.name)) for f in dataclasses.fields(msg)}  # type: ignore[arg-type]  # a message: a dataclass
    return json.dumps({"type": name, **body}, ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> object:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"not JSON ({e})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise WireError("not a JSON object with a type")
    cls = _TYPES.get(obj.pop("type"))
    if cls is None:
        raise WireError("unknown message type")
    try:
        return _build(cls, obj, cls.__name__)
    except (TypeError, NameError) as e:  # a field the hints or the constructor refused
        raise WireError(f"{cls.__name__}: {e}") from None


# --- engine events <-> messages (the answer stream) ------------------------------
def from_event(event: object) -> object:
    if isinstance(event, SourcesEvent):
        return SourcesMsg(list(event.passages), event.prompt_tokens)
    if isinstance(event, TokenEvent):
        return TokenMsg(event.text)
    if isinstance(event, ProgressEvent):
        return ProgressMsg(event.done, event.total, event.what)
    if isinstance(event, DoneEvent):
        return AnswerDone(event.answer)
    if isinstance(event, ErrorEvent):
        return AnswerError(event.message)
    return event  # Notice


def to_event(msg: object) -> object:
    if isinstance(msg, SourcesMsg):
        return SourcesEvent(msg.passages, msg.prompt_tokens)
    if isinstance(msg, TokenMsg):
        return TokenEvent(msg.text)
    if isinstance(msg, ProgressMsg):
        return ProgressEvent(msg.done, msg.total, msg.what)
    if isinstance(msg, AnswerDone):
        return DoneEvent(msg.answer)
    if isinstance(msg, AnswerError):
        return ErrorEvent(msg.message)
    return msg


# --- codec -------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # Path


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    import sys

    from ingest.document import PageSpan  # noqa: F401 - hints of a Passage name it

    return typing.get_type_hints(cls, {**vars(sys.modules[cls.__module__]), "PageSpan": PageSpan})


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise WireError(f"{where}: expected an object")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise WireError(f"{where}: missing {f.name}")
    return cls(**kwargs)


def _value(tp: Any, v: Any, where: str) -> Any:  # noqa: C901 - one branch per kind of type
    if tp is Any:
        return v
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        errors = []
        for a in (a for a in args if a is not type(None)):
            try:
                return _value(a, v, where)
            except WireError as e:
                errors.append(str(e))
        raise WireError(errors[0] if errors else f"{where}: unexpected null")
    if origin in (list, tuple):
        if not isinstance(v, list):
            raise WireError(f"{where}: expected a list")
        item = args[0] if args else Any
        out = [_value(item, x, f"{where}[]") for x in v]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(v, dict):
            raise WireError(f"{where}: expected an object")
        return v
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, v, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(v)
        except ValueError:
            raise WireError(f"{where}: {v!r} is not a {tp.__name__}") from None
    if tp is Decimal and isinstance(v, str):  # written by _plain as its exact string
        try:
            return Decimal(v)
        except ArithmeticError:
            raise WireError(f"{where}: {v!r} is not a number") from None
    if tp is float and isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if tp in (str, int, bool) and type(v) is tp:
        return v
    raise WireError(f"{where}: expected {getattr(tp, '__name__', tp)}")

