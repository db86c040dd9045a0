"""First run without a model: download the default one (through the core), or pick a GGUF.

The window stays usable behind this dialog's back: it is not modal to the library.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core.events import ModelEvent, ModelState
from app.ui import texts
from app.ui.bridge import CoreBridge
from app.ui.look import text_colors

log = logging.getLogger(__name__)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("bytes", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def default_catalog_entry() -> Any:
    from app.models.catalog import CatalogError, default_entry, load_catalog

    try:
        return default_entry(load_catalog())
    except CatalogError:
        log.exception("model catalog")
        return None


class FirstRunDialog(QDialog):
    localChosen = Signal(str)

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None,
                 entry: Any = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.entry = entry if entry is not None else default_catalog_entry()
        self.job: Any = None
        self.setWindowTitle("Choose a language model")
        self.setModal(False)
        self.resize(560, 260)
        intro = QLabel("<h3>Docent needs a language model to answer</h3>"
                       "<p>It runs on this computer; nothing is sent anywhere. You can add "
                       "documents while you decide.</p>")
        intro.setWordWrap(True)
        self.details = QLabel(self._entry_text())
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(False)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Model download progress")
        self.bar.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setAccessibleName("Download the default model")
        can_download = self.entry is not None
        self.download_button.setEnabled(can_download)
        if not can_download:
            self.download_button.setToolTip(texts.NO_DOWNLOAD)
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setAccessibleName("Cancel the download")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_download)
        self.local_button = QPushButton("Choose a GGUF file…")
        self.local_button.setAccessibleName("Choose a model file on this computer")
        self.local_button.clicked.connect(self.choose_local)
        later = QPushButton("Later")
        later.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.local_button)
        row.addStretch(1)
        row.addWidget(later)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.details)
        layout.addStretch(1)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(row)
        bridge.modelEvent.connect(self.on_model_event)

    def showEvent(self, e: QShowEvent) -> None:
        super().showEvent(e)
        self._fit_text()

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() == QEvent.Type.FontChange:
            self._fit_text()

    def _fit_text(self) -> None:
        """Tall enough for the wrapped text at this width (large fonts: nothing cut off)."""
        need = self.layout().totalHeightForWidth(self.width())  # type: ignore[union-attr]  # the dialog sets its layout in __init__
        if need > self.height():
            self.resize(self.width(), need)

    def set_entry(self, entry: Any) -> None:
        """Offer another catalog entry (the window offers the catalog's default)."""
        self.entry = entry
        self.details.setText(self._entry_text())
        self.download_button.setEnabled(entry is not None)

    def _entry_text(self) -> str:
        e = self.entry
        if e is None:
            return "The model catalog could not be read; choose a GGUF file instead."
        muted = text_colors(self.palette()).muted
        return (f"<p><b>{e.name}</b><br>{human_bytes(e.size_bytes)} download · licence: "
                f"{e.licence_name}<br><span style='color:{muted}'>{e.licence_url}</span><br>"
                "An interrupted download resumes where it stopped; the file is checked "
                "(sha256) before it is used.</p>")

    def download(self) -> None:
        if self.entry is None:
            return
        self.status.setText("Starting the download…")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.download_button.hide()
        self.cancel_button.show()
        self.job = self.bridge.core.download_model(self.entry)

    def _partial_kept(self) -> bool:
        """A cancelled or cut download keeps its part; a checksum failure discards it."""
        if self.entry is None:
            return False
        models = self.bridge.core.settings.models_dir
        return (models / f"{self.entry.filename}.incomplete").is_file()

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.cancel()
        self.status.setText("Cancelling… (what was downloaded is kept for a later resume)")
        self.cancel_button.setEnabled(False)

    def choose_local(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "",
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.use_local(path)

    def use_local(self, path: str) -> None:
        self.status.setText("Checking and loading the model…")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.localChosen.emit(path)

    def on_model_event(self, ev: ModelEvent) -> None:
        if ev.state is ModelState.DOWNLOADING:
            if ev.total_bytes:
                self.bar.setRange(0, 1000)
                self.bar.setValue(int(1000 * ev.done_bytes / ev.total_bytes))
                self.bar.setFormat(f"{human_bytes(ev.done_bytes)} of {human_bytes(ev.total_bytes)}")
            self.status.setText(ev.message or ("Downloading…" if self.cancel_button.isEnabled()
                                               else self.status.text()))
        elif ev.state is ModelState.LOADING:
            self.bar.setRange(0, 0)
            self.status.setText(f"Loading {ev.name}…" if ev.name else "Loading the model…")
        elif ev.state is ModelState.READY:
            self.accept()
        elif ev.state is ModelState.NONE and self.job is not None:
            return  # the core's start-up "no model yet", arriving after Download was clicked
        elif ev.state in (ModelState.ERROR, ModelState.NONE):
            self.bar.hide()
            self.cancel_button.hide()
            self.cancel_button.setEnabled(True)
            self.download_button.show()
            self.download_button.setText("Resume download" if self._partial_kept() else "Download")
            self.status.setText(ev.message)
            self.job = None
