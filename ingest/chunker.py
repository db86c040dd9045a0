"""Token-aware chunking with the embedder's own tokenizer.

Why token-aware: the encoder silently truncates past its max length (256 word
pieces for MiniLM), so a chunk measured in characters can lose its tail
without anyone noticing. Every chunk here is measured by the same tokenizer
that embeds it and is guaranteed to fit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol, Sequence

from ingest.document import PAGE_SEPARATOR, Block, Document, PageSpan, block_page

_SENTENCE_END = re.compile(r"[.!?;:]\s|\n")


class Tokenizer(Protocol):
    """The subset of a Hugging Face fast tokenizer the chunker needs."""

    def __call__(self, texts: list[str], **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str  # what gets embedded and shown: heading context + passage
    page_start: int | None
    page_end: int | None
    heading: str
    token_count: int
    # Where the passage sits: one span per page its own text covers (overlap carried from
    # the previous page counts on that page), in the page texts of ingest.document.page_texts.
    spans: tuple[PageSpan, ...] = ()
    body: str = ""  # `text` without the label/heading line: what is on the page


@dataclass
class _Unit:
    text: str
    page: int | None
    tokens: int
    start: int = 0  # offset of `text` in its page's text
    span_page: int = 0  # `page`, with unpaged blocks on page 1


def _spans(units: Sequence[_Unit], lo: int = 0, hi: int | None = None) -> tuple[PageSpan, ...]:
    """Spans of body[lo:hi], where body = "\n".join(unit texts); one per run of a page."""
    out: list[PageSpan] = []
    pos = 0
    for u in units:
        a, b = max(lo, pos) - pos, min(len(u.text), (hi if hi is not None else pos + len(u.text)) - pos)
        pos += len(u.text) + 1
        if a >= b:
            continue
        if out and out[-1].page == u.span_page and out[-1].end <= u.start + a:
            out[-1] = PageSpan(u.span_page, out[-1].start, u.start + b)
        else:
            out.append(PageSpan(u.span_page, u.start + a, u.start + b))
    return tuple(out)


class Chunker:
    def __init__(self, tokenizer: Tokenizer, chunk_tokens: int = 200, overlap: int = 40,
                 encoder_max_tokens: int = 256, heading_max_tokens: int = 24) -> None:
        self.tok = tokenizer
        # [CLS] and [SEP] take two of the encoder's positions.
        self.max_tokens = max(16, min(chunk_tokens, encoder_max_tokens - 2))
        self.overlap = max(0, min(overlap, self.max_tokens // 2))
        self.heading_max = heading_max_tokens
        self._fast = _own_backend(tokenizer)
        # When tokens never cross whitespace, a chunk's count is exactly the sum of its
        # "\n"-joined parts' counts, and re-counting every chunk (a quarter of the
        # chunker's time) can be skipped.
        self._sums_exact = _splits_at_whitespace(tokenizer)

    # --- token helpers -------------------------------------------------------
    def _count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._fast is not None:
            # One at a time: encode_batch's thread pool only competes with the encoder's.
            return [len(self._fast.encode(t, add_special_tokens=False).ids) for t in texts]
        enc = self.tok(list(texts), add_special_tokens=False)
        return [len(ids) for ids in enc["input_ids"]]

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        if self._fast is not None:
            offsets: list[tuple[int, int]] = self._fast.encode(text, add_special_tokens=False).offsets
            return offsets
        enc = self.tok([text], add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"][0]]

    def _split_long(self, text: str, limit: int) -> list[str]:
        """Cut text into pieces of <= limit tokens, preferring sentence ends."""
        return [text[a:b] for a, b in self._split_ranges(text, limit)]

    def _split_ranges(self, text: str, limit: int) -> list[tuple[int, int]]:
        """_split_long's pieces as (start, end) character ranges of text."""
        offsets = self._offsets(text)
        pieces: list[tuple[int, int]] = []
        start_tok = 0
        while start_tok < len(offsets):
            end_tok = min(start_tok + limit, len(offsets))
            start_char = offsets[start_tok][0]
            if end_tok < len(offsets):
                hard_end = offsets[end_tok - 1][1]
                window = text[start_char:hard_end]
                cut = None
                for m in _SENTENCE_END.finditer(window):
                    if m.end() > len(window) // 3:  # don't make tiny pieces
                        cut = m.end()
                if cut is not None:
                    end_char = start_char + cut
                    # first token starting at/after the cut begins the next piece
                    next_tok = next((i for i in range(start_tok, end_tok) if offsets[i][0] >= end_char), end_tok)
                    end_tok = max(next_tok, start_tok + 1)
            end_char = offsets[end_tok - 1][1]
            piece = text[start_char:end_char]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                pieces.append((start_char + lead, start_char + len(piece.rstrip())))
            start_tok = end_tok
        return pieces

    def _tail(self, text: str, n_tokens: int) -> str:
        """The last ~n_tokens of text, starting at a word boundary."""
        if n_tokens <= 0:
            return ""
        # Tokens never span whitespace, so past a space the suffix tokenizes exactly as
        # inside the whole text: read only enough of the end (long blocks are common).
        space = text.find(" ", max(0, len(text) - 16 * n_tokens))
        if space > 0:
            offsets = self._offsets(text[space:])
            if len(offsets) > n_tokens:
                return self._tail_from(text, [(a + space, b + space) for a, b in offsets], n_tokens)
        return self._tail_from(text, self._offsets(text), n_tokens)

    @staticmethod
    def _tail_from(text: str, offsets: list[tuple[int, int]], n_tokens: int) -> str:
        if len(offsets) <= n_tokens:
            return text
        start = offsets[-n_tokens][0]
        space = text.find(" ", start)
        if 0 <= space < offsets[-1][0]:
            start = space + 1
        return text[start:]

    # --- main ----------------------------------------------------------------
    def chunk(self, doc: Document) -> list[Chunk]:
        return self.chunk_blocks(doc.blocks, self._fit_label(document_label(doc)))

    def chunk_blocks(self, blocks: Sequence[Block], label: str = "") -> list[Chunk]:
        """`label` names the document on every chunk: a passage saying "net sales were
        $81.8 billion" is only findable for "Apple, Q3 2023" if it says whose and when."""
        blocks = [b for b in blocks if b.text.strip()]
        counts = self._count([b.text for b in blocks])
        chunks: list[Chunk] = []
        layouts: list[list[_Unit]] = []  # each chunk's body units, for _verified
        ends: dict[int, int] = {}  # page -> end of its text so far (page_texts' layout)
        headings: dict[int, str] = {}
        heading = label
        heading_tokens = self._count([label])[0] if label else 0
        units: list[_Unit] = []

        def flush(carry_overlap: bool) -> list[_Unit]:
            body = [u for u in units if u.text]
            if not body:
                return []
            text = "\n".join(u.text for u in body)
            pages = [u.page for u in body if u.page is not None]
            full = f"{heading}\n{text}" if heading else text
            chunks.append(Chunk(len(chunks), full, min(pages) if pages else None,
                                max(pages) if pages else None, heading,
                                heading_tokens + sum(u.tokens for u in body), _spans(body), text))
            layouts.append(body)
            if not carry_overlap or not self.overlap:
                return []
            last = body[-1]
            tail = self._tail(last.text, self.overlap)
            # The tail keeps its own page and place: on a new page it still points back.
            return [_Unit(tail, last.page, self._count([tail])[0], last.start + len(last.text) - len(tail),
                          last.span_page)] if tail else []

        for block, n in zip(blocks, counts, strict=True):
            span_page = block_page(block)
            at = ends.get(span_page)
            block_start = 0 if at is None else at + len(PAGE_SEPARATOR)
            ends[span_page] = block_start + len(block.text)
            text = " ".join(block.text.split()) if block.heading_level else block.text.strip()
            if block.heading_level:
                units = flush(carry_overlap=False)
                headings = {lvl: h for lvl, h in headings.items() if lvl < block.heading_level}
                headings[block.heading_level] = text
                section = self._fit_heading(" > ".join(headings[k] for k in sorted(headings)))
                heading = " > ".join(x for x in (label, section) if x)
                heading_tokens = self._count([heading])[0] if heading else 0
                continue
            if block.table is not None:
                parts = self._table_parts(block, block_start, heading, heading_tokens, span_page)
                if parts is not None:
                    units = flush(carry_overlap=False)
                    for chunk, body in parts:
                        chunks.append(replace(chunk, index=len(chunks)))
                        layouts.append(body)
                    continue
            budget = self.max_tokens - heading_tokens
            lead = block_start + len(block.text) - len(block.text.lstrip())
            ranges = [(0, len(text))] if n <= budget else self._split_ranges(text, budget - self.overlap)
            pieces = [text[a:b] for a, b in ranges]
            piece_counts = [n] if len(pieces) == 1 else self._count(pieces)
            filled = sum(u.tokens for u in units)
            if units and block.page != units[-1].page and filled >= budget // 2:
                # A page break is a natural seam: cut there so citations name one page.
                units = flush(carry_overlap=False)
            for piece, pn, (a, _b) in zip(pieces, piece_counts, ranges, strict=True):
                if units and sum(u.tokens for u in units) + pn > budget:
                    units = flush(carry_overlap=True)
                    if sum(u.tokens for u in units) + pn > budget:
                        units = []
                units.append(_Unit(piece, block.page, pn, lead + a, span_page))
        flush(carry_overlap=False)
        return self._verified(chunks, layouts)

    def _table_parts(self, block: Block, block_start: int, heading: str, heading_tokens: int,
                     span_page: int) -> list[tuple[Chunk, list[_Unit]]] | None:
        """A table's chunks: whole rows, each chunk led by the table's caption, units and
        column headers, so no row is ever read without them. Its spans cover its rows
        only (what the viewer highlights). None when the table cannot be cut so (its
        head or one row alone would fill a chunk): it is then chunked as text."""
        table = block.table
        assert table is not None and block.text == table.text
        if table.caption and heading.endswith(table.caption):  # said by the caption line
            heading = heading[:-len(table.caption)].rstrip(" >")
            heading_tokens = self._count([heading])[0] if heading else 0
        head_lines, rows = table.head_lines(), table.row_lines()
        head = "\n".join(head_lines)
        head_tokens = self._count([head])[0] if head else 0
        budget = self.max_tokens - heading_tokens - head_tokens
        counts = self._count(rows)
        if not rows or budget < self.max_tokens // 3 or max(counts) > budget:
            return None
        out: list[tuple[Chunk, list[_Unit]]] = []
        start = block_start + (len(head) + 1 if head else 0)  # the next part's offset in the page
        a = 0
        while a < len(rows):
            b, used = a + 1, counts[a]
            while b < len(rows) and used + counts[b] <= budget:
                used += counts[b]
                b += 1
            body = "\n".join(rows[a:b])
            unit = _Unit(body, block.page, used, start, span_page)
            start += len(body) + 1
            text = "\n".join(x for x in (heading, head, body) if x)
            out.append((Chunk(0, text, block.page, block.page, heading, heading_tokens + head_tokens + used,
                              _spans([unit]), body), [unit]))
            a = b
        return out

    def _fit_label(self, label: str) -> str:
        """Keep the start of a long document label (the name comes first)."""
        if not label or self._count([label])[0] <= self.heading_max // 2:
            return label
        return self._split_long(label, self.heading_max // 2)[0]

    def _fit_heading(self, heading: str) -> str:
        if not heading or self._count([heading])[0] <= self.heading_max:
            return heading
        return self._split_long(heading, self.heading_max)[-1]

    def _verified(self, chunks: list[Chunk], layouts: list[list[_Unit]]) -> list[Chunk]:
        """Re-count whole chunk texts; joining may tokenise differently at seams."""
        if self._sums_exact:
            return chunks
        real = self._count([c.text for c in chunks])
        out: list[Chunk] = []
        for c, units, n in zip(chunks, layouts, real, strict=True):
            if n <= self.max_tokens:
                out.append(replace(c, index=len(out), token_count=n))
                continue
            skip = len(c.text) - len(c.body)  # the heading line, on the first piece only
            for a, b in self._split_ranges(c.text, self.max_tokens):
                piece = c.text[a:b]
                lo, hi = max(a - skip, 0), b - skip
                out.append(Chunk(len(out), piece, c.page_start, c.page_end, c.heading,
                                 self._count([piece])[0], _spans(units, lo, hi) if hi > lo else (),
                                 c.body[lo:hi] if hi > lo else ""))
        return out


def _own_backend(tokenizer: Tokenizer) -> Any:  # a tokenizers.Tokenizer (untyped)
    """A private copy of a fast tokenizer's Rust backend, or None for other tokenizers.

    Calling the backend directly skips the transformers wrapper (most of the
    chunker's time), and a copy of its own keeps it apart from the encoder's:
    the encoder sets truncation on the shared backend, and concurrent use of
    one backend from two threads fails ("Already borrowed").
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer as RustTokenizer

    own = RustTokenizer.from_str(backend.to_str())
    own.no_truncation()
    own.no_padding()
    return own


# Normalizers that map characters one by one (or compose only within a word), and
# pre-tokenizers that split at every whitespace: their tokens never span a "\n".
_LOCAL_NORMALIZERS = frozenset({"BertNormalizer", "Lowercase", "StripAccents", "NFC", "NFD", "NFKC", "NFKD"})
_WHITESPACE_SPLITTERS = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})
_PURE_SPLITTERS = _WHITESPACE_SPLITTERS | {"Punctuation", "Digits"}  # split more, never join


def _splits_at_whitespace(tokenizer: Tokenizer) -> bool:
    """Whether tokenize(a + "\n" + b) == tokenize(a) + tokenize(b) for this tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    import json

    spec = json.loads(backend.to_str())

    def types(node: dict[str, Any] | None, key: str) -> list[str]:
        if node is None:
            return []
        if node.get("type") == "Sequence":
            return [t for child in node.get(key, []) for t in types(child, key)]
        return [str(node.get("type"))]

    normalizers = types(spec.get("normalizer"), "normalizers")
    pre = types(spec.get("pre_tokenizer"), "pretokenizers")
    added = [t.get("content", "") for t in spec.get("added_tokens", [])]
    return (all(n in _LOCAL_NORMALIZERS for n in normalizers)
            and any(p in _WHITESPACE_SPLITTERS for p in pre) and all(p in _PURE_SPLITTERS for p in pre)
            and not any(ch.isspace() for token in added for ch in token))


def document_label(doc: Document) -> str:
    """File name (without extension) and the document's own title, when they carry words.

    A name of digits or a hash (an id) adds no context and is left out.
    """
    parts: list[str] = []
    for candidate in (doc.path.stem, doc.title or ""):
        text = " ".join(candidate.replace("_", " ").split())
        if sum(ch.isalpha() for ch in text) >= 3 and text.lower() not in (p.lower() for p in parts):
            parts.append(text)
    return " · ".join(parts)
