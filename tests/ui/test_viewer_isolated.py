"""The viewer parses text sources in the parser worker, not in the window's process: real DOCX and
HTML shown at their passage from a worker's parse; a parse that hangs, overruns its time limit,
blows its memory cap or meets a file over the size limit is stopped there and said in the viewer,
which stays usable meanwhile (real worker processes, real widgets offscreen)."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from app.ui.viewer import messages
from app.ui.viewer.parsing import DocumentParser, ParseLimits, ParseSuperseded
from app.ui.viewer.samples import default_chunker, file_sources
from app.ui.viewer.source import SourceState, ViewerSource
from app.ui.viewer.viewer import SourceViewer
from ingest.errors import FileErrorKind, LoadError
from ingest.passage import Passage
from ingest.pipeline import sha256_file
from tests.ingest.slow_loader import hostile_load
from tests.ingest.test_isolation import pid_alive
from tests.ui.test_viewer_text import assert_selected_in_view, markdown_file, paragraph
from tests.ui.viewer_readback import open_source

LIMITS = ParseLimits(timeout_s=60.0, memory_mb=1024, max_file_mb=200)


@pytest.fixture(scope="module")
def chunker(embedder):  # type: ignore[no-untyped-def]
    return default_chunker(embedder.tokenizer)


def make_viewer(qtbot, parser: DocumentParser | None = None) -> SourceViewer:  # type: ignore[no-untyped-def]
    v = SourceViewer(parser=parser)
    qtbot.addWidget(v)
    v.resize(1000, 700)
    v.show()
    return v


def no_parsing_here(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Parsing a text format in this (the window's) process fails the test; the worker, a spawned
    process, keeps the real parsers."""
    from ingest.loaders import docx, html, text

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the window process parsed a document")

    for module, name in ((docx, "load_docx"), (html, "load_html"), (text, "load_markdown"), (text, "load_text")):
        monkeypatch.setattr(module, name, refuse)


def plain_source(path: Path, body: str) -> ViewerSource:
    return ViewerSource(Passage("c", str(path), None, None, body), sha256_file(path), path.name)


