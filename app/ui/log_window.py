"""The in-app log: log records from any thread arrive as signals and are shown in a window."""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.ui.accessibility import name_qt_parts

MAX_LINES = 5000


class LogSignals(QObject):
    record = Signal(int, str)  # level, formatted line


class QtLogHandler(logging.Handler):
    """A logging handler that emits each record as a Qt signal (queued to the GUI thread)."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.signals = LogSignals()
        self.lines: list[tuple[int, str]] = []  # kept so the window shows what came before it
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                                            "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a bad format string in someone's log call must not raise here
            line = str(record.msg)
        self.lines.append((record.levelno, line))
        del self.lines[:-MAX_LINES]
        self.signals.record.emit(record.levelno, line)


class LogWindow(QDialog):
    def __init__(self, handler: QtLogHandler, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Docent log")
        self.resize(820, 420)
        self.handler = handler
        self.level = QComboBox()
        self.level.setAccessibleName("Minimum log level")
        for name, value in (("Info", logging.INFO), ("Warnings", logging.WARNING),
                            ("Errors", logging.ERROR), ("Debug", logging.DEBUG)):
            self.level.addItem(name, value)
        self.level.currentIndexChanged.connect(self._refill)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Log messages")
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        copy = QPushButton("Copy all")
        def copy_all() -> None:
            self.text.selectAll()
            self.text.copy()

        copy.clicked.connect(copy_all)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show:"))
        row.addWidget(self.level)
        row.addStretch(1)
        row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.text, 1)
        name_qt_parts(self)
        handler.signals.record.connect(self._append, Qt.ConnectionType.QueuedConnection)
        self._refill()

    def _min_level(self) -> int:
        return int(self.level.currentData())

    def _refill(self) -> None:
        self.text.setPlainText("\n".join(line for lvl, line in self.handler.lines
                                         if lvl >= self._min_level()))

    def _append(self, level: int, line: str) -> None:
        if level >= self._min_level():
            self.text.appendPlainText(line)
