"""`make screenshots`: the window with the sample documents indexed and an answer shown.

Runs on a throwaway data folder under a real X server (Xvfb) and writes PNGs:
main.png, main-viewer.png (a source open in the viewer tab), reading.png and summary.png
(a whole-document request), first-run.png,
library-error.png, settings.png, settings-library.png, dark.png, high-contrast.png (the
high-contrast theme), scale-200.png (text twice the system size, as at 200 % scaling), and the
viewer's own viewer-*.png (app/ui/viewer/screenshots.py).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

QUESTION = "What does Docent promise about privacy?"
UNANSWERABLE = "How many ships did the Skerry lighthouse log in March 2031?"


def _wait(app, cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def _settle(app, seconds: float = 0.4) -> None:
    """Let layouts and paints finish before a grab."""
    until = time.monotonic() + seconds
    _wait(app, lambda: time.monotonic() > until, seconds + 5, "paint")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # OUT [MODEL.gguf]: a real instruct model (make screenshots passes the benchmark's 1.5B
    # when `make bench-models` has built it) shows a real answer; else the 135M test model.
    out = Path(argv[0] if argv else ".screenshots").resolve()
    chosen = Path(argv[1]) if len(argv) > 1 else None
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="docent-shots-"))
    import os

    os.environ["DOCENT_HOME"] = str(home)
    from PySide6.QtCore import QSettings

    from app.resources import resource_dir, sample_model
    from app.settings import Settings
    from app.ui.app import apply_look, build_window, make_app
    from app.ui.first_run import FirstRunDialog
    from app.ui.settings_dialog import SettingsDialog

    app = make_app(["docent-shots"], "light")
    settings = Settings.load(home)
    settings.ensure_dirs()
    model = chosen or sample_model()
    if model is not None:
        settings.update(model_path=str(model), max_answer_tokens=120)
    qsettings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    window = build_window(settings, qsettings)
    window.resize(1440, 900)
    window.show()
    window.bridge.start()
    _wait(app, lambda: window.bridge.ready, 180, "the core")
    samples = home / "samples"
    samples.mkdir()
    for f in (resource_dir() / "samples").iterdir():
        (samples / f.name).write_bytes(f.read_bytes())
    (samples / "scan-2019.pdf").write_bytes(b"%PDF-1.4\n% damaged in transit\n" * 10)
    window.core.watch_folder(samples)
    _wait(app, lambda: len(window.library_model.infos()) >= 4 and all(
        i.state.value in ("indexed", "error") for i in window.library_model.infos()), 600,
        "indexing")
    window.chats.new_chat()
    window.chat_view.input.setPlainText(QUESTION)
    done: list[bool] = []
    window.flow.finished.connect(lambda: done.append(True))
    window.chat_view.submit()
    _wait(app, lambda: bool(done), 600, "the answer")
    _settle(app)
    window.grab().save(str(out / "main.png"))

    # A question the samples cannot answer: what the answer checks say under the answer.
    done.clear()
    window.chat_view.input.setPlainText(UNANSWERABLE)
    window.chat_view.submit()
    _wait(app, lambda: bool(done), 600, "the unanswerable question")
    _settle(app)
    window.grab().save(str(out / "checks.png"))

    # The source viewer tab, opened as a click on the first source does, with the library
    # dock put away (Ctrl+L) as one does to read a page.
    shown: list[object] = []
    window.viewer.passage_shown.connect(shown.append)
    window.sources.activate(window.sources.items[0].number)
    _wait(app, lambda: bool(shown), 120, "the viewer")
    window.dock.hide()
    _settle(app, 1.0)  # PDF pages render on QtPdf's thread
    window.grab().save(str(out / "main-viewer.png"))
    window.dock.show()
    window.tabs.setCurrentWidget(window.splitter)

    # A whole-document request in a chat scoped to one file: the reading step, then the summary.
    from app.core.chat_types import ChatScope

    window.chats.new_chat()
    log = str(samples / "lighthouse-log.pdf")
    window.core.chats.set_scope(window.flow.chat_id, ChatScope((), (log,)))
    window.chats.show_chat(window.flow.chat_id)
    steps: list[int] = []
    window.flow.progressShown.connect(lambda d, t: steps.append(d))
    done.clear()
    window.chat_view.input.setPlainText("Summarise this document")
    window.chat_view.submit()
    _wait(app, lambda: bool(steps), 300, "the first reading step")
    window.grab().save(str(out / "reading.png"))
    _wait(app, lambda: bool(done), 600, "the summary")
    _settle(app)
    window.grab().save(str(out / "summary.png"))

    # The library with its error row in view: sorted by state (Error first), room to show all.
    from PySide6.QtCore import Qt

    from app.ui.library_model import Column

    lib = window.library
    lib.errors_only.setChecked(False)
    window.resizeDocks([window.dock], [420], Qt.Orientation.Vertical)
    lib.table.sortByColumn(Column.STATE, Qt.SortOrder.AscendingOrder)
    lib.table.scrollToTop()
    _settle(app)
    window.dock.widget().grab().save(str(out / "library-error.png"))
    lib.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
    window.resizeDocks([window.dock], [340], Qt.Orientation.Vertical)

    dialog = SettingsDialog(window.core.settings, window.core.update_settings, window)
    dialog.show()
    _settle(app)
    dialog.grab().save(str(out / "settings.png"))
    library_tab = next(i for i in range(dialog.tabs.count()) if dialog.tabs.tabText(i) == "Library")
    dialog.tabs.setCurrentIndex(library_tab)
    _settle(app)
    dialog.grab().save(str(out / "settings-library.png"))
    dialog.close()

    first = FirstRunDialog(window.bridge, window)
    first.show()
    _settle(app)
    first.grab().save(str(out / "first-run.png"))
    first.close()

    apply_look(app, "dark")
    _settle(app)
    window.chat_view.render()
    window.sources.render()
    _settle(app)
    window.grab().save(str(out / "dark.png"))
    _accessibility_shots(app, window, out)
    window.close()
    apply_look(app, "light")
    from app.ui.viewer.screenshots import save_viewer_screenshots

    save_viewer_screenshots(out)
    print(f"screenshots in {out}: " + ", ".join(sorted(p.name for p in out.glob("*.png"))))
    return 0


def _accessibility_shots(app, window, out: Path) -> None:
    """high-contrast.png, and scale-200.png: the system font at twice its size (every label,
    button and box sized from the font, nothing clipped)."""
    from app.ui.app import apply_look, set_text_size

    def shot(name: str) -> None:
        _settle(app)
        window.chat_view.render()
        window.sources.render()
        _settle(app)
        window.grab().save(str(out / name))

    apply_look(app, "high-contrast")
    window.chat_view.input.setFocus()  # the focus frame shows in the picture
    shot("high-contrast.png")
    apply_look(app, "light")
    normal = app.font().pointSizeF()
    set_text_size(app, normal * 2)
    shot("scale-200.png")
    set_text_size(app, normal)


if __name__ == "__main__":
    sys.exit(main())