def test_docx_and_html_are_shown_at_the_passage_from_the_workers_parse(qtbot, chunker, tmp_path, monkeypatch):
    import docx

    document = docx.Document()
    document.add_heading("Service agreement", level=1)
    for n in range(60):
        document.add_paragraph(paragraph(n))
    docx_path = tmp_path / "agreement.docx"
    document.save(str(docx_path))
    html_path = tmp_path / "terms.html"
    html_path.write_text("<html><body>" + "".join(f"<p>{paragraph(n)}</p>" for n in range(50)) + "</body></html>",
                         encoding="utf-8")
    docx_source = file_sources(docx_path, chunker)[-2]
    html_sources = file_sources(html_path, chunker)
    html_source = html_sources[len(html_sources) // 2]
    no_parsing_here(monkeypatch)
    viewer = make_viewer(qtbot, DocumentParser(LIMITS))
    for source in (docx_source, html_source):
        shown = open_source(qtbot, viewer, [source])
        assert shown.state == SourceState.CURRENT and shown.note == ""
        assert_selected_in_view(viewer, source)


def test_a_hung_parse_leaves_the_viewer_usable_and_is_stopped_for_the_next_source(qtbot, tmp_path):
    hung = tmp_path / "sleep.txt"
    hung.write_text("never parsed", encoding="utf-8")
    good = markdown_file(tmp_path)
    viewer = make_viewer(qtbot, DocumentParser(LIMITS, load_fn=hostile_load))
    viewer.show_sources([plain_source(hung, "never parsed"), plain_source(good, paragraph(17))])
    # The worker is in the hostile parse (for up to a minute); the event loop runs meanwhile.
    qtbot.waitUntil(lambda: hung.with_suffix(".pid").exists(), timeout=60_000)
    worker = int(hung.with_suffix(".pid").read_text())
    assert worker != os.getpid()
    assert viewer.last_shown is None
    with qtbot.waitSignal(viewer.passage_shown, timeout=30_000) as blocker:
        viewer.next_passage()
    shown = blocker.args[0]
    assert shown.source.path == str(good) and shown.selection is not None and shown.note == ""
    assert "QX-0017" in viewer.text_pane.selected_text()
    qtbot.waitUntil(lambda: not pid_alive(worker), timeout=30_000)


@pytest.mark.parametrize(("name", "limits", "kind", "detail"), [
    ("sleep.txt", ParseLimits(timeout_s=1.0, memory_mb=1024, max_file_mb=200), FileErrorKind.TIMEOUT,
     "stopped after 1 s"),
    ("hog.txt", ParseLimits(timeout_s=120.0, memory_mb=256, max_file_mb=200), FileErrorKind.OUT_OF_MEMORY, ""),
    ("crash.txt", LIMITS, FileErrorKind.CORRUPT, "the parser crashed on this file (SIGSEGV)"),
])
def test_a_parse_stopped_in_the_worker_says_why_in_the_viewer(qtbot, tmp_path, caplog, name, limits, kind, detail):
    path = tmp_path / name
    path.write_text("hostile", encoding="utf-8")
    viewer = make_viewer(qtbot, DocumentParser(limits, load_fn=hostile_load))
    with caplog.at_level(logging.WARNING, logger="app.ui.viewer.viewer"):
        shown = open_source(qtbot, viewer, [plain_source(path, "hostile")])
    expected = messages.CANNOT_OPEN.format(reason=LoadError(kind, detail).message)
    assert shown.selection is None and shown.note == expected
    assert viewer.banner_box.isVisible() and viewer.banner.text() == expected
    assert viewer.stack.currentWidget() is viewer.text_pane and viewer.text_pane.toPlainText() == ""
    assert any(str(path) in r.getMessage() and LoadError(kind, detail).message in r.getMessage()
               for r in caplog.records)
    # The viewer goes on: the next file is parsed by a fresh worker.
    good = markdown_file(tmp_path)
    shown = open_source(qtbot, viewer, [plain_source(good, paragraph(5))])
    assert shown.note == "" and "QX-0005" in viewer.text_pane.selected_text()


def test_a_real_file_over_the_size_limit_is_refused_by_the_real_parser(qtbot, tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text(paragraph(1) * 12_000, encoding="utf-8")  # about 2.5 MB
    viewer = make_viewer(qtbot, DocumentParser(ParseLimits(timeout_s=60.0, memory_mb=1024, max_file_mb=1)))
    shown = open_source(qtbot, viewer, [plain_source(path, paragraph(1))])
    size = f"{path.stat().st_size / 2**20:.0f} MiB > 1 MiB"
    assert shown.note == messages.CANNOT_OPEN.format(reason=LoadError(FileErrorKind.TOO_LARGE, size).message)
    assert viewer.banner.text() == shown.note


def test_the_worker_goes_when_the_viewer_does(qtbot, tmp_path):
    hung = tmp_path / "sleep.txt"
    hung.write_text("never parsed", encoding="utf-8")
    viewer = SourceViewer(parser=DocumentParser(LIMITS, load_fn=hostile_load))
    viewer.show_sources([plain_source(hung, "never parsed")])
    qtbot.waitUntil(lambda: hung.with_suffix(".pid").exists(), timeout=60_000)
    worker = int(hung.with_suffix(".pid").read_text())
    import shiboken6

    shiboken6.delete(viewer)  # as the window's widgets go when it closes
    qtbot.waitUntil(lambda: not pid_alive(worker), timeout=30_000)


def test_the_window_gives_its_viewer_the_settings_limits() -> None:
    from app.settings import Settings

    settings = Settings(parse_timeout_s=12.0, parse_memory_mb=700, max_file_mb=9)
    assert ParseLimits.of(settings) == ParseLimits(12.0, 700, 9)
    assert ParseLimits.defaults() == ParseLimits.of(Settings())


def wait_for(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_only_a_later_request_stops_a_running_parse(tmp_path):
    hung = tmp_path / "sleep.txt"
    hung.write_text("never parsed", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("The good file.", encoding="utf-8")
    parser = DocumentParser(LIMITS, load_fn=hostile_load)
    outcome: list[object] = []

    def ask_later() -> None:
        try:
            outcome.append(parser.text(str(hung), request=2))
        except ParseSuperseded as exc:
            outcome.append(exc)

    try:
        asker = threading.Thread(target=ask_later, daemon=True)
        asker.start()
        wait_for(lambda: hung.with_suffix(".pid").exists())
        worker = int(hung.with_suffix(".pid").read_text())
        with pytest.raises(ParseSuperseded):  # an earlier request, late (its file took long to hash)
            parser.text(str(good), request=1)
        assert pid_alive(worker) and not outcome
        assert parser.text(str(good), request=3) == "The good file."
        asker.join(30)
        assert len(outcome) == 1 and isinstance(outcome[0], ParseSuperseded)
        wait_for(lambda: not pid_alive(worker))
    finally:
        parser.close()
