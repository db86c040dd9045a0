"""Faster drop-in for pypdf's content-stream tokenizer.

pypdf's ``ContentStream._parse_content_stream`` reads a BytesIO byte by byte in
pure Python and is most of ``extract_text()``'s cost on long filings. Here one
``findall`` over the stream matches whole operations ("1 0 0 1 72 700 Tm",
"<0044> Tj", "/P <</MCID 3>> BDC") made of well-formed simple operands, and
their objects are built exactly as pypdf builds them. Any operation it cannot
reproduce exactly - inline images, comments, names with ``#``, deep paren
nesting, unknown escapes, nested or duplicate-key containers, malformed bytes,
a safety limit about to trip - is read by pypdf's own loop body from that
operation's offset, so rare constructs, warnings and errors stay pypdf's.

Within one stream, equal number / name / byte-string tokens share one immutable
object (27x reuse on SEC filings): values and types are pypdf's, only ``is``
identity differs. Installed only for ``VERIFIED_VERSIONS``.
"""
from __future__ import annotations

import gc
import logging
import re
from binascii import unhexlify
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pypdf
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    ContentStream,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
)

# Checked operation for operation against stock pypdf on these versions (tests/ingest/
# test_pdf_fastparse.py); 7.1.1 only moved the inline-image reader out of ContentStream.
VERIFIED_VERSIONS = ("7.1.0", "7.1.1")
# pypdf's own tokenizer, restored by uninstall(); None on a pypdf that renamed it (then
# install() leaves pypdf as it is: looked up with .get, a KeyError here broke every PDF).
original_parse_content_stream = ContentStream.__dict__.get("_parse_content_stream")
PAUSE_GC = True  # see fast_parse_content_stream; process-wide while a stream is parsed

_DELIM = rb"\s()<>\[\]{}/%"  # NameObject.delimiter_pattern: ends operators and names (not \x00!)
_WS = rb"[\t\n\f\r ]*+"  # in every pypdf whitespace set, and what bytes.split() splits on
_NAME_CHARS = b"".join(re.escape(bytes([c])) for c in range(0x21, 0x7F) if c not in b"#%()/<>[]{}")
_NAME = rb"/[" + _NAME_CHARS + rb"]{0,127}+(?![^" + _DELIM + rb"])"  # ASCII, no '#': any CHARSET decodes it
_STR = rb"\((?:[^()\\]++|\\.|\((?:[^()\\]++|\\.)*+\))*+\)"  # one nested (...) level at most
_HEX = rb"<[0-9A-Fa-f\x00\t\n\f\r ]*+>"  # read_non_whitespace skips these inside hex strings
# Complete within read_object's 20-byte peek, and int()/float() accept it.
_NUM = rb"(?=[-+,.0-9]{1,19}+[^-+,.0-9])[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?=[^-+,.0-9])"
_SIMPLE = rb"(?:" + _NUM + rb"|" + _NAME + rb"|" + _STR + rb"|" + _HEX + rb")"
_OPERAND = (rb"(?:" + _SIMPLE + rb"|\[" + _WS + rb"(?:" + _SIMPLE + _WS + rb")*+\]|<<" + _WS + rb"(?:" + _NAME
            + _WS + _SIMPLE + _WS + rb")*+>>(?![\x00\t\n\f\r ]*+stream))")  # else pypdf reads a StreamObject
# Not "BI" (inline image); not "R" + non-letter (after two integers read_object would
# try an indirect reference, so numbers need no lookahead for that); < pypdf's length limit.
_OP = rb"((?!BI(?![^" + _DELIM + rb"])|R(?![A-Za-z]))[A-Za-z'\"][^" + _DELIM + rb"]{0,100}+)(?![^" + _DELIM + rb"])"
# Groups: 1 numbers (checked by _Cache), 2 op | 3 one string, 4 op | 5 other operands, 6 op
# | 7 the rest of the stream, from an operation pypdf's own code must read.
_OPS_RE = re.compile(
    rb"[\x00\t\n\f\r ]*+(?:((?:[-+.0-9][-+,.0-9]*+" + _WS + rb")*+)" + _OP
    + rb"|(<[0-9A-Fa-f]*+>|\([^()\\]*+\))" + _WS + _OP
    + rb"|((?:" + _OPERAND + _WS + rb")*+)" + _OP + rb"|([\s\S]+))", re.S)
