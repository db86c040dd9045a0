"""Chroma vector store: one collection per embedder + chunking recipe.

Vectors are always passed in (embedding_function=None): Chroma's default
embedding function downloads a model, which Docent never does. Telemetry is
switched off in the client settings and, via app.offline, in the env.

A chunk's text is kept in its metadata ("text"), not as a Chroma document:
Chroma builds a trigram full-text index over documents that Docent never
queries (its keyword search is its own FTS5 index), and that index was 55% of
the upsert's cost (5.4 s vs 2.6 s for 5,206 SEC chunks). The upsert also holds
the GIL throughout, stalling the encoder threads, so its cost counts twice.
Collections written before this keep their documents and read the same.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ingest.document import PageSpan, spans_from_json, spans_to_json
from ingest.passage import Passage

if TYPE_CHECKING:
    import numpy as np

# Rows per Chroma get()/delete(): its SQLite backend binds one variable per row
# and fails past ~32k ("too many SQL variables"), so no call may cover a library.
PAGE = 5000
# Rows per ids-only get(): no per-row variables, but still under that limit; each
# get() skips `offset` rows first, so bigger pages keep a 100k walk ~1 s, not ~4.
ID_PAGE = 25_000
# Rows per upsert/update/delete. Chroma's Rust bindings (1.5.x) hold the GIL for a
# whole write, ~12 ms + ~0.6 ms per row at 10k rows here: a 512-row upsert froze
# every other thread of its process for 100-300 ms. The core's store runs in a
# process of its own (ingest/store_process.py), where that would still hold up a
# search behind an upsert; 32 rows keep a hold near 30 ms (for ~1 ms a row, not
# ~0.4 ms in 512-row calls: bench_index reports what that costs end to end).
WRITE_ROWS = 32

# chromadb keeps each client's System in a process-wide registry
# (SharedSystemClient) that two threads creating a client for one path at once
# corrupt (KeyError: '<path>'): every Chroma client here is made under this lock.
CLIENT_LOCK = threading.RLock()

# Bump when chunk text or ids change shape, so old vectors are never mixed in.
# 2: document label on every chunk; 3: page spans + body in metadata; 4: PDF section headings
CHUNKER_VERSION = 6  # 5: tables read as tables (ingest.tables); 6: PDF headers: stacked lines over "$"
# columns, a units line under the headers


def chunk_id(file_id: str, index: int) -> str:
    return f"{file_id}:{index:05d}"


def file_of(chunk_id: str) -> str:
    """The file_id part of a chunk_id() (file ids are hex digests: no ':')."""
    return chunk_id.rpartition(":")[0] or chunk_id


def collection_name(embedder_fingerprint: str, chunk_tokens: int, overlap: int) -> str:
    return f"docent-{embedder_fingerprint}-v{CHUNKER_VERSION}-{chunk_tokens}-{overlap}"


class ChromaStore:
    def __init__(self, path: Path, name: str, client: Any = None) -> None:
        """`client`: an already-connected Chroma client (e.g. HttpClient for a shared server)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        with CLIENT_LOCK:
            if client is None:
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(path),
                    settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
                )
            self.client = client
            self.name = name
            self.col = self.client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )

    def count(self) -> int:
        return int(self.col.count())

    def upsert(self, chunks: Sequence[Passage], vectors: "np.ndarray", file_sha: str) -> None:
        """Idempotent by id: re-running after a crash never duplicates."""
        step = self._write_batch()
        for i in range(0, len(chunks), step):
            part = chunks[i:i + step]
            self.col.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i:i + step],
                metadatas=[_meta(c, file_sha) for c in part],
            )

    def delete_file(self, file_id: str) -> int:
        ids = self.ids_for_file(file_id)
        self.delete_ids(ids)
        return len(ids)

    def delete_ids(self, ids: Sequence[str]) -> None:
        for part in _batches(ids, self._write_batch()):
            self.col.delete(ids=part)

    def ids_for_file(self, file_id: str) -> list[str]:
        return [i for page in self._id_pages(where={"file_id": file_id}) for i in page]

    def all_ids(self) -> list[str]:
        return [i for page in self._id_pages() for i in page]

    def file_ids(self) -> dict[str, int]:
        """file_id -> number of chunks, for consistency checks. From the ids alone
        (`<file_id>:<index>`, see chunk_id): paging metadata would move every chunk's text."""
        out: dict[str, int] = {}
        for page in self._id_pages():
            for cid in page:
                fid = file_of(cid)
                out[fid] = out.get(fid, 0) + 1
        return out

    def rename_file(self, file_id: str, new_path: str) -> None:
        for part in _batches(self.ids_for_file(file_id), self._write_batch()):
            self.col.update(ids=part, metadatas=[{"path": new_path} for _ in part])

    def _id_pages(self, where: dict[str, Any] | None = None) -> Iterator[list[str]]:
        """Ids a page at a time: one get() of more rows than SQLite's variable limit
        (~32k) fails inside Chroma ("too many SQL variables")."""
        offset = 0
        while True:
            ids = list(self.col.get(where=where, limit=ID_PAGE, offset=offset, include=[])["ids"])
            if ids:
                yield ids
            if len(ids) < ID_PAGE:
                return
            offset += ID_PAGE

    def _write_batch(self) -> int:
        return max(1, min(WRITE_ROWS, int(self.client.get_max_batch_size())))

    def query(self, vector: "np.ndarray", k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        """The k nearest chunks, scored by cosine similarity (1 = identical)."""
        n = self.count()
        if n == 0:
            return []
        res = self.col.query(query_embeddings=[vector], n_results=min(k, n), where=where,
                             include=["documents", "metadatas", "distances"])
        hits = []
        for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                        res["distances"][0], strict=True):
            hits.append(_chunk(cid, doc, meta, 1.0 - float(dist)))
        return hits

    def query_ids(self, vector: "np.ndarray", k: int, where: dict[str, Any] | None = None,
                  ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine) only: callers hydrate from SQLite, which is cheaper than Chroma."""
        n = self.count()
        if n == 0 or k <= 0:
            return []
        hits: list[tuple[str, float]] = []
        for part in [None] if ids is None else _batches(ids, PAGE):  # exact top-k across id batches
            res = self.col.query(query_embeddings=[vector], n_results=min(k, n), where=where, ids=part,
                                 include=["distances"])
            hits += [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]
        return sorted(hits, key=lambda h: -h[1])[:k]

    def score_ids(self, vector: "np.ndarray", ids: list[str], k: int) -> list[tuple[str, float]]:
        """Exact cosine over a few known ids, in numpy: at 100k chunks Chroma's own
        id- or metadata-restricted query costs ~100-150 ms; fetching a few hundred
        vectors by id and one matrix product costs a few."""
        import numpy as np

        if not ids or k <= 0:
            return []
        got: list[str] = []
        parts = []
        for part in _batches(ids, PAGE):
            res = self.col.get(ids=part, include=["embeddings"])
            got += res["ids"]
            parts.append(np.asarray(res["embeddings"], dtype=np.float32).reshape(len(res["ids"]), -1))
        if not got:
            return []
        sims = np.concatenate(parts) @ np.asarray(vector, dtype=np.float32)  # stored vectors are normalised
        top = np.argsort(-sims)[:k]
        return [(got[i], float(sims[i])) for i in top]

    def get_chunks(self, ids: list[str]) -> list[Passage]:
        return [c for part in _batches(ids, PAGE)
                for c in _chunks(self.col.get(ids=part, include=["documents", "metadatas"]))]

    def all_chunks(self) -> list[Passage]:
        """Every chunk, read a page at a time (tests and small tools; the app never needs it)."""
        out: list[Passage] = []
        while page := self.chunks_page(len(out), PAGE):
            out += page
            if len(page) < PAGE:
                break
        return out

    def chunks_page(self, offset: int, limit: int) -> list[Passage]:
        return _chunks(self.col.get(offset=offset, limit=limit, include=["documents", "metadatas"]))


def _meta(c: Passage, file_sha: str) -> dict[str, Any]:
    import hashlib

    m: dict[str, Any] = {
        "file_id": c.file_id,
        "path": c.path,
        "chunk_index": c.chunk_index,
        "heading": c.heading,
        "file_sha256": file_sha,
        "content_hash": hashlib.sha256(c.text.encode("utf-8")).hexdigest()[:16],
        "text": c.text,
    }
    # Chroma metadata values can't be None: leave page keys out for unpaged formats.
    if c.page_start is not None:
        m["page_start"] = c.page_start
        m["page_end"] = c.page_end if c.page_end is not None else c.page_start
    # Locations: spans as compact JSON; the body as an offset into text when it is a suffix.
    if c.spans:
        m["spans"] = spans_to_json(c.spans)
    if c.body:
        if c.text.endswith(c.body):
            m["body_start"] = len(c.text) - len(c.body)
        else:
            m["body"] = c.body
    return m


def _locations(text: str, meta: dict[str, Any]) -> tuple[tuple[PageSpan, ...], str]:
    """(spans, body) from metadata written by _meta; empty for older collections."""
    start, body = meta.get("body_start"), meta.get("body")
    if isinstance(body, str):
        return spans_from_json(meta.get("spans")), body
    return spans_from_json(meta.get("spans")), text[int(start):] if isinstance(start, int) else ""


def _chunks(res: Any) -> list[Passage]:
    """Passages from a Chroma get() with documents and metadatas."""
    return [_chunk(cid, doc, meta) for cid, doc, meta in
            zip(res["ids"], res["documents"] or [], res["metadatas"] or [], strict=False)]


def _chunk(cid: str, doc: str | None, meta: dict[str, Any], score: float = 0.0) -> Passage:
    text = meta.get("text")
    text = text if isinstance(text, str) else doc or ""  # older collections: the document
    spans, body = _locations(text, meta)
    return Passage(cid, str(meta["path"]), meta.get("page_start"), meta.get("page_end"), text, score,
                   str(meta.get("heading", "")), spans, body)


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])
