"""Plain text and Markdown. Encoding is detected, never assumed.

Also home of `decode_text` and `paragraph_blocks`, which the HTML and PDF
loaders reuse.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path

from ingest.document import Block, Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import LoadLimits, read_bytes

# Longest BOMs first: the UTF-32-LE BOM begins with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Non-ASCII characters that appear in ordinary cp1252 prose besides letters.
_CP1252_PUNCT = set("\u00a0“”‘’‚„–—…•€£¥©®°«»§¶·×÷¡¿¢±´¨ªº†‡‰‹›™")
# cp1254 (Turkish) differs from cp1252 in six letters; cp1252 shows ğ ı ş as
# ð ý þ, which are rare outside Icelandic. Let detection decide those files.
_CP1254_TELLS = set("ðýþÐÝÞ")
# Paragraphs longer than this are cut at line boundaries (CSV, logs, minified
# text) so no single Block is unbounded.
MAX_BLOCK_CHARS = 4000
_SAMPLE = 1 << 20  # bytes inspected by the pure-Python encoding heuristics


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to str with universal newlines; returns (text, encoding).

    Order: BOM, declared charset (HTML), UTF-8, BOM-less UTF-16, cp1252 when
    it reads as Western prose, then charset-normalizer. Raises BINARY.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return _finish(data.decode(enc, errors="replace"), enc)
    if declared:
        try:
            return _finish(data.decode(declared), declared)
        except (LookupError, UnicodeDecodeError):
            pass  # lying or unknown declaration: fall through to detection
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise LoadError(FileErrorKind.BINARY, "contains NUL bytes")
        return _finish(data.decode(utf16, errors="replace"), utf16)
    try:
        return _finish(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):  # a stray bad byte or a cut-off last character
        return _finish(data.decode("utf-8", errors="replace"), "utf-8")
    # charset-normalizer is unreliable on short Western text (it picks cp1250
    # or cp1257 for French), and cp1252 is by far the likeliest legacy file.
    if _looks_cp1252(data[:_SAMPLE]):
        return _finish(data.decode("cp1252", errors="replace"), "cp1252")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError(FileErrorKind.BINARY, "no text encoding fits")
    return _finish(str(best), best.encoding)


def _finish(text: str, encoding: str) -> tuple[str, str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    # Control characters other than layout ones mean the bytes were not text.
    sample = text[:200_000]
    bad = sum(1 for ch in sample if (ch < " " and ch not in "\t\n\f\v") or "\x7f" <= ch <= "\x9f")
    if sample and bad / len(sample) > 0.01:
        raise LoadError(FileErrorKind.BINARY, f"{bad} control characters")
    return text, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has NULs in every other byte; binary data does not."""
    sample = data[:20_000]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nuls > 0.6 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.6 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _mostly_utf8(data: bytes) -> bool:
    """Valid multi-byte sequences far outnumber invalid bytes: UTF-8 with damage.
    (Legacy 8-bit text has almost no valid UTF-8 sequences at all.)"""
    text = data[:_SAMPLE].decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return good >= 4 * bad


def _looks_cp1252(data: bytes) -> bool:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D... are undefined in cp1252
        return False
    letters = non_ascii_letters = 0
    for ch in text:
        if ch.isascii():
            letters += ch.isalpha()
        elif ch in _CP1254_TELLS:
            return False
        elif ch.isalpha():
            letters += 1
            non_ascii_letters += 1
        elif ch not in _CP1252_PUNCT:
            return False  # e.g. '³' or '¹' where Polish cp1250 has 'ł', 'ą'
    # Cyrillic or Greek read as cp1252 is almost all accented letters;
    # French or Icelandic prose stays well under half.
    return letters > 0 and non_ascii_letters / letters < 0.5


def clean_text(text: str) -> str:
    """Drop control characters and soft hyphens: they only confuse embedding and display."""
    return text.translate(_CLEAN_TABLE)


_CLEAN_TABLE: dict[int, str | None] = {
    c: None for c in [*range(0x00, 0x20), *range(0x7F, 0xA0), 0xAD] if chr(c) not in "\t\n\f\v"
}
_CLEAN_TABLE.update({ord("\f"): "\n", ord("\v"): "\n"})


