"""Hybrid retrieval: dense (Chroma) + keyword (FTS5 BM25), fused by reciprocal rank.

RRF needs no score calibration between cosine and BM25, which is why it is the
default: the two score scales move independently per query and per corpus.
Both candidate lists come back as ids only; text and metadata are hydrated
from the SQLite keyword tables (two primary-key lookups per chunk), then
adjacent chunks of one file are merged into one source.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

from app.engine.doc_rank import NO_FOCUS, DocFocus, DocRanker, FocusKind
from app.engine.scope import files_in
from app.engine.selection import trim_passages
from ingest.document import PAGE_SEPARATOR, PageSpan
from ingest.passage import Found, Passage, after_heading
from ingest.store import PAGE

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from ingest.embedder import Embedder
    from ingest.keyword import KeywordIndex
    from ingest.store import ChromaStore

MODES = ("hybrid", "dense", "keyword")
Ranked = list[tuple[str, float]]  # (chunk id, score), best first


class Reranker(Protocol):
    def scores(self, query: str, texts: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class FusionConfig:
    fusion: str = "convex"  # convex | rrf: convex won on SciFact (0.737 vs 0.725) and keeps score gaps
    rrf_k: int = 60  # the constant from Cormack et al. 2009; not tuned per corpus
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    candidates: int = 50  # per list, before fusion
    numpy_scope_chunks: int = 2000  # scopes this small: fetch their vectors, score in numpy
    exact_scope_chunks: int = 5000  # scopes this small: Chroma search restricted to their ids
    overfetch_cap: int = 2000  # larger scopes: unfiltered over-fetch up to this, then filter
    max_chunks_per_source: int = 4
    merge_min_relative: float = 0.5  # a neighbour joins a source only if it scores this share of it
    # What a reranker re-orders. On sec-10-q an evidence page is among the first 30 fused
    # chunks for 0.84 of questions, among the first 50 for 0.98 (bench_sec_retrieval reach).
    rerank_candidates: int = 50
    documents: bool = True  # retrieve from the documents a question names (app.engine.doc_rank)
    trim: bool = True  # passages cut to the sentences and table rows the question matches


@dataclass
class Candidates:
    dense: Ranked = field(default_factory=list)
    keyword: Ranked = field(default_factory=list)


def rrf(lists: Sequence[tuple[Ranked, float]], k: int) -> Ranked:
    """Weighted reciprocal rank fusion, normalised so rank 1 in every list scores 1.0."""
    fused: dict[str, float] = {}
    for ranked, weight in lists:
        for rank, (cid, _score) in enumerate(ranked, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    top = sum(w for _, w in lists) / (k + 1) or 1.0
    return sorted(((cid, s / top) for cid, s in fused.items()), key=lambda x: -x[1])


def convex(lists: Sequence[tuple[Ranked, float, float | None]]) -> Ranked:
    """Weighted sum of scores scaled to [0, 1] per list: (s - floor) / (best - floor).
    `floor` is the score's theoretical minimum where it has a meaningful one (0 for BM25),
    so a weak keyword list isn't stretched to look strong (Bruch et al. 2023, TM2C2);
    None means the list's own minimum (dense cosines crowd into a narrow band)."""
    fused: dict[str, float] = {}
    total = sum(w for _, w, _ in lists) or 1.0
    for ranked, weight, floor in lists:
        if not ranked:
            continue
        lo = min(s for _, s in ranked) if floor is None else floor
        span = (ranked[0][1] - lo) or 1.0
        for cid, s in ranked:
            fused[cid] = fused.get(cid, 0.0) + weight * max(0.0, (s - lo) / span) / total
    return sorted(fused.items(), key=lambda x: -x[1])


