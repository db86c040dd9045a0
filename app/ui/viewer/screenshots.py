"""PNGs of the source viewer: `python -m app.ui.viewer.screenshots OUT_DIR` (or
save_viewer_screenshots() from `make screenshots`).

viewer-pdf-table.png: a real 10-Q at a cited table row, highlighted;
viewer-pdf-prose.png: the same filing at a cited prose passage;
viewer-markdown.png: a Markdown file (the README) at a cited passage, selected;
viewer-pdf-cell.png: the statement of operations opened at a computed answer's input,
its row label and the one cell lit.
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from app.ui.viewer.source import ViewerSource

FILING = "2023 Q3 AAPL.pdf"
_NUMBER = re.compile(r"\(?\$?\d[\d,.]*\)?%?")


def _repo() -> Path:
    return Path(__file__).resolve().parents[3]


def _table_row(sources: list[ViewerSource]) -> ViewerSource:
    """A source citing one row of a financial table: a label, then four or more figures."""
    for s in sources:
        start = s.passage.page_start
        if not start or start < 3:
            continue
        for line in s.body.splitlines():
            words = line.split()
            figures = [w for w in words if _NUMBER.fullmatch(w) and any(ch.isdigit() for ch in w)]
            label = [w for w in words if w.isalpha()]
            if len(figures) >= 4 and len(label) >= 2 and "net sales" in line.lower():
                return replace(s, passage=replace(s.passage, body=line, spans=(), page_end=start))
    raise LookupError("no table row found")


def _input_cell(sources: list[ViewerSource]) -> ViewerSource:
    """The statement of operations as a computed answer's input opens it: one cell."""
    from app.engine.compute_inputs import input_focus

    for s in sources:
        if "| Total net sales |" in s.body:
            focused = input_focus(s.passage, "Total net sales, Nine Months Ended July 1, 2023", "$293,787 million")
            if focused is not s.passage:
                return replace(s, passage=focused)
    raise LookupError("no statement of operations found")


def _prose(sources: list[ViewerSource]) -> ViewerSource:
    for s in sources:
        if s.passage.page_start and s.passage.page_start >= 15 and len(s.pages) == 1 and len(s.body) > 600 and \
                sum(ch.isdigit() for ch in s.body) < len(s.body) * 0.03:
            return s
    raise LookupError("no prose passage found")


def _wait_shown(app, viewer, source: ViewerSource, timeout_s: float = 30.0):
    shown: list[object] = []
    viewer.passage_shown.connect(shown.append)
    viewer.show_sources([source])
    end = time.monotonic() + timeout_s
    while not shown and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    viewer.passage_shown.disconnect(shown.append)
    settle = time.monotonic() + 0.8  # page images render on QtPdf's own thread
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.02)
    if not shown:
        raise TimeoutError(f"the viewer did not show {source.path}")
    return shown[0]


def save_viewer_screenshots(out: Path, sec_docs: Path | None = None) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from app.ui.viewer.samples import default_chunker, file_sources
    from app.ui.viewer.viewer import SourceViewer

    app = QApplication.instance() or QApplication(["docent-viewer-shots"])
    out.mkdir(parents=True, exist_ok=True)
    sec_docs = sec_docs or _repo().parent / "shared" / "eval" / "sec-10-q" / "docs"
    chunker = default_chunker()
    filing = file_sources(sec_docs / FILING, chunker)
    readme = file_sources(_repo() / "README.md", chunker)
    viewer = SourceViewer()
    viewer.resize(1280, 860)
    viewer.show()
    saved = []
    table, prose, cell = _table_row(filing), _prose(filing), _input_cell(filing)
    middle = readme[len(readme) // 2]
    for name, source, others in (("viewer-pdf-table.png", table, [prose]),
                                 ("viewer-pdf-prose.png", prose, [table]),
                                 ("viewer-markdown.png", middle, [table, prose]),
                                 ("viewer-pdf-cell.png", cell, [table, prose])):
        shown = _wait_shown(app, viewer, source)
        # The sources list shows an answer's worth of sources, this one current.
        viewer.source_list.blockSignals(True)
        viewer.source_list.clear()
        for n, s in enumerate([source, *others], 1):
            viewer.source_list.addItem(s.label(n))
        viewer.source_list.setCurrentRow(0)
        viewer.source_list.blockSignals(False)
        path = out / name
        viewer.grab().save(str(path))
        saved.append(path)
        print(f"{name}: {source.path} p.{source.passage.page_start} -> {type(shown).__name__}", file=sys.stderr)
    viewer.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else ".screenshots").resolve()
    for path in save_viewer_screenshots(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