_TOKENS = re.compile(_OPERAND, re.S).findall
_VALUES = re.compile(_SIMPLE, re.S).findall
_CLEAN_NUMBER = re.compile(rb"[-+]?(?:\d+(?:\.\d*)?|\.\d+)").fullmatch

# pypdf's private names, bound by install() only on a verified version (a pypdf that
# renamed them must leave stock pypdf in place, not break every PDF at import).
get_configuration: Any = None
read_non_whitespace: Any = None
read_until_regex: Any = None
read_object: Any = None
create_string_object: Any = None
StreamParsingBudget: Any = None
read_inline_image: Any = None  # (content_stream, stream, budget) -> pypdf's inline image dict
_ESCAPES: dict[bytes, bytes] = {}
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|(\r[\r\n]?|\n[\r\n]?)|(.))", re.S)
_HEX_WS = b"\x00\t\n\f\r "
_log = logging.getLogger(__name__)
_SHAREABLE = (NumberObject, FloatObject, NameObject, ByteStringObject)  # immutable values


class _Fallback(Exception):
    """pypdf's own code must read this operation (it would warn, or a limit is near)."""


def _escape(m: re.Match[bytes]) -> bytes:
    # As read_string_from_stream: octal > 255 keeps the backslash and the digits
    # as plain text; an escaped line break (CRLF, LFCR, CRCR...) vanishes.
    if m.lastindex == 1:
        code = int(m.group(1), 8)
        return bytes((code,)) if code <= 255 else b"\\" + m.group(1)
    if m.lastindex == 2:
        return b""
    value = _ESCAPES.get(m.group(3))
    if value is None:
        raise _Fallback  # pypdf logs "Unexpected escaped string"
    return value


class _Cache(dict[bytes, Any]):
    """Token bytes -> the object pypdf's read_object builds for it (per stream)."""

    def __init__(self, enc: Any) -> None:
        super().__init__()
        self.mkstr: Callable[[bytes], Any] = (
            ByteStringObject if enc == "bytes" else lambda raw: create_string_object(raw, enc))  # same result

    def __missing__(self, tok: bytes) -> Any:
        first = tok[0]
        if first == 47:  # '/'
            obj: Any = NameObject(tok.decode())
        elif first == 60:  # '<'
            digits = tok[1:-1].translate(None, _HEX_WS)
            obj = self.mkstr(unhexlify(digits + b"0" if len(digits) & 1 else digits))
        elif first == 40:  # '('
            raw = tok[1:-1]
            obj = self.mkstr(_ESCAPE.sub(_escape, raw) if b"\\" in raw else raw)
        elif len(tok) > 19 or not _CLEAN_NUMBER(tok):
            raise _Fallback  # pypdf warns, or reads past its 20-byte peek
        else:  # what FloatObject(tok) / NumberObject(tok) give for clean input, minus a Python frame
            obj = float.__new__(FloatObject, float(tok)) if b"." in tok else int.__new__(NumberObject, int(tok))
        if type(obj) in _SHAREABLE:
            self[tok] = obj
        return obj


def _operands(region: bytes, cache: _Cache, arr_max: int, dict_max: int) -> tuple[tuple[Any, ...], int, bool]:
    """(template, budget cost, shareable) for a batch match's operands.

    Arrays and dictionaries stay plain list / dict in the template: _build makes
    fresh pypdf containers from them for every operation.
    """
    out: list[Any] = []
    cost = 0
    get = cache.__getitem__
    for tok in _TOKENS(region + b" "):  # the space lets a last number's end lookahead match
        cost += 1
        if tok[0] == 91:  # '[': every element counts
            obj: Any = list(map(get, _VALUES(tok, 1)))  # the closing ']' matches no token
            if len(obj) > arr_max:
                raise _Fallback
            cost += len(obj)
        elif tok[:2] == b"<<":  # two per entry; keys read first, in order
            items = _VALUES(tok, 2)
            obj = dict(zip(map(get, items[0::2]), map(get, items[1::2]), strict=False))
            if len(obj) != len(items) // 2 or len(obj) > dict_max:
                raise _Fallback  # duplicate key: pypdf logs a warning
            cost += 2 * len(obj)
        else:
            obj = get(tok)
        out.append(obj)
    leaves = [x for o in out for x in (o if type(o) is list else o.values() if type(o) is dict else (o,))]
    return tuple(out), cost, all(type(x) in _SHAREABLE for x in leaves)