class HybridRetriever:
    """The Retriever protocol (`search(query, k, where)`) over both indexes."""

    def __init__(self, embedder: "Embedder", store: "ChromaStore", keyword: "KeywordIndex",
                 mode: str = "hybrid", config: FusionConfig | None = None,
                 reranker: Reranker | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {mode!r}")
        self.embedder = embedder
        self.store = store
        self.keyword = keyword
        self.mode = mode
        self.config = config or FusionConfig()
        self.reranker = reranker
        self._executor: ThreadPoolExecutor | None = None
        self._doc_ranker: DocRanker | None = None

    # --- candidates ----------------------------------------------------------------
    def candidates(self, query: str, n: int, where: dict[str, Any] | None = None,
                   modes: Sequence[str] | None = None, keyword_query: str = "") -> Candidates:
        """Raw ranked lists from each index this mode uses (ids + native scores);
        `keyword_query`, when given, is what the keyword index matches instead of `query`."""
        modes = modes or ([self.mode] if self.mode != "hybrid" else ["dense", "keyword"])
        resolved = files_in(self.keyword, where)
        files = None if resolved is None else resolved.counts
        out = Candidates()
        keyword = None
        if "keyword" in modes or "hybrid" in modes:
            # FTS5 and the encoder + Chroma all release the GIL: run them side by side.
            keyword = self._pool().submit(self.keyword.search, keyword_query or query, n, resolved)
        if "dense" in modes or "hybrid" in modes:
            out.dense = self._dense(self.embedder.encode_query(query), n, files)
        if keyword is not None:
            out.keyword = [(h.chunk_id, h.score) for h in keyword.result()]
        return out

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(1, thread_name_prefix="docent-keyword")
        return self._executor

    def _dense(self, vec: Any, n: int, files: dict[str, int] | None) -> Ranked:
        if files is None:
            return self.store.query_ids(vec, n)
        in_scope = sum(files.values())
        if in_scope == 0:
            return []
        cfg = self.config
        if in_scope <= cfg.numpy_scope_chunks:
            return self.store.score_ids(vec, self.keyword.ids_for_files(files), n)
        if in_scope <= cfg.exact_scope_chunks:
            # Small scope: exact search over the scope's ids, no metadata filter (slow in Chroma).
            return self.store.query_ids(vec, n, ids=self.keyword.ids_for_files(files))
        total = max(1, self.keyword.count())
        fetch = min(total, cfg.overfetch_cap, math.ceil(n * total / in_scope * 2))
        hits = [h for h in self.store.query_ids(vec, fetch) if h[0].split(":", 1)[0] in files]
        if len(hits) >= n or fetch >= total:
            return hits[:n]
        # One $in variable per file: batched under Chroma's SQLite variable limit, top-n merged.
        fids = list(files)
        hits = [h for i in range(0, len(fids), PAGE)
                for h in self.store.query_ids(vec, n, where={"file_id": {"$in": fids[i:i + PAGE]}})]
        return sorted(hits, key=lambda h: -h[1])[:n]

    def fuse(self, c: Candidates, mode: str | None = None) -> Ranked:
        """mode: dense | keyword | hybrid (the configured fusion) | hybrid-rrf | hybrid-convex."""
        mode = mode or self.mode
        if mode == "dense":
            return list(c.dense)
        if mode == "keyword":
            top = c.keyword[0][1] if c.keyword and c.keyword[0][1] > 0 else 1.0
            return [(cid, s / top) for cid, s in c.keyword]
        cfg = self.config
        fusion = mode.split("-", 1)[1] if "-" in mode else cfg.fusion
        if fusion == "convex":
            return convex([(c.dense, cfg.dense_weight, None), (c.keyword, cfg.keyword_weight, 0.0)])
        return rrf([(c.dense, cfg.dense_weight), (c.keyword, cfg.keyword_weight)], cfg.rrf_k)

    def rank(self, query: str, n: int, where: dict[str, Any] | None = None,
             keyword_query: str = "") -> Ranked:
        """Fused chunk ranking (no hydration): what `docent eval` scores."""
        return self.fuse(self.candidates(query, max(n, self.config.candidates), where,
                                         keyword_query=keyword_query))[:n]

    # --- passages ------------------------------------------------------------------
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        """Up to k sources, best first; adjacent chunks of a file are merged into one.
        A question that names documents is answered from those (each of them, when it
        spans several); one that names nothing from the whole scope."""
        if k <= 0:
            return []
        focus = self.focus(query, where)
        passages: list[Passage] = []
        spare: list[Passage] = []
        if focus.kind is not FocusKind.NONE:
            passages, spare = self._passages(query, k, {"file_id": {"$in": list(focus.file_ids)}}, focus)
        if not passages:
            passages, spare = self._passages(query, k, where, NO_FOCUS)
        if not self.config.trim:
            return passages
        return refill(trim_passages(passages + spare, focus.query or query), passages)

    def focus(self, query: str, where: dict[str, Any] | None = None) -> DocFocus:
        """The documents `query` names, within the scope `where` (doc_rank.DocRanker).
        Hybrid mode only: "dense" and "keyword" are chosen to rank by one signal alone."""
        if not self.config.documents or self.mode != "hybrid":
            return NO_FOCUS
        if self._doc_ranker is None:
            self._doc_ranker = DocRanker(self.keyword)
        resolved = files_in(self.keyword, where)
        return self._doc_ranker.focus(query, None if resolved is None else set(resolved.counts))

    def _passages(self, query: str, k: int, where: dict[str, Any] | None,
                  focus: DocFocus) -> tuple[list[Passage], list[Passage]]:
        """The first k sources, and for a question spanning documents the next ones as
        spares (trimming may drop a source whose every matching sentence is shown)."""
        spread = focus.kind is FocusKind.SPAN
        if spread:  # room for one source per document (the budget still decides what fits)
            k = min(max(k, len(focus.file_ids)), 2 * k)
        reread = self.config.rerank_candidates if self.reranker is not None else 0  # it reads each one
        ranked = self.rank(focus.query or query, max(k * 3, self.config.candidates, reread), where,
                           focus.keyword_query)
        if spread:
            ranked = spread_by_document(ranked, focus.file_ids)
        shown = max(k * (6 if spread else 3), reread)  # spanning: spares too
        chunks = self.hydrate([cid for cid, _ in ranked[:shown]])
        if self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked, chunks)
            if spread:
                ranked = spread_by_document(ranked, focus.file_ids)
        cfg = self.config
        hydrated = [(chunks[cid], s) for cid, s in ranked if cid in chunks]
        groups = group_adjacent(hydrated, k, cfg.max_chunks_per_source, cfg.merge_min_relative)
        used = {c.chunk_id for g in groups for c, _ in g}
        spare = group_adjacent([(c, s) for c, s in hydrated if c.chunk_id not in used], 2 * k,
                               cfg.max_chunks_per_source, cfg.merge_min_relative) if spread else []
        located = self._located(groups + spare)
        found = {"dense": Found.DENSE, "keyword": Found.KEYWORD}.get(self.mode, Found.HYBRID)
        return ([passage_of(g, found) for g in located[:len(groups)]],
                [passage_of(g, found) for g in located[len(groups):]])

    def _located(self, groups: list[list[tuple[Passage, float]]]) -> list[list[tuple[Passage, float]]]:
        """Chunks hydrated without their page spans (the keyword tables may not keep them)
        get them from Chroma's metadata: one get() for the few chunks that are shown."""
        missing = [c.chunk_id for g in groups for c, _ in g if not c.spans]
        if not missing:
            return groups
        located = {c.chunk_id: c for c in self.store.get_chunks(missing)}
        return [[(located.get(c.chunk_id, c), s) for c, s in g] for g in groups]

    def hydrate(self, ids: list[str]) -> dict[str, Passage]:
        found = self.keyword.chunks(ids)
        missing = [i for i in ids if i not in found]
        if missing:  # e.g. a shared server holding chunks this machine's keyword index lacks
            found.update({c.chunk_id: c for c in self.store.get_chunks(missing)})
        return found

    def _rerank(self, query: str, ranked: Ranked, chunks: dict[str, Passage]) -> Ranked:
        head = [cid for cid, _ in ranked[: self.config.rerank_candidates] if cid in chunks]
        assert self.reranker is not None
        scores = self.reranker.scores(query, [chunks[cid].text for cid in head])
        return sorted(zip(head, scores, strict=True), key=lambda x: -x[1])


