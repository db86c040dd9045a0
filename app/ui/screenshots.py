"""`make screenshots`: the window with the sample documents indexed and an answer shown.

Runs on a throwaway data folder under a real X server (Xvfb) and writes PNGs:
main.png, first-run.png, library-error.png, settings.png, dark.png.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

QUESTION = "What does Docent promise about privacy?"


def _wait(app, cond: Callable[[], bool], timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def _settle(app, seconds: float = 0.4) -> None:  # type: ignore[no-untyped-def]
    """Let layouts and paints finish before a grab."""
    until = time.monotonic() + seconds
    _wait(app, lambda: time.monotonic() > until, seconds + 5, "paint")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else ".screenshots").resolve()
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
    model = sample_model()
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
    window.new_chat()
    window.chat_view.input.setPlainText(QUESTION)
    done: list[bool] = []
    window.flow.finished.connect(lambda: done.append(True))
    window.chat_view.submit()
    _wait(app, lambda: bool(done), 600, "the answer")
    _settle(app)
    window.grab().save(str(out / "main.png"))

    window.library.errors_only.setChecked(False)
    window.dock.widget().grab().save(str(out / "library-error.png"))

    dialog = SettingsDialog(window.core.settings, window.core.update_settings, window)
    dialog.show()
    _settle(app)
    dialog.grab().save(str(out / "settings.png"))
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
    window.close()
    print(f"screenshots in {out}: " + ", ".join(sorted(p.name for p in out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
