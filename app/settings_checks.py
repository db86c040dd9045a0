"""Checks of one setting's value against its FieldSpec, with the user-facing problem.

Used by Settings.load (a bad value in settings.json falls back to its default) and
Settings.validate (a change from the CLI or the settings dialog is refused)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app import errors

if TYPE_CHECKING:
    from app.settings import FieldSpec

_TYPE_WORDS = {int: "a whole number", float: "a number", str: "text", list: "a list of text"}


def check_value(spec: "FieldSpec", value: Any) -> tuple[Any, str]:
    """(coerced value, "") or (None, the user-facing problem)."""
    t = spec.type
    wrong = (None, errors.setting_wrong_type(spec.name, _TYPE_WORDS[t], value))
    if isinstance(value, bool):  # JSON true/false is never a number or text here
        return wrong
    if t is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            return wrong
    elif t is float:
        if not isinstance(value, (int, float)) or value != value:  # NaN is not a setting
            return wrong
        value = float(value)
    elif t is str:
        if not isinstance(value, str):
            return wrong
    elif t is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return wrong
        value = list(value)
    if spec.choices and value not in spec.choices:
        return None, errors.setting_not_a_choice(spec.name, spec.choices, value)
    if t in (int, float) and ((spec.minimum is not None and value < spec.minimum)
                              or (spec.maximum is not None and value > spec.maximum)):
        return None, errors.setting_out_of_range(spec.name, spec.minimum, spec.maximum, value)
    return value, ""


def overlap_problem(overlap: int, chunk_tokens: int) -> str:
    # The chunker clamps the overlap to half a chunk; say so instead of clamping silently.
    return errors.setting_overlap_too_large(overlap, chunk_tokens) if overlap > chunk_tokens // 2 else ""