def refill(trimmed: Sequence[Passage], first: Sequence[Passage]) -> list[Passage]:
    """`trimmed`: the first sources then the spares, as trimming left them. The first
    sources it kept stay; one it dropped (all it matched is shown above, e.g. the same
    boilerplate in every filing) gives its place and rank to the next spare of its
    document, so each document keeps a source. Only a question spanning documents has
    spares (`_passages`): elsewhere a dropped source is just gone, because a spare ranks
    below every first source and one more passage is more for a small model to read
    past (on sec-10-q: a 168-token table ahead of the sentence that answered)."""
    by_id = {p.chunk_id: p for p in trimmed}
    ids = {p.chunk_id for p in first}
    spares = [p for p in trimmed if p.chunk_id not in ids]
    out: list[Passage] = []
    for p in first:
        if p.chunk_id in by_id:
            out.append(by_id[p.chunk_id])
            continue
        spare = next((s for s in spares if s.path == p.path), None)
        if spare is not None:
            spares.remove(spare)
            out.append(replace(spare, score=p.score))  # now its document's best source
    return out


def spread_by_document(ranked: Ranked, file_ids: Sequence[str]) -> Ranked:
    """Scores relative to the best chunk of their own document, so each document's
    best chunk leads (in `file_ids` order), then each one's second, and so on."""
    best: dict[str, float] = {}
    for cid, s in ranked:
        best.setdefault(cid.split(":", 1)[0], s)
    order = {f: i for i, f in enumerate(file_ids)}
    rel = [(cid, s / best[f] if best[f] > 0 else 0.0)
           for cid, s in ranked for f in [cid.split(":", 1)[0]]]
    return sorted(rel, key=lambda x: (-x[1], order.get(x[0].split(":", 1)[0], len(order))))


