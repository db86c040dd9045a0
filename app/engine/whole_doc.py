"""Whole-document requests: "summarise this file", "list the risks in this document".

Such a question is about every passage of one file, not the few its words match, so
it is not answered from retrieval: app.engine.digest reads the whole file. This module
decides when a question is one (`WholeDocRequests.target`) and reads the file's text
in order, as numbered-source-sized passages with their pages and highlight spans.

A question is a whole-document request when it asks for a task over a document
(summarise, overview, key points, list all / the ...) and one file is meant: the chat is
scoped to exactly one file, or the question says "this document / the report / the
whole file" and either the scope holds one file or it names one document (doc_rank).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from app.engine.doc_rank import DocFocus, FocusKind
from app.engine.hybrid import passage_of
from app.engine.scope import files_in
from ingest.passage import Found, Passage, after_heading

if TYPE_CHECKING:
    from ingest.keyword import KeywordIndex
    from ingest.store import ChromaStore

_TASK = re.compile(
    r"\b(?:summar(?:y|ies|i[sz]e[sd]?|i[sz]ing)|overview|outline|tl;?dr|gist|recap|digest"
    r"|(?:key|main|important|major) (?:points|ideas|takeaways|findings|themes|topics|terms|"
    r"arguments|risks|facts|conclusions|obligations|dates|events)"
    r"|list (?:all|every|each|the)\b"
    r"|what (?:is|does) (?:this|the|that) (?:\w+ )?(?:about|cover|say))\b", re.I)
_WHOLE = re.compile(
    r"\b(?:this|the|that|whole|entire|full|complete) (?:[\w'-]+ ){0,3}(?:document|file|paper|report|filing|"
    r"contract|agreement|article|pdf|book|chapter|memo|letter|transcript|policy|manual|thesis|"
    r"presentation|deck|statement|minutes|study)\b", re.I)

CHUNKS_PER_SOURCE = 2  # a numbered source is ~ a page: citations point close to the words


@dataclass(frozen=True)
class DocumentTarget:
    file_id: str
    path: str
    why: str  # "scope" | "named" | "only file": for the log


def asks_for_task(question: str) -> bool:
    return bool(_TASK.search(question))


def says_whole_document(question: str) -> bool:
    return bool(_WHOLE.search(question))


class WholeDocRequests:
    """Resolves a question to the one file it asks a whole-document task of, and reads
    that file's passages in order. `focus`: HybridRetriever.focus (the documents a
    question names)."""

    def __init__(self, keyword: "KeywordIndex", store: "ChromaStore",
                 focus: Callable[[str, dict[str, Any] | None], DocFocus] | None = None) -> None:
        self.keyword = keyword
        self.store = store
        self.focus = focus

    def target(self, question: str, where: dict[str, Any] | None) -> DocumentTarget | None:
        if not asks_for_task(question):
            return None
        scope = files_in(self.keyword, where)
        files = set(self.keyword.file_ids()) if scope is None else set(scope.counts)
        if len(files) == 1 and (scope is not None or says_whole_document(question)):
            return self._target(next(iter(files)), "scope" if scope is not None else "only file")
        if not says_whole_document(question) or self.focus is None:
            return None
        focus = self.focus(question, where)
        if focus.kind is FocusKind.NAMED and len(focus.file_ids) == 1:
            return self._target(focus.file_ids[0], "named")
        return None

    def _target(self, file_id: str, why: str) -> DocumentTarget | None:
        path = self.keyword.path_of(file_id)
        return DocumentTarget(file_id, path, why) if path is not None else None

    def passages(self, file_id: str, per_source: int = CHUNKS_PER_SOURCE) -> list[Passage]:
        """The file's text in order, `per_source` consecutive chunks a passage (the
        chunker's overlap joined once), with pages and highlight spans."""
        chunks = self.keyword.file_chunks(file_id)
        located = {c.chunk_id: c for c in self.store.get_chunks([c.chunk_id for c in chunks])}
        chunks = [located.get(c.chunk_id, c) for c in chunks]
        out = []
        for i in range(0, len(chunks), per_source):
            # read, not ranked: no score
            p = passage_of([(c, 0.0) for c in chunks[i:i + per_source]], Found.WHOLE_DOCUMENT)
            # The model reads the document's name once per part, not on every source.
            out.append(replace(p, text=after_heading(p.text, p.heading) or p.page_text))
        return out
