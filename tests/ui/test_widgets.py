"""Widget logic: the library model's incremental rows, streaming render cadence, drops."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl

from app.core.events import FileEvent, FileInfo, FileState, IndexProgress


def test_library_model_applies_events_in_batches(qtbot):
    from app.ui.library_model import Column, LibraryFilter, LibraryModel

    model = LibraryModel()
    model.reset([FileInfo("/d/a.pdf", FileState.INDEXED, "/d", chunks=5, pages=2)])
    inserted = []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    for i in range(50):
        model.apply(FileEvent(f"/d/f{i}.txt", FileState.QUEUED, folder="/d"))
    model.apply(FileEvent("/d/f3.txt", FileState.INDEXING, folder="/d"))
    model.apply(FileEvent("/d/f4.txt", FileState.ERROR, error_kind="corrupt",
                          message="The file is damaged and could not be parsed."))
    model.apply(FileEvent("/d/f5.txt", FileState.REMOVED))
    model.apply(FileEvent("/d/b.pdf", FileState.INDEXED, chunks=9, pages=4, old_path="/d/a.pdf"))
    qtbot.waitUntil(lambda: model.rowCount() == 50, timeout=5000)
    assert inserted == [(1, 49)]  # one insertion for the whole batch
    assert model.info("/d/a.pdf") is None and model.info("/d/b.pdf").chunks == 9
    assert model.info("/d/f3.txt").state is FileState.INDEXING
    err = model.info("/d/f4.txt")
    assert err.state is FileState.ERROR and "damaged" in err.message
    row = [i.path for i in model.infos()].index("/d/f4.txt")
    assert "damaged" in model.index(row, Column.MESSAGE).data()
    assert model.index(row, Column.STATE).data() == "Error"

    proxy = LibraryFilter()
    proxy.setSourceModel(model)
    proxy.set_errors_only(True)
    assert proxy.rowCount() == 1
    proxy.set_errors_only(False)
    proxy.set_text("f1")
    assert proxy.rowCount() == 11  # f1, f10..f19


def test_progress_text_moves_per_file_and_never_says_a_bare_percent():
    from app.ui.library_pane import progress_text

    a = progress_text(IndexProgress("indexing", done=0, total=20, current="/x/q1.pdf"))
    b = progress_text(IndexProgress("indexing", done=1, total=20, current="/x/q2.pdf", eta_s=300))
    assert "0 of 20" in a and "q1.pdf" in a and "%" not in a
    assert "1 of 20" in b and "q2.pdf" in b and "5 min" in b
    assert progress_text(IndexProgress("idle", errors=2)).startswith("Up to date")
    scan = progress_text(IndexProgress("indexing", done=1, total=20, current="/x/scan.pdf", scan="/x/scan.pdf",
                                       scan_done=11, scan_total=40))
    assert scan.endswith("scan.pdf · page 12 of 40 (reading the scan)")
    ahead = progress_text(IndexProgress("indexing", done=1, total=20, current="/x/q2.pdf", scan="/x/scan.pdf",
                                        scan_done=0, scan_total=40))
    assert "q2.pdf" in ahead and ahead.endswith("scan.pdf: page 1 of 40 (reading the scan)")
    done = progress_text(IndexProgress("indexing", done=1, total=20, current="/x/q2.pdf", scan="/x/scan.pdf",
                                       scan_done=40, scan_total=40))
    assert "reading the scan" not in done


def test_stream_renders_on_a_timer_not_per_token(qtbot):
    from app.ui.chat_view import ChatView

    view = ChatView()
    qtbot.addWidget(view)
    view.set_can_ask(True)
    view.begin_answer("What grew?")
    before = view.render_count
    for i in range(400):
        view.append_token(f"w{i} ")
    assert "w399" in view.transcript.toPlainText()  # plain text is there at once
    assert view.render_count == before  # no Markdown render inside the burst
    qtbot.waitUntil(lambda: view.render_count > before, timeout=3000)
    view.finish_answer("Revenue grew **a lot** [1].")
    assert view.render_count <= before + 5
    assert "a lot" in view.transcript.toPlainText() and "**" not in view.transcript.toPlainText()
    html = view.transcript.toHtml()
    assert 'href="cite:1"' in html
    with qtbot.waitSignal(view.citationClicked, timeout=2000) as sig:
        view.transcript.anchorClicked.emit(QUrl("cite:1"))
    assert sig.args == [1]


def test_an_answer_shows_docent_markers_flags_and_notes_and_copies_them(qtbot):
    from PySide6.QtGui import QGuiApplication

    from app.ui.chat_view import ChatView

    view = ChatView()
    qtbot.addWidget(view)
    view.set_can_ask(True)
    view.begin_answer("What grew?")
    view.append_token("Sales grew to 7 million.")
    note = "⚠ unverified figure 7 million: in none of the sources Docent gave the model"
    view.finish_answer("Sales grew to 7 million⚠ [~2].", notes=(note, "Docent looked at: a_b_c.pdf (p. 3)."))
    plain = view.transcript.toPlainText()
    assert "7 million⚠ [~2]." in plain and note in plain
    assert "a_b_c.pdf" in plain  # a file name's underscores are not Markdown emphasis
    assert 'href="cite:~2"' in view.transcript.toHtml()  # Docent's marker opens the passage too
    with qtbot.waitSignal(view.citationClicked, timeout=2000) as sig:
        view.transcript.anchorClicked.emit(QUrl("cite:~2"))
    assert sig.args == [2]
    view.copy_answer()
    assert QGuiApplication.clipboard().text().endswith(note + "\n\nDocent looked at: a_b_c.pdf (p. 3).")
    view.set_turns(list(view.turns))  # a reopened chat shows the same
    assert note in view.transcript.toPlainText()


def test_a_citation_says_on_hover_who_cited_it_and_a_note_s_source_opens(qtbot):
    from PySide6.QtWidgets import QToolTip

    from app.ui.chat_view import ChatView

    view = ChatView()
    qtbot.addWidget(view)
    view.show()
    view.set_can_ask(True)
    view.begin_answer("What grew?")
    note = "⚠ unverified figure 7 million: not in the sources its sentence cites (it is in [3])"
    view.finish_answer("Sales grew to 7 million⚠ [1]. Costs fell [~2].", notes=(note,))
    html = view.transcript.toHtml()
    assert 'href="cite:1"' in html and 'href="cite:~2"' in html
    assert 'href="cite:3"' in html  # the note's "[3]" opens the source holding the figure
    assert "(it is in [3])" in view.transcript.toPlainText()
    view.transcript.highlighted.emit(QUrl("cite:~2"))
    qtbot.waitUntil(lambda: "matched by Docent" in QToolTip.text(), timeout=3000)
    assert "Source 2" in QToolTip.text() and "did not cite" in QToolTip.text()
    view.transcript.highlighted.emit(QUrl("cite:1"))
    qtbot.waitUntil(lambda: "cited by the model" in QToolTip.text(), timeout=3000)
    assert "Source 1" in QToolTip.text()
    view.transcript.highlighted.emit(QUrl())  # the pointer left the link
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=3000)


def test_the_sources_pane_says_which_sources_docent_matched(qtbot):
    from app.engine.prompt import NumberedSource
    from app.ui.sources_pane import SourcesPane
    from ingest.passage import Passage

    pane = SourcesPane()
    qtbot.addWidget(pane)
    items = [NumberedSource(n, Passage(f"c{n}", f"/docs/r{n}.txt", None, None, f"text {n}", 0.5)) for n in (1, 2, 3)]
    pane.show_sources("q", items)
    pane.mark_cited({1, 2}, matched={2})
    plain = pane.view.toPlainText()
    assert "matched by Docent [~2]" in plain and "matched by Docent [~1]" not in plain
    assert plain.count("· not cited") == 1 and [i.inferred for i in pane.items] == [False, True, False]


def test_drop_classification_says_which_and_why(tmp_path):
    from app.ui.drop import classify

    good = tmp_path / "notes.txt"
    good.write_text("hello")
    odd = tmp_path / "song.mp3"
    odd.write_bytes(b"ID3")
    scan = tmp_path / "photo.jpg"  # read by OCR
    scan.write_bytes(b"\xff\xd8")
    folder = tmp_path / "dir"
    folder.mkdir()
    plan = classify([QUrl.fromLocalFile(str(p)) for p in (good, odd, scan, folder, tmp_path / "gone.pdf")]
                    + [QUrl("https://example.com/x.pdf")])
    assert plan.files == [good, scan] and plan.folders == [folder]
    reasons = {Path(r.path).name if "://" not in r.path else r.path: r.reason for r in plan.refused}
    assert "not supported" in reasons["song.mp3"] and ".mp3" in reasons["song.mp3"]
    assert "does not exist" in reasons["gone.pdf"]
    assert "on this computer" in reasons["https://example.com/x.pdf"]


def test_highlight_marks_question_words():
    from app.ui.markdown import highlight_terms
    from app.ui.sources_pane import highlight

    terms = highlight_terms("What was the total revenue in 2023?")
    assert "revenue" in terms and "the" not in terms and "what" not in terms
    out = highlight("Total revenue for 2023 rose <fast>.", terms)
    assert out.count("background-color") == 3 and "&lt;fast&gt;" in out


def test_settings_dialog_is_generated_from_specs_and_warns_before_reembed(qtbot, ui_settings,
                                                                         monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from app.ui.settings_dialog import HIDDEN, SettingsDialog

    applied: list[dict] = []
    dialog = SettingsDialog(ui_settings, lambda **c: applied.append(c))
    qtbot.addWidget(dialog)
    names = {s.name for s in ui_settings.field_specs()} - set(HIDDEN)
    assert set(dialog.editors) == names
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())][-1] == "Privacy"
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda *a, **k: warned.append(a[2]) or QMessageBox.StandardButton.Cancel)
    dialog.editors["chunk_tokens"].set(300)
    dialog.save()
    assert warned and "embedded again" in warned[0] and applied == []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Ok)
    dialog.save()
    assert applied == [{"chunk_tokens": 300}]
    dialog.editors["temperature"].set(0.5)
    dialog.editors["chunk_tokens"].set(ui_settings.chunk_tokens)
    assert dialog.changes() == {"temperature": 0.5}


def test_exception_hook_shows_a_copyable_report(qtbot):
    from app.ui.app import ExceptionHook

    hook = ExceptionHook()
    try:
        raise ValueError("boom in a slot")
    except ValueError as e:
        hook.handle(type(e), e, e.__traceback__)
    qtbot.waitUntil(lambda: bool(hook.dialogs), timeout=3000)
    dialog = hook.dialogs[0]
    qtbot.addWidget(dialog)
    report = dialog.text.toPlainText()
    assert "ValueError: boom in a slot" in report and "Python" in report


def test_no_heavy_import_before_the_window(tmp_path):
    import subprocess
    import sys

    code = ("import sys; import app.ui.app, app.ui.main_window, app.ui.bridge, app.core.core;"
            "print(sorted(m for m in ('torch','chromadb','llama_cpp','sentence_transformers')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_setting_row_is_labelled_in_words_with_its_unit():
    from dataclasses import fields

    from app.settings import Settings
    from app.ui.settings_dialog import label_for

    labels = {f.name: label_for(f.name) for f in fields(Settings)}
    assert all("_" not in text and text[0].isupper() for text in labels.values()), labels
    assert labels["max_file_mb"].endswith("(MB)") and labels["watch_quiet_s"].endswith("(s)")
    assert labels["parse_timeout_s"].endswith("(s)") and labels["chroma_url"] == "Chroma URL"
    assert label_for("remote_api_key_env") == "Remote API key env"