def merge_adjacent(ranked: Sequence[tuple[Passage, float]], k: int,
                   max_chunks: int = 4, min_relative: float = 0.0) -> list[Passage]:
    """Group chunks (best first) into at most k sources; a chunk next to one already
    chosen (same file, index +-1) joins it instead of opening a new source, if it
    scores at least `min_relative` of that source (a weak neighbour is another passage)."""
    return [passage_of(g) for g in group_adjacent(ranked, k, max_chunks, min_relative)]


def group_adjacent(ranked: Sequence[tuple[Passage, float]], k: int, max_chunks: int = 4,
                   min_relative: float = 0.0) -> list[list[tuple[Passage, float]]]:
    """merge_adjacent's groups, before they become Passages. A group is always a run of
    consecutive chunk indices (each member joined next to another)."""
    groups: list[list[tuple[Passage, float]]] = []
    for chunk, score in ranked:
        home = next((g for g in groups if len(g) < max_chunks and g[0][0].file_id == chunk.file_id
                     and score >= min_relative * g[0][1]
                     and any(abs(c.chunk_index - chunk.chunk_index) == 1 for c, _ in g)), None)
        if home is not None:
            home.append((chunk, score))
        elif len(groups) < k:
            groups.append([(chunk, score)])
        else:
            break  # merging only among chunks ranked above the k-th source keeps tokens bounded
    return groups


def passage_of(group: list[tuple[Passage, float]], found: Found = Found.HYBRID) -> Passage:
    """One passage of a run of consecutive chunks (with their scores): the best score, the
    first chunk's id and heading, the texts joined without the chunker's overlap."""
    score = max(s for _, s in group)
    parts = sorted((c for c, _ in group), key=lambda c: c.chunk_index)
    text, body = parts[0].text, parts[0].page_text
    for c in parts[1:]:
        head = table_head(c.text, c.heading, c.page_text)  # a table part's caption and headers
        text = join_overlapping(text, c.page_text if not head or head in text else head + c.page_text)
        body = join_overlapping(body, c.page_text)
    starts = [c.page_start for c in parts if c.page_start is not None]
    ends = [c.page_end or c.page_start for c in parts if c.page_start is not None]
    first = parts[0]
    return Passage(first.chunk_id, first.path, min(starts) if starts else None,
                   max(e for e in ends if e is not None) if ends else None, text, score, first.heading,
                   merge_spans(s for c in parts for s in c.spans), body, found)


def merge_spans(spans: Iterable[PageSpan]) -> tuple[PageSpan, ...]:
    """Spans of consecutive chunks, in order, joined where they touch or overlap (the
    chunker's overlap repeats a tail). Where a section heading sits between two chunks
    (carried as their context, not in their bodies) the spans stay apart, so the page
    text they cover is the passage's own."""
    out: list[PageSpan] = []
    for s in spans:
        if out and out[-1].page == s.page and s.start <= out[-1].end + len(PAGE_SEPARATOR):
            out[-1] = PageSpan(s.page, min(out[-1].start, s.start), max(out[-1].end, s.end))
        else:
            out.append(s)
    return tuple(out)


def table_head(text: str, heading: str, body: str) -> str:
    """What a chunk's text holds between its heading line and its body: a table chunk's
    caption, units and header rows (ingest.chunker); "" for text."""
    rest = after_heading(text, heading)
    rest = text if rest is None else rest
    return rest[:-len(body)] if body and len(rest) > len(body) and rest.endswith(body) else ""


def join_overlapping(a: str, b: str, probe: int = 12) -> str:
    """a + b without the words the chunker repeated at the seam (its token overlap)."""
    head = b[:probe]
    # Leftmost position where a's tail is a prefix of b = the longest overlap.
    at = a.find(head[:12], max(0, len(a) - 4 * len(b))) if len(head) >= 12 else -1
    while at != -1:
        if b.startswith(a[at:]):
            return a + b[len(a) - at:]
        at = a.find(head[:12], at + 1)
    return a.rstrip() + "\n" + b.lstrip()
