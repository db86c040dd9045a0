"""The FastTextExtraction class itself: imports pypdf's private modules, so only
`pdf_fasttext.install()` imports this, after its version check."""
from __future__ import annotations

import math
from functools import reduce
from operator import add
from typing import Any

import pypdf._text_extraction as _tx
from pypdf._text_extraction._text_extractor import TextExtraction

_POSITIONING = frozenset((b"Td", b"Tm", b"T*", b"Tj"))
_sqrt = math.sqrt


class _Widths(dict[str, float]):
    """char -> the width pypdf adds for it: the space width, else get_text_width(char)."""

    def __init__(self, font: Any) -> None:
        super().__init__()
        self.font = font
        self[font.space_char] = font.space_width

    def __missing__(self, char: str) -> float:
        width: float = self.font.get_text_width(char)  # 0.0 + width, exactly as pypdf sums it
        self[char] = width
        return width


class _FontTables:
    """Per-font lookups that pypdf redoes for every string shown."""

    __slots__ = ("font", "widths", "decode_table", "unicode_table")

    def __init__(self, font: Any) -> None:
        self.font = font
        self.widths = _Widths(font)
        enc = font.encoding
        self.decode_table: list[str] | None = None
        if isinstance(enc, dict) and all(isinstance(enc.get(x, ""), str) for x in range(256)):
            self.decode_table = [enc.get(x, chr(x)) for x in range(256)]
        cmap = font.character_map
        self.unicode_table: dict[int, str] | None = None
        if all(isinstance(v, str) for v in cmap.values()):
            # Keys longer than one character never match a single raw character.
            self.unicode_table = {ord(k): v for k, v in cmap.items() if isinstance(k, str) and len(k) == 1}


