"""Start the desktop app: QApplication, palette, HiDPI, exception dialog, the core, the window.

The window is shown before anything heavy loads: the core builds its parts
(embedder, Chroma, manifest) on its own thread after `start()`, and the window
shows a "loading" state until it reports READY.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, cast

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

ORG, APP = "Docent", "Docent"


# --- look -------------------------------------------------------------------------------
def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    for role, color in ((QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
                        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
                        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
                        (QPalette.ColorRole.ButtonText, text),
                        (QPalette.ColorRole.ToolTipBase, window),
                        (QPalette.ColorRole.ToolTipText, text),
                        (QPalette.ColorRole.PlaceholderText, QColor(140, 143, 150)),
                        (QPalette.ColorRole.Highlight, QColor(53, 116, 240)),
                        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
                        (QPalette.ColorRole.Link, QColor(110, 160, 255)),
                        (QPalette.ColorRole.BrightText, QColor(255, 90, 90)),
                        (QPalette.ColorRole.Light, QColor(70, 72, 77)),
                        (QPalette.ColorRole.Midlight, QColor(58, 60, 64)),
                        (QPalette.ColorRole.Mid, QColor(50, 52, 56)),
                        (QPalette.ColorRole.Dark, QColor(24, 25, 27)),
                        (QPalette.ColorRole.Shadow, QColor(12, 12, 14))):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 112, 118))
    return p


STYLE = """
QLabel#paneTitle { font-weight: 600; padding: 6px 2px 4px 2px; }
QLabel#help { color: palette(placeholder-text); }
QLabel#answerStatus { color: palette(placeholder-text); }
QTextBrowser, QPdfView { border: 2px solid transparent; }
QSplitter::handle { background: %(handle)s; }
QPushButton#scopeButton { text-align: left; padding: 6px 10px; font-weight: 600;
                          border: 2px solid transparent; }
QAbstractItemView { border: 1px solid palette(mid); padding: 1px; }
QAbstractItemView:focus, QTextBrowser:focus, QPdfView:focus, QPushButton#scopeButton:focus {
    border: 2px solid palette(highlight); padding: 0px; }
QPushButton:default:focus { border: 3px solid palette(highlight); border-radius: 3px;
                            padding: 2px 10px; background: palette(button); }