def _build(template: tuple[Any, ...]) -> list[Any]:
    return [ArrayObject(o) if type(o) is list else DictionaryObject(o) if type(o) is dict else o for o in template]


def _locate(data: bytes, start: int, index: int) -> int:
    """Offset of findall match ``index``: the matches run back to back from ``start``."""
    for _ in range(index):
        start = _OPS_RE.match(data, start).end()  # type: ignore[union-attr]  # findall matched here
    return start


def fast_parse_content_stream(self: ContentStream, stream: Any) -> None:
    """Drop-in for ``ContentStream._parse_content_stream``: fills ``self._operations``."""
    # Each operation allocates a list and a tuple; the cyclic GC they trigger is ~35%
    # of the parse time, yet parsing creates no cycles. Paused, then restored as found.
    if not PAUSE_GC or not gc.isenabled():
        return _parse(self, stream)
    gc.disable()
    try:
        return _parse(self, stream)
    finally:
        gc.enable()


def _parse(self: ContentStream, stream: Any) -> None:  # noqa: C901, PLR0912
    stream.seek(0, 0)
    data = stream.getvalue() if isinstance(stream, BytesIO) else stream.read()
    buf = stream if isinstance(stream, BytesIO) else BytesIO(data)
    cache = _Cache(self.forced_encoding)
    get = cache.__getitem__
    numbers: dict[bytes, tuple[Any, ...]] = {}  # operand runs recur too ("7.4135132 0")
    regions: dict[bytes, tuple[tuple[Any, ...], int, bool]] = {}
    ops = self._operations
    append = ops.append
    config = get_configuration()
    arr_max, dict_max = config.array_maximum_element_count, config.dictionary_maximum_element_count
    budget = StreamParsingBudget(remaining_budget=config.stream_parsing_work_maximum_count)
    left = budget.remaining_budget  # pypdf's per-stream token budget, counted the same way
    pos = 0
    while True:
        first = len(ops)  # each batch match appends one operation
        for nums, op1, tok, op2, region, op3, rest in _OPS_RE.findall(data, pos):
            try:
                if op1:
                    objs = numbers.get(nums)
                    if objs is None:
                        objs = numbers[nums] = tuple(map(get, nums.split()))
                    if left <= len(objs):  # pypdf would raise LimitReachedError in this operation
                        raise _Fallback
                    left -= len(objs) + 1
                    append((list(objs), op1))
                elif op2:
                    if left < 2:
                        raise _Fallback
                    new = [get(tok)]
                    left -= 2
                    append((new, op2))
                elif op3:
                    known = regions.get(region)
                    if known is None:
                        known = _operands(region, cache, arr_max, dict_max)
                        if known[2]:
                            regions[region] = known
                    cost = known[1]
                    if left <= cost:
                        raise _Fallback
                    left -= cost + 1
                    append((_build(known[0]), op3))
                else:
                    pos = len(data) - len(rest)
                    break
            except Exception:  # noqa: BLE001 - pypdf's own code raises it (or warns) at its exact token
                pos = _locate(data, pos, len(ops) - first)
                break
        else:
            return
        budget.remaining_budget = left
        buf.seek(pos)
        if not _pypdf_operation(self, buf, budget):
            return
        left, pos = budget.remaining_budget, buf.tell()


def _pypdf_operation(self: ContentStream, stream: BytesIO, budget: StreamParsingBudget) -> bool:
    """pypdf's own loop body, verbatim, until it appends one operation; False at the end."""
    operands: list[Any] = []
    count = len(self._operations)
    while len(self._operations) == count:
        peek = read_non_whitespace(stream)
        if peek in (b"", 0):
            return False
        stream.seek(-1, 1)
        if peek.isalpha() or peek in (b"'", b'"'):
            operator = read_until_regex(
                stream=stream, regex=NameObject.delimiter_pattern, length=self._OPERATOR_LENGTH_LIMIT
            )
            if operator == b"BI":
                assert operands == []  # noqa: S101 - pypdf asserts the same
                self._check_limits(parsing_budget=budget, token_decrement=2)
                ii = read_inline_image(self, stream, budget)
                self._operations.append((ii, b"INLINE IMAGE"))
            else:
                self._check_limits(parsing_budget=budget, token_decrement=1)
                self._operations.append((operands, operator))
        elif peek == b"%":
            while peek not in (b"\r", b"\n", b""):
                peek = stream.read(1)
        else:
            self._check_limits(parsing_budget=budget, token_decrement=1)
            operands.append(read_object(stream, None, self.forced_encoding, parsing_budget=budget))
    return True