class FastTextExtraction(TextExtraction):
    """pypdf's TextExtraction with its hot paths computed without the call overhead."""

    def __init__(self) -> None:
        super().__init__()
        self._m_prev: tuple[Any, ...] | None = None  # (cm_prev, tm_prev, m, scale_x, scale_y)
        self._tables: dict[int, _FontTables] = {}

    def process_operation(self, operator: bytes, operands: list[Any]) -> None:
        if operator == b"Tj":  # _handle_tj_operation, inline
            if operands and isinstance(operands[0], (str, bytes)):
                self._previous_font_space = None
                self.text, self.rtl_dir, self._actual_str_size = self._handle_tj(
                    self.text, operands, self.cm_matrix, self.tm_matrix, self.font_resource, self.font,
                    self.orientations, self.font_size, self.rtl_dir, self.visitor_text, self._actual_str_size)
            self._post_process_text_operation(0.0)
        elif operator == b"Td":  # _handle_td, inline
            n = len(operands)
            tx = float(operands[0]) if n > 0 and isinstance(operands[0], (int, float)) else 0.0
            ty = float(operands[1]) if n > 1 and isinstance(operands[1], (int, float)) else 0.0
            tm = self.tm_matrix
            tm[4] += tx * tm[0] + ty * tm[2]
            tm[5] += tx * tm[1] + ty * tm[3]
            size = self._actual_str_size
            str_widths = self.compute_str_widths(size["str_widths"])
            size["str_widths"] = 0.0
            self._post_process_text_operation(str_widths or 0.0)
        else:
            handler = self.operation_handlers.get(operator)
            if handler is not None:
                str_widths = handler(operands)  # type: ignore[assignment]  # pypdf types handlers loosely; they return a float
                if operator in _POSITIONING:
                    self._post_process_text_operation(str_widths or 0.0)

    def _font_tables(self, font: Any) -> _FontTables:
        tables = self._tables.get(id(font))
        if tables is None or tables.font is not font:
            tables = self._tables[id(font)] = _FontTables(font)
        return tables

    def _post_process_text_operation(self, str_widths: float) -> None:
        """_post_process_text_operation + crlf_space_check, same arithmetic."""
        text = self.text
        text_was_empty = text == ""
        space_width = self.font_size * self._space_width
        if self._previous_font_space is not None:
            space_width = min(space_width, self._previous_font_space)
        spacewidth = self.compute_str_widths(space_width)

        cm_prev, tm_prev = self.cm_prev, self.tm_prev
        tm, cm = self.tm_matrix, self.cm_matrix
        unmoved = tm == tm_prev and cm == cm_prev
        cached = self._m_prev
        if cached is not None and cached[0] is cm_prev and cached[1] is tm_prev:
            mp, scale_prev_x, scale_prev_y = cached[2], cached[3], cached[4]
            if unmoved and self._unmoved(text, spacewidth, str_widths, cached):
                return
        else:
            mp = _tx.mult(tm_prev, cm_prev)
            scale_prev_x = _sqrt(mp[0]**2 + mp[1]**2)
            scale_prev_y = _sqrt(mp[2]**2 + mp[3]**2)
        if unmoved:
            # Nothing moved since the last position (a Tj after a Td): same values, same
            # product. (== also equates 0.0 and -0.0, which only every comparison below does.)
            m0, m1, m2, m3, m4, m5 = mp
        else:
            t0, t1, t2, t3, t4, t5 = tm[0], tm[1], tm[2], tm[3], tm[4], tm[5]
            c0, c1, c2, c3, c4, c5 = cm[0], cm[1], cm[2], cm[3], cm[4], cm[5]
            m0 = t0 * c0 + t1 * c2
            m1 = t0 * c1 + t1 * c3
            m2 = t2 * c0 + t3 * c2
            m3 = t2 * c1 + t3 * c3
            m4 = t4 * c0 + t5 * c2 + c4
            m5 = t4 * c1 + t5 * c3 + c5
        orientation = 0 if m3 > 1e-6 else 180 if m3 < -1e-6 else 90 if m1 > 0 else 270
        if orientation not in self.orientations:
            return  # OrientationNotFoundError: pypdf changes nothing
        delta_x = m4 - mp[4]
        delta_y = m5 - mp[5]
        scale_y = _sqrt(m2**2 + m3**2)
        if orientation in (0, 180):
            moved_height, moved_width, axis_index, axis = delta_y, delta_x, 5, m5
        else:
            moved_height, moved_width, axis_index, axis = delta_x, delta_y, 4, m4
        line_span = self._line_span
        if line_span is None or line_span[0] != axis_index:
            distance = abs(moved_height)
        else:
            lower, upper = line_span[1], line_span[2]
            distance = 0.0 if lower <= axis <= upper else min(abs(axis - lower), abs(axis - upper))
        last = text[-1:] if text else self.output[-1:]
        threshold = 0.8 * min(self._actual_str_size["str_height"] * scale_prev_y, self.font_size * scale_y)
        if distance > threshold:
            if last not in ("", "\n"):
                self.output += text + "\n"
                if self.visitor_text is not None:
                    self.visitor_text(text + "\n", self.memo_cm, self.memo_tm, self.font_resource, self.font_size)
                text = ""
            line_span = (axis_index, axis, axis)
        else:
            moved_to_other_baseline = abs(moved_height) > threshold
            if (moved_to_other_baseline or moved_width >= (spacewidth + str_widths) * scale_prev_x) and last not in (
                "", " "
            ):
                text += " "
            if last in ("", "\n") or line_span is None or line_span[0] != axis_index:
                line_span = (axis_index, axis, axis)
            else:
                line_span = (axis_index, min(line_span[1], axis), max(line_span[2], axis))
        self.text = text
        self.tm_prev = tm_prev = tm.copy()
        self.cm_prev = cm_prev = cm.copy()
        self._line_span = line_span
        self._m_prev = (cm_prev, tm_prev, (m0, m1, m2, m3, m4, m5), _sqrt(m0**2 + m1**2), scale_y,
                        axis_index, m4 if axis_index == 5 else m5)
        if text_was_empty or text == "":
            self.memo_cm = cm.copy()
            self.memo_tm = tm.copy()

    def _unmoved(self, text: str, spacewidth: float, str_widths: float, cached: tuple[Any, ...]) -> bool:
        """The general code's outcome when nothing moved since the last position (a Tj
        right after its Td: half of all calls), if it stays on the line; else False.

        The product, scales, orientation and axis are the cached ones (the cache is only
        written after the orientation passed). Deltas are computed as the general code
        does (x - x, so a non-finite coordinate still gives nan), and tm_prev / cm_prev
        keep their equal-valued objects instead of fresh copies.
        """
        _, _, mp, scale_prev_x, scale_y, axis_index, other = cached
        was_empty = text == ""
        axis = mp[axis_index]
        moved_height, moved_width = axis - axis, other - other
        line_span = self._line_span
        inside = False
        if line_span is None or line_span[0] != axis_index:
            distance = abs(moved_height)
        else:
            lower, upper = line_span[1], line_span[2]
            inside = lower <= axis <= upper
            distance = 0.0 if inside else min(abs(axis - lower), abs(axis - upper))
        threshold = 0.8 * min(self._actual_str_size["str_height"] * scale_y, self.font_size * scale_y)
        if distance > threshold:
            return False  # a line break: the general code handles it
        last = text[-1:] if text else self.output[-1:]
        if (abs(moved_height) > threshold or moved_width >= (spacewidth + str_widths) * scale_prev_x) and last not in (
            "", " "
        ):
            text += " "
        if last in ("", "\n") or line_span is None or line_span[0] != axis_index:
            line_span = (axis_index, axis, axis)
        elif not inside:  # inside, min() and max() would return the span's own ends
            line_span = (axis_index, min(line_span[1], axis), max(line_span[2], axis))
        self.text = text
        self._line_span = line_span
        if was_empty or text == "":
            self.memo_cm = self.cm_matrix.copy()
            self.memo_tm = self.tm_matrix.copy()
        return True

    def _handle_tj(self, text: str, operands: list[Any], cm_matrix: list[float], tm_matrix: list[float],
                   font_resource: Any, font: Any, orientations: tuple[int, ...], font_size: float,
                   rtl_dir: bool, visitor_text: Any, actual_str_size: dict[str, float]) -> Any:
        """_handle_tj + get_text_operands + get_display_str for left-to-right runs."""
        operand: Any = operands[0] if operands else None  # str or bytes past the fallback check below
        tables = self._font_tables(font)
        is_str = isinstance(operand, str)
        if (rtl_dir or (_tx.CUSTOM_RTL_MIN and _tx.CUSTOM_RTL_MAX) or not (is_str or isinstance(operand, bytes))
                or (not is_str and tables.unicode_table is None)
                or (not is_str and tables.decode_table is None and not isinstance(font.encoding, str))):
            return super()._handle_tj(text, operands, cm_matrix, tm_matrix, font_resource, font,
                                      orientations, font_size, rtl_dir, visitor_text, actual_str_size)
        # Only m[1] and m[3] of tm x cm decide the orientation.
        t0, t1, t2, t3 = tm_matrix[0], tm_matrix[1], tm_matrix[2], tm_matrix[3]
        c1, c3 = cm_matrix[1], cm_matrix[3]
        m1 = t0 * c1 + t1 * c3
        m3 = t2 * c1 + t3 * c3
        orientation = 0 if m3 > 1e-6 else 180 if m3 < -1e-6 else 90 if m1 > 0 else 270
        if orientation not in orientations:
            text_operands, font_widths, appended = "", 0.0, ""  # pypdf appends nothing
        elif is_str:  # already text: no display mapping
            text_operands = appended = operand
            font_widths = reduce(add, map(tables.widths.__getitem__, operand), 0.0)
        else:
            if tables.decode_table is None:  # a named encoding, e.g. utf-16-be for Identity-H
                try:
                    text_operands = operand.decode(font.encoding, "surrogatepass")
                except UnicodeDecodeError:  # odd byte counts or unmapped 16-bit GIDs/CIDs
                    text_operands = operand.decode(font.encoding, "replace")
                raw = ""
            else:  # a dict encoding
                text_operands = "".join(map(tables.decode_table.__getitem__, operand))
                raw = operand.decode("latin-1")  # "".join(chr(byte) for byte in operand)
            font_widths = reduce(add, map(tables.widths.__getitem__, raw or text_operands), 0.0)
            appended = text_operands.translate(tables.unicode_table)  # type: ignore[arg-type]  # not None here (fallback above)
            if _tx.RTL_CHARACTER_PATTERN.search(appended) is not None:
                return super()._handle_tj(text, operands, cm_matrix, tm_matrix, font_resource, font,
                                          orientations, font_size, rtl_dir, visitor_text, actual_str_size)
        text += appended
        actual_str_size["str_widths"] += font_widths * font_size + 1000 * self.char_spacing * len(text_operands)
        actual_str_size["str_height"] = font_size
        return text, rtl_dir, actual_str_size
