"""Search as the index's owner runs it: the request, the ranked rows, the reply.

The owner answers other processes' searches through its local service
(app/core/service.py); `docent search` runs `search_here` itself when no owner runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from app.engine.retrieval import snippet

if TYPE_CHECKING:
    from app.engine.library import Library
    from ingest.passage import Passage


@dataclass(frozen=True)
class SearchRequest:
    query: str
    k: int = 10
    mode: str | None = None
    where: dict[str, Any] | None = None


@dataclass(frozen=True)
class SearchRow:
    rank: int
    file: str
    name: str
    page_start: int | None
    page_end: int | None
    pages: str
    score: float
    snippet: str
    chunk_id: str


@dataclass
class SearchReply:
    query: str
    mode: str
    seconds: float
    results: list[SearchRow] = field(default_factory=list)
    served_by: int | None = None  # pid of the process that searched, when not this one

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SearchReply":
        return cls(**{**data, "results": [SearchRow(**r) for r in data["results"]]})


def rows(passages: Sequence["Passage"]) -> list[SearchRow]:
    return [SearchRow(i, p.path, p.name, p.page_start, p.page_end, p.pages_label, round(p.score, 4),
                      snippet(p.page_text), p.chunk_id) for i, p in enumerate(passages, start=1)]


class RetrieverCache:
    """A library's retrievers by mode, for a host that searches many times. They are built
    again when what they are built from changes (Library.retrieval_key: a re-embed's new
    collection, the retrieval mode, the reranker)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] = ()
        self._by_mode: dict[str | None, Any] = {}

    def get(self, lib: "Library", mode: str | None) -> Any:
        if self._key != lib.retrieval_key:
            self._by_mode.clear()
            self._key = lib.retrieval_key
        if mode not in self._by_mode:
            self._by_mode[mode] = lib.retriever(mode)
        return self._by_mode[mode]


def search_here(lib: "Library", req: SearchRequest, retrievers: RetrieverCache | None = None) -> SearchReply:
    retriever = (retrievers if retrievers is not None else RetrieverCache()).get(lib, req.mode)
    t0 = time.perf_counter()
    passages = retriever.search(req.query, max(1, req.k), req.where)
    return SearchReply(req.query, retriever.mode, round(time.perf_counter() - t0, 4), rows(passages))