"""  # the :focus borders: where the keyboard is, seen at a glance (Tab never moves unseen)


def apply_look(app: QApplication, theme: str = "system") -> None:
    """Fusion with the system's light or dark scheme, high contrast where the system asks for
    it (or a forced theme: light, dark, high-contrast, high-contrast-light)."""
    from app.ui.look import HIGH_CONTRAST, HIGH_CONTRAST_STYLE, high_contrast_palette

    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()
    dark = theme in ("dark", "high-contrast")
    high = theme in HIGH_CONTRAST
    if theme == "system":
        dark = hints.colorScheme() == Qt.ColorScheme.Dark
        high = hints.accessibility().contrastPreference() == Qt.ContrastPreference.HighContrast
    if high:
        app.setPalette(high_contrast_palette(dark))
    else:
        app.setPalette(dark_palette() if dark else app.style().standardPalette())
    handle = app.palette().color(QPalette.ColorRole.Mid if dark else QPalette.ColorRole.Midlight)
    app.setStyleSheet(STYLE % {"handle": handle.name()} + (HIGH_CONTRAST_STYLE if high else ""))


def set_text_size(app: QApplication, point_size: float) -> None:
    """Every widget's text at this size (large text). The style sheet fixes a widget's font
    when it polishes it, so the sheet is set again for the new font to reach every widget."""
    font = QFont(app.font())
    font.setPointSizeF(point_size)
    app.setFont(font)
    app.setStyleSheet(app.styleSheet())


# --- crashes become a dialog ---------------------------------------------------------------
def crash_report(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("docent")
    except PackageNotFoundError:
        ver = "source"
    head = (f"Docent {ver} · Python {platform.python_version()} · {platform.platform()} · "
            f"Qt {__import__('PySide6').__version__}")
    return head + "\n\n" + "".join(traceback.format_exception(etype, value, tb))


class ExceptionDialog(QDialog):
    def __init__(self, report: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Docent hit a problem")
        self.resize(700, 420)
        intro = QLabel("Something went wrong inside Docent. Your documents and chats are safe. "
                       "The report below holds no document text; copy it to report the problem.")
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(report)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Error report")
        copy = QPushButton("Copy report")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(report))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


class ExceptionHook(QObject):
    """sys/threading excepthooks -> a dialog on the GUI thread (never a silent crash)."""

    caught = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.caught.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.dialogs: list[ExceptionDialog] = []
        self._old = (sys.excepthook, threading.excepthook)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda a: self.handle(a.exc_type, a.exc_value, a.exc_traceback)

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._old

    def handle(self, etype: Any, value: Any, tb: Any) -> None:
        if etype is not None and issubclass(etype, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("uncaught exception", exc_info=(etype, value, tb))
        self.caught.emit(crash_report(etype, value, tb))

    def _show(self, report: str) -> None:
        if len(self.dialogs) >= 3:  # an error in a timer must not open a dialog per tick
            return
        d = ExceptionDialog(report, QApplication.activeWindow())
        d.finished.connect(lambda *_: self.dialogs.remove(d))
        self.dialogs.append(d)
        d.show()


# --- start -----------------------------------------------------------------------------------
def make_app(argv: list[str], theme: str = "system") -> QApplication:
    from app.ui.qt_runtime import immortalize_none

    immortalize_none()  # before Qt's first call: see qt_runtime
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    # instance() is typed QCoreApplication: here it can only be a QApplication
    app = cast("QApplication | None", QApplication.instance()) or QApplication(argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName(APP)
    apply_look(app, theme)
    return app


def build_window(settings: Any, qsettings: QSettings | None = None, embedder: Any = None,
                 llm: Any = None) -> Any:
    """The core (not started), its bridge and the window. Shared by main(), tests, screenshots.
    `embedder`, `llm`: as Core takes them (None: what the settings say)."""
    from app.core.core import Core
    from app.ui.bridge import CoreBridge
    from app.ui.main_window import MainWindow

    core = Core(settings, embedder=embedder, command="the Docent window", llm=llm)
    bridge = CoreBridge(core)
    window = MainWindow(bridge, qsettings)
    bridge.setParent(window)
    return window


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(prog="docent-app", description="Docent's window")
    parser.add_argument("--theme", choices=("system", "light", "dark", "high-contrast",
                                            "high-contrast-light"), default="system")
    parser.add_argument("-v", "--verbose", action="store_true")
    args, qt_args = parser.parse_known_args(argv[1:])
    from app.logs import setup_logging
    from app.settings import Settings
    from app.ui.log_window import QtLogHandler

    settings = Settings.load()
    settings.ensure_dirs()
    setup_logging(settings.log_dir, args.verbose)
    app = make_app([argv[0], *qt_args], args.theme)
    hook = ExceptionHook(app)
    hook.install()
    handler = QtLogHandler()
    logging.getLogger().addHandler(handler)
    window = build_window(settings)
    keep_gc_pauses_short(window.bridge)
    window.log_handler = handler
    if settings.load_report.message:
        window.statusBar().showMessage(settings.load_report.message, 30000)
    window.show()
    QTimer.singleShot(0, window.bridge.start)  # after the first paint
    _close_on_sigterm(window)
    code = app.exec()
    hook.uninstall()
    return code


def keep_gc_pauses_short(bridge: Any) -> None:
    """Once the core is ready, and again once a model is, exempt what they loaded from
    the garbage collector's full passes (see app/core/gc_pauses.py: ~270 ms stalls)."""
    from app.core.events import CoreState, ModelState
    from app.core.gc_pauses import freeze_long_lived

    bridge.coreState.connect(lambda ev: ev.state is CoreState.READY and freeze_long_lived())
    bridge.modelEvent.connect(lambda ev: ev.state is ModelState.READY and freeze_long_lived())


def _close_on_sigterm(window: Any) -> None:
    """A session logout or `kill` closes the window as the user would (the core saves its
    queue); Python only runs signal handlers between bytecodes, so a timer wakes it."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, lambda *_: QTimer.singleShot(0, window.close))
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def run(argv: list[str] | None = None) -> None:
    """The process entry (gui-script, `docent gui`, `python -m app.ui.app`)."""
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    exit_process(main(argv))


def exit_process(code: int) -> None:
    """Leave without the interpreter's finalisation once the window has closed.

    Closing mid-index gives the core 3 s; a native thread still inside torch or
    llama.cpp after that aborts finalisation ("terminate called without an active
    exception", SIGABRT). What must survive is already on disk (the manifest and
    the writer's queue), so flush and leave.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
