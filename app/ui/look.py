"""High-contrast palettes, and the few colours the window writes into its HTML (cited, errors,
small print) chosen for the palette in use, each readable on its background (WCAG AA, 4.5:1)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

HIGH_CONTRAST = ("high-contrast", "high-contrast-light")
_R = QPalette.ColorRole
# Fusion draws field frames and check boxes a shade darker than the window: on black, black.
HIGH_CONTRAST_STYLE = """
QLineEdit[frame="true"], QPlainTextEdit { border: 1px solid palette(text); padding: 1px; }
QLineEdit[frame="true"]:focus, QPlainTextEdit:focus { border: 2px solid palette(highlight); padding: 0px; }
QCheckBox::indicator, QAbstractItemView::indicator { width: 13px; height: 13px;
    border: 2px solid palette(text); background: palette(base); }
QCheckBox::indicator:checked, QAbstractItemView::indicator:checked { background: palette(highlight); }
"""


def high_contrast_palette(dark: bool = True) -> QPalette:
    """Black on white or white on black; a yellow (dark) or deep blue (light) focus and selection."""
    ink, paper = (QColor("#ffffff"), QColor("#000000")) if dark else (QColor("#000000"), QColor("#ffffff"))
    accent = QColor("#ffd500") if dark else QColor("#0a3d91")
    on_accent = QColor("#000000") if dark else QColor("#ffffff")
    link = QColor("#7fd4ff") if dark else QColor("#0000c8")
    p = QPalette()
    for role, color in ((_R.Window, paper), (_R.WindowText, ink), (_R.Base, paper),
                        (_R.AlternateBase, QColor("#1a1a1a") if dark else QColor("#f0f0f0")),
                        (_R.Text, ink), (_R.Button, paper), (_R.ButtonText, ink),
                        (_R.ToolTipBase, paper), (_R.ToolTipText, ink),
                        (_R.Highlight, accent), (_R.HighlightedText, on_accent), (_R.Link, link),
                        (_R.BrightText, accent), (_R.Light, ink), (_R.Midlight, ink), (_R.Mid, ink),
                        (_R.Dark, ink), (_R.Shadow, ink)):
        p.setColor(role, color)
    grey = QColor("#a0a0a0") if dark else QColor("#595959")  # 7:1 or more, yet not the text's
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, grey)
    p.setColor(_R.PlaceholderText, grey)  # a hint in an empty box must not look typed
    return p


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 to 21."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class TextColors:
    muted: str  # small print: scores, "not cited", hints
    good: str  # "cited"
    bad: str  # errors


def text_colors(palette: QPalette) -> TextColors:
    """Colours for text on the palette's Base that keep 4.5:1 (the words say it too)."""
    base = palette.color(_R.Base)
    dark = _luminance(base) < 0.2
    muted = palette.color(_R.PlaceholderText)
    if muted.alpha() < 255 or contrast(muted, base) < 4.5:
        muted = QColor("#a8abb2") if dark else QColor("#5f6368")
    good, bad = ("#7ee2a8", "#ff8080") if dark else ("#1e7145", "#b3261e")
    return TextColors(muted.name(), good, bad)