def paragraph_blocks(lines: Iterable[str], page: int | None = None) -> list[Block]:
    """Split lines on blank lines; long paragraphs are cut at line boundaries."""
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        blocks.extend(Block(t, page=page) for t in _bounded(para))
        para.clear()

    for line in lines:
        if line.strip():
            para.append(line.rstrip())
        elif para:
            flush()
    if para:
        flush()
    return blocks


def _bounded(lines: list[str]) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for line in lines:
        while len(line) > MAX_BLOCK_CHARS:  # one huge line: hard cut
            if cur:
                out.append("\n".join(cur))
                cur, size = [], 0
            out.append(line[:MAX_BLOCK_CHARS])
            line = line[MAX_BLOCK_CHARS:]
        if cur and size + len(line) + 1 > MAX_BLOCK_CHARS:
            out.append("\n".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += len(line) + 1
    if cur:
        out.append("\n".join(cur))
    return [t for t in out if t.strip()]


def load_text(path: Path, limits: LoadLimits) -> Document:
    text, _ = decode_text(read_bytes(path, limits))
    return Document(path=path, kind="text", blocks=paragraph_blocks(clean_text(text).split("\n")))


# --- Markdown ---------------------------------------------------------------
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.IGNORECASE)


def load_markdown(path: Path, limits: LoadLimits) -> Document:
    text, _ = decode_text(read_bytes(path, limits))
    lines = clean_text(text).split("\n")
    title, start = _front_matter(lines)
    blocks: list[Block] = []
    para: list[str] = []
    fence: str | None = None  # the opening fence while inside a code block
    code: list[str] = []

    def flush() -> None:
        blocks.extend(_with_pipe_tables(para))
        para.clear()

    for line in lines[start:]:
        if fence is not None:  # code is kept verbatim, blank lines included
            code.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                blocks.extend(Block(t) for t in _bounded(code))
                fence, code = None, []
            continue
        if m := _FENCE.match(line):
            flush()
            fence, code = m.group(1), [line]
            continue
        if m := _ATX.match(line):
            flush()
            if heading := (m.group(2) or "").strip():
                blocks.append(Block(heading, heading_level=len(m.group(1))))
            continue
        if para and _SETEXT.match(line):
            # The whole paragraph above the underline is the heading (CommonMark).
            level = 1 if line.strip()[0] == "=" else 2
            blocks.append(Block(" ".join(p.strip() for p in para), heading_level=level))
            para.clear()
            continue
        if line.strip():
            para.append(line)
        else:
            flush()
    flush()
    if code:  # unclosed fence runs to end of file
        blocks.extend(Block(t) for t in _bounded(code))
    if title is None:
        title = next((b.text for b in blocks if b.heading_level == 1), None)
    return Document(path=path, kind="markdown", blocks=blocks, title=title)


_PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")


def _with_pipe_tables(lines: list[str]) -> list[Block]:
    """A paragraph's blocks, its GitHub-style pipe tables (a header row, a `---|---`
    separator, rows) as tables (ingest.tables); anything else as paragraphs."""
    from ingest.tables import table_from_grid

    for i in range(len(lines) - 1):
        if "|" in lines[i] and "|" in lines[i + 1] and _PIPE_SEPARATOR.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and "|" in lines[end]:
                end += 1
            grid = [_pipe_cells(line) for k, line in enumerate(lines[i:end]) if k != 1]
            table = table_from_grid(grid, header_rows=1)
            if table is None:
                continue
            return [*paragraph_blocks(lines[:i]), Block(table.text, table=table), *_with_pipe_tables(lines[end:])]
    return paragraph_blocks(lines)


def _pipe_cells(line: str) -> list[str]:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") and not s.endswith("\\|") else s
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", s)]


def _front_matter(lines: list[str]) -> tuple[str | None, int]:
    """YAML front matter is metadata, not prose; returns (title, first body line)."""
    if not lines or lines[0].strip() != "---":
        return None, 0
    for i, line in enumerate(lines[1:200], start=1):
        if line.strip() in ("---", "..."):
            title = next((m.group(1).strip("'\"") for ln in lines[1:i] if (m := _FRONT_TITLE.match(ln))), None)
            return title, i + 1
    return None, 0
