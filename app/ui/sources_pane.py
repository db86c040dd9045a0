"""The sources of the current answer: file, page(s), passage with the question's words
highlighted, score, cited or only retrieved; and library files in error that were not searched.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import replace
from typing import Collection

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from app.engine.answer_marks import inferred_marker
from app.engine.prompt import NumberedSource
from app.ui.look import TextColors, text_colors
from app.ui.markdown import highlight_terms
from ingest.passage import Passage


def pages_words(p: Passage) -> str:
    """"page 5", "pages 5–7", or "" for a format without pages."""
    if p.page_start is None:
        return ""
    if p.page_end and p.page_end != p.page_start:
        return f"pages {p.page_start}–{p.page_end}"
    return f"page {p.page_start}"


def open_in_system_app(item: NumberedSource) -> bool:
    """Open a source's file in the system's app for it (the viewer's fallback)."""
    if not os.path.exists(item.passage.path):
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(item.passage.path))


def highlight(text: str, terms: list[str]) -> str:
    """HTML of text with every occurrence of the terms marked (whole-word prefix match)."""
    escaped = html.escape(" ".join(text.split()))
    if not terms:
        return escaped
    pattern = re.compile(r"\b(" + "|".join(re.escape(html.escape(t)) for t in terms) + r")",
                         re.IGNORECASE)
    # bold too: the question's words stand out without the colour
    return pattern.sub(r'<span style="background-color:#f6d55c; color:#000; font-weight:600;">\1</span>',
                       escaped)


class SourcesPane(QWidget):
    sourceActivated = Signal(object)  # NumberedSource: open it in the viewer at its passage
    systemOpenRequested = Signal(object)  # NumberedSource: open its file in the system's app

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[NumberedSource] = []
        self.question = ""
        self.unsearched: list[tuple[str, str]] = []  # (path, error message)
        self.title = QLabel("Sources")
        self.title.setObjectName("paneTitle")
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setAccessibleName("Sources of the answer")
        self.view.anchorClicked.connect(self._on_anchor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.render()

    def show_sources(self, question: str, items: list[NumberedSource]) -> None:
        self.question, self.items = question, list(items)
        self.render()

    def mark_cited(self, cited: Collection[int], items: list[NumberedSource] | None = None,
                   matched: Collection[int] = ()) -> None:
        base = items if items is not None else self.items
        self.items = [replace(i, cited=i.number in cited, inferred=i.number in matched) for i in base]
        self.render()

    def set_unsearched(self, errors: list[tuple[str, str]]) -> None:
        self.unsearched = list(errors)
        self.render()

    def clear(self) -> None:
        self.items, self.question = [], ""
        self.render()

    def item(self, number: int) -> NumberedSource | None:
        return next((i for i in self.items if i.number == number), None)

    def activate(self, number: int) -> None:
        found = self.item(number)
        if found is not None:
            self.sourceActivated.emit(found)

    def render(self) -> None:  # type: ignore[override]  # our own render(), not QWidget.render(target)
        terms = highlight_terms(self.question)
        c = text_colors(self.view.palette())  # readable on this theme; the words say it too
        cited = [i for i in self.items if i.cited is not False]
        other = [i for i in self.items if i.cited is False]
        parts: list[str] = []
        if not self.items:
            parts.append(f'<p style="color:{c.muted}">The passages an answer draws on appear here, '
                         'with their file and page.</p>')
        for i in cited:
            parts.append(self._card(i, terms, c))
        if other:
            parts.append("<h4>Retrieved but not cited</h4>")
            parts.append(f'<p style="color:{c.muted}">The model saw these passages but did not cite '
                         'them.</p>')
            parts.extend(self._card(i, terms, c) for i in other)
        if self.unsearched:
            parts.append("<h4>Not searched (could not be indexed)</h4>")
            for path, message in self.unsearched:
                parts.append(f'<p><b>{html.escape(os.path.basename(path))}</b><br>'
                             f'<span style="color:{c.bad}">{html.escape(message)}</span></p>')
        self.view.setHtml("\n".join(parts))
        n = len(self.items)
        self.title.setText(f"Sources ({n})" if n else "Sources")

    @staticmethod
    def _card(i: NumberedSource, terms: list[str], c: TextColors) -> str:
        badge = {True: f'<span style="color:{c.good}">cited</span>',
                 False: f'<span style="color:{c.muted}">not cited</span>', None: ""}[i.cited]
        if i.cited and i.inferred:  # the answer's "[~n]": Docent matched a sentence to it
            badge = f'<span style="color:{c.good}">matched by Docent {inferred_marker((i.number,))}</span>'
        p = i.passage
        # A whole document read in order has no retrieval score (its passages carry 0).
        score = f"score {p.score:.2f}" if p.score > 0 else ""
        where = " · ".join(x for x in (pages_words(p), score, badge) if x)
        text = p.page_text if len(p.page_text) <= 900 else p.page_text[:900].rsplit(" ", 1)[0] + " …"
        return (f'<p style="margin-top:10px"><a href="src:{i.number}"><b>[{i.number}] '
                f'{html.escape(p.name)}</b></a>'
                f' &nbsp;<a href="sys:{i.number}" style="color:{c.muted}">open file</a><br>'
                f'<span style="color:{c.muted}">{where}</span><br>{highlight(text, terms)}</p>')

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "src" and url.path().isdigit():
            self.activate(int(url.path()))
        elif url.scheme() == "sys" and url.path().isdigit():
            found = self.item(int(url.path()))
            if found is not None:
                self.systemOpenRequested.emit(found)
