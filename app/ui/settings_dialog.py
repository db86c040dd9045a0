"""Settings, generated from the typed specs (`Settings.field_specs()`), plus a privacy page.

One editor per spec type; a change that re-embeds the library is confirmed first.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessibility import name_qt_parts
from app.ui.look import text_colors
from app.ui.texts import PRIVACY_TEXT, REEMBED_WARNING, SETTINGS_NOT_SAVED

# Where each setting is shown; anything not named here goes to "Advanced".
PAGES: dict[str, tuple[str, ...]] = {
    "Answers": ("model_path", "n_ctx", "n_threads", "max_answer_tokens", "temperature",
                "context_tokens", "top_k", "retrieval_mode", "reranker_path"),
    "Library": ("ignore_patterns", "max_file_mb", "parse_timeout_s", "parse_memory_mb",
                "ocr", "ocr_languages", "watch_quiet_s", "watch_poll_s"),
    "Embedding": ("embedder_path", "chunk_tokens", "chunk_overlap", "embed_batch_size"),
}
HIDDEN = ("watched_folders",)  # managed in the library pane
FILE_FIELDS = {"model_path": "GGUF models (*.gguf)"}
FOLDER_FIELDS = ("embedder_path", "reranker_path")


LABELS = {"n_ctx": "Context size (tokens)", "n_threads": "Threads", "top_k": "Passages (top k)",
          "model_path": "Model file", "context_tokens": "Passages budget (tokens)",
          "llm_backend": "Answer backend", "remote_n_ctx": "Remote context size (tokens)",
          "max_file_mb": "Largest file (MB)", "parse_timeout_s": "Parse time limit (s)",
          "parse_memory_mb": "Parser memory (MB)", "ocr": "Read scans (OCR)",
          "ocr_languages": "OCR scripts", "watch_quiet_s": "Quiet time before indexing (s)",
          "watch_poll_s": "Poll interval (s)", "chunk_tokens": "Chunk size (tokens)",
          "chunk_overlap": "Chunk overlap (tokens)", "embed_batch_size": "Embedding batch size"}
_UNITS = {"mb": "MB", "s": "s"}  # a field name's unit suffix, shown in brackets
_WORDS = {"url": "URL", "api": "API"}


def label_for(name: str) -> str:
    """The row label for a setting: its own where one is written, else its name in words
    ("remote_api_key_env" -> "Remote API key env", "*_mb" -> "... (MB)")."""
    if name in LABELS:
        return LABELS[name]
    words = name.split("_")
    unit = _UNITS.get(words[-1]) if len(words) > 1 else None
    text = " ".join(_WORDS.get(w, w) for w in (words[:-1] if unit else words))
    return text[:1].upper() + text[1:] + (f" ({unit})" if unit else "")


class _Editor:
    """One setting's widget, its value getter, and its spec."""

    def __init__(self, spec: Any, widget: QWidget, get, set_) -> None:
        self.spec, self.widget, self.get, self.set = spec, widget, get, set_


def make_editor(spec: Any, value: Any, parent: QWidget) -> _Editor:
    t = spec.type
    lo = spec.minimum if spec.minimum is not None else -1e9
    hi = spec.maximum if spec.maximum is not None else 1e9
    w: QWidget
    if spec.choices:
        combo = w = QComboBox(parent)
        combo.addItems(list(spec.choices))
        ed = _Editor(spec, w, combo.currentText, combo.setCurrentText)
    elif t is bool:
        check = w = QCheckBox(parent)
        ed = _Editor(spec, w, check.isChecked, check.setChecked)
    elif t is int:
        spin = w = QSpinBox(parent)
        spin.setRange(int(max(lo, -2**31)), int(min(hi, 2**31 - 1)))
        if spec.minimum == 0 and ("0 " in spec.help or "0 means" in spec.help):
            spin.setSpecialValueText("Automatic")
        ed = _Editor(spec, w, spin.value, spin.setValue)
    elif t is float:
        dspin = w = QDoubleSpinBox(parent)
        dspin.setDecimals(2)
        dspin.setRange(lo, hi)
        dspin.setSingleStep(0.1 if hi <= 10 else 1.0)
        ed = _Editor(spec, w, dspin.value, dspin.setValue)
    elif t is list:
        edit = w = QPlainTextEdit(parent)
        edit.setPlaceholderText("One per line")
        edit.setTabChangesFocus(True)  # Tab moves on (no keyboard trap); Enter starts a new line
        edit.setFixedHeight(80)
        ed = _Editor(spec, w, lambda: [x.strip() for x in edit.toPlainText().splitlines() if x.strip()],
                     lambda v: edit.setPlainText("\n".join(v or [])))
    else:
        line = QLineEdit(parent)
        w = line
        if spec.name in FILE_FIELDS or spec.name in FOLDER_FIELDS:
            w = QWidget(parent)
            row = QHBoxLayout(w)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(line, 1)
            browse = QPushButton("Browse…", w)
            browse.clicked.connect(lambda: _browse(spec.name, line))
            row.addWidget(browse)
        line.setAccessibleName(label_for(spec.name))
        ed = _Editor(spec, w, line.text, lambda v: line.setText(str(v or "")))
    w.setAccessibleName(label_for(spec.name))
    w.setToolTip(spec.help)
    ed.set(value)
    return ed