def _private_names() -> tuple[Any, ...]:
    """The private pypdf names the tokenizer mirrors, looked up (nothing bound, nothing
    patched); raises if any moved."""
    from pypdf._configuration import get_configuration as _config
    from pypdf._utils import read_non_whitespace as _rnw
    from pypdf._utils import read_until_regex as _rur
    from pypdf.generic import _utils as gutils
    from pypdf.generic._data_structures import read_object as _ro

    if hasattr(ContentStream, "_read_inline_image"):  # 7.1.0
        def inline(cs: ContentStream, stream: BytesIO, budget: Any) -> Any:
            # pypdf 7.1.0 only (hasattr above): a private method, mirrored
            return cs._read_inline_image(stream, parsing_budget=budget)  # type: ignore[attr-defined]  # noqa: SLF001
    else:  # 7.1.1 moved it to a function of its own
        from pypdf.generic._image_inline import read_inline_image as _rii

        def inline(cs: ContentStream, stream: BytesIO, budget: Any) -> Any:
            return _rii(content_stream=cs, stream=stream, parsing_budget=budget)
    escapes = {k: bytes([v]) for k, v in gutils.__ESCAPE_DICT__.items()}
    from pypdf.generic import StreamParsingBudget as _budget

    return _config, _rnw, _rur, _ro, gutils.create_string_object, _budget, inline, escapes


def _bind_private() -> None:
    """Bind the private pypdf names the tokenizer mirrors; raises if any moved."""
    global get_configuration, read_non_whitespace, read_until_regex, read_object  # noqa: PLW0603
    global create_string_object, StreamParsingBudget, read_inline_image, _ESCAPES  # noqa: PLW0603
    (get_configuration, read_non_whitespace, read_until_regex, read_object, create_string_object,
     StreamParsingBudget, read_inline_image, _ESCAPES) = _private_names()


def install() -> bool:
    """Patch pypdf's tokenizer if this pypdf version was verified; idempotent.

    False (stock pypdf stays) on any other version, or when a private name it
    mirrors cannot be imported."""
    if pypdf.__version__ not in VERIFIED_VERSIONS:
        return False
    if original_parse_content_stream is None:
        _log.warning("pypdf %s: fast tokenizer off (no ContentStream._parse_content_stream)",
                     pypdf.__version__)
        return False
    if read_inline_image is None:
        try:
            _bind_private()
        except Exception as exc:  # noqa: BLE001 - any failure means: keep stock pypdf
            _log.warning("pypdf %s: fast tokenizer off (%s)", pypdf.__version__, exc)
            return False
    # the patch itself: pypdf 7.1.x (VERIFIED_VERSIONS) has no public hook for its tokenizer
    ContentStream._parse_content_stream = fast_parse_content_stream  # type: ignore[method-assign]  # noqa: SLF001
    return True


def available() -> bool:
    """What install() would return, found without patching pypdf or binding its private
    names (a status read asks this of the process that owns the index)."""
    if pypdf.__version__ not in VERIFIED_VERSIONS or original_parse_content_stream is None:
        return False
    try:
        _private_names()
    except Exception:  # noqa: BLE001 - any failure means: install() would keep stock pypdf
        return False
    return True


def active() -> bool:
    return ContentStream.__dict__.get("_parse_content_stream") is fast_parse_content_stream


def uninstall() -> None:
    """Restore pypdf's own tokenizer (tests, and a page read again by stock pypdf)."""
    if original_parse_content_stream is not None:
        # pypdf 7.1.x's private tokenizer (see install()); mypy: assigning a method is the point
        ContentStream._parse_content_stream = original_parse_content_stream  # type: ignore[method-assign]  # noqa: SLF001