def _browse(name: str, line: QLineEdit) -> None:
    if name in FILE_FIELDS:
        path, _ = QFileDialog.getOpenFileName(line, label_for(name), line.text(), FILE_FIELDS[name])
    else:
        path = QFileDialog.getExistingDirectory(line, label_for(name), line.text())
    if path:
        line.setText(path)


class SettingsDialog(QDialog):
    def __init__(self, settings: Any, apply_fn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Docent settings")
        self.resize(720, 660)  # the Answers page whole on a 768-pixel-high screen
        self.settings = settings
        self.apply_fn = apply_fn  # (**changes) -> result; the core validates and saves
        self.editors: dict[str, _Editor] = {}
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        specs = [s for s in settings.field_specs() if s.name not in HIDDEN]
        placed = {n for names in PAGES.values() for n in names}
        for page, names in [*PAGES.items(), ("Advanced", tuple(s.name for s in specs
                                                                if s.name not in placed))]:
            chosen = [s for n in names for s in specs if s.name == n]
            if chosen:
                self.tabs.addTab(self._page(page, chosen), page)
        self.tabs.addTab(self._privacy_page(), "Privacy")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color:{text_colors(self.palette()).bad}")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        name_qt_parts(self)

    def _page(self, title: str, specs: list[Any]) -> QWidget:
        inner = QWidget()
        form = QFormLayout(inner)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        if title == "Library":
            home = QLabel(str(self.settings.home))
            home.setWordWrap(True)
            form.addRow("Data folder", home)
            note = QLabel("Set the DOCENT_HOME environment variable to keep the data elsewhere.")
            note.setObjectName("help")
            note.setWordWrap(True)
            form.addRow("", note)
        for spec in specs:
            ed = make_editor(spec, getattr(self.settings, spec.name), inner)
            self.editors[spec.name] = ed
            help_label = QLabel(spec.help + (" Changing it re-indexes every document."
                                             if spec.reembed else "")
                                + (" Takes effect after a restart." if spec.restart else ""))
            help_label.setObjectName("help")
            help_label.setWordWrap(True)
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 6)
            col.setSpacing(2)
            col.addWidget(ed.widget)
            col.addWidget(help_label)
            form.addRow(label_for(spec.name), box)
        area = QScrollArea()
        area.setAccessibleName(f"{title} settings")
        area.setWidgetResizable(True)
        area.setWidget(inner)
        return area

    def _privacy_page(self) -> QWidget:
        label = QLabel(PRIVACY_TEXT)
        label.setWordWrap(True)
        label.setTextFormat(label.textFormat().RichText)
        w = QWidget()
        col = QVBoxLayout(w)
        col.addWidget(label)
        col.addStretch(1)
        return w

    def changes(self) -> dict[str, Any]:
        out = {}
        for name, ed in self.editors.items():
            value = ed.get()
            if value != getattr(self.settings, name):
                out[name] = value
        return out

    def save(self) -> None:
        changes = self.changes()
        if not changes:
            self.accept()
            return
        reembed = [n for n in changes if self.editors[n].spec.reembed]
        if reembed:
            answer = QMessageBox.warning(
                self, "Re-index every document?",
                REEMBED_WARNING.format(names=", ".join(label_for(n) for n in reembed)),
                QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Ok:
                return
        try:
            self.apply_fn(**changes)
        except Exception as e:  # the core's validation error: say which value and why
            self.error.setText(SETTINGS_NOT_SAVED.format(reason=e))  # in words, not red alone
            self.error.show()
            return
        self.accept()
