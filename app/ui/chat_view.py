"""One chat: the transcript, the streaming answer, and the question box.

Tokens are appended as plain text the moment they arrive; the Markdown of the
transcript is re-rendered at most ~10 times a second while streaming, and once
at the end. Re-rendering on every token would be quadratic in the answer length.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown import (
    CellTarget,
    cell_target,
    cell_tooltip,
    cite_target,
    cite_tooltip,
    link_markers,
    notes_markdown,
    quote_question,
)

RENDER_MS = 100


class AnswerPhase(enum.Enum):
    IDLE = "idle"
    WAITING = "waiting"  # question sent, no token yet (retrieving, reading the prompt)
    STREAMING = "streaming"


@dataclass
class ShownTurn:
    question: str
    answer: str = ""
    stopped: bool = False
    error: str = ""
    notes: tuple[str, ...] = ()  # what the answer checks flagged (app.engine.answer_marks)


class QuestionBox(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, e):
        enter = e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(e)


class ChatView(QWidget):
    askRequested = Signal(str)
    stopRequested = Signal()
    regenerateRequested = Signal()
    citationClicked = Signal(int)
    cellClicked = Signal(object)  # a computed input's marker: app.ui.markdown.CellTarget

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turns: list[ShownTurn] = []
        self.phase = AnswerPhase.IDLE
        self.render_count = 0  # full Markdown renders (the stream must not render per token)
        self._dirty = False
        self._can_ask = False
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_MS)
        self._timer.timeout.connect(self._render_if_dirty)

        self.scope_label = QLabel()
        self.scope_label.setObjectName("scopeLabel")
        self.scope_label.setWordWrap(True)
        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.setAccessibleName("Conversation")
        self.transcript.anchorClicked.connect(self._on_anchor)
        self.transcript.highlighted.connect(self._on_hover)  # says who cited: the model or Docent
        self.transcript.document().setDocumentMargin(14)
        self.status = QLabel()
        self.status.setObjectName("answerStatus")
        self.progress = QProgressBar()  # whole-document answers: one step per part of the file
        self.progress.setAccessibleName("Reading progress")
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.input = QuestionBox()
        self.input.setPlaceholderText("Ask about your documents…  (Ctrl+Enter to send)")
        self.input.setAccessibleName("Question")
        self.input.setTabChangesFocus(True)  # Tab moves on (no keyboard trap); Enter makes lines
        self.input.submitted.connect(self.submit)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send question")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop answer")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stopRequested)
        self.regen_button = QPushButton("Regenerate")
        self.regen_button.setAccessibleName("Regenerate last answer")
        self.regen_button.clicked.connect(self.regenerateRequested)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy last answer")
        self.copy_button.clicked.connect(self.copy_answer)

        buttons = QHBoxLayout()
        buttons.addWidget(self.progress)
        buttons.addWidget(self.status, 1)
        for b in (self.copy_button, self.regen_button, self.stop_button, self.send_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scope_label)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.input)
        layout.addLayout(buttons)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._size_to_font()
        self._update_buttons()
        self.render()

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() == QEvent.Type.FontChange:  # large text: the boxes grow with it
            self._size_to_font()

    def _size_to_font(self) -> None:
        fm = self.fontMetrics()
        self.input.setFixedHeight(max(76, 3 * fm.lineSpacing() + 28))  # three lines
        self.progress.setFixedWidth(max(96, 12 * fm.horizontalAdvance("0")))

    # --- what the window tells the view ---------------------------------------------
    def set_turns(self, turns: list[ShownTurn]) -> None:
        self._timer.stop()
        self.turns = list(turns)
        self.phase = AnswerPhase.IDLE
        self.status.clear()
        self.render()
        self._update_buttons()

    def set_scope_text(self, text: str) -> None:
        self.scope_label.setText(text)

    def set_can_ask(self, ok: bool, why: str = "") -> None:
        self._can_ask = ok
        if why and self.phase is AnswerPhase.IDLE:
            self.status.setText(why)
        elif ok and self.phase is AnswerPhase.IDLE:
            self.status.clear()
        self._update_buttons()

    def begin_answer(self, question: str, replace_last: bool = False) -> None:
        if replace_last and self.turns:
            self.turns[-1] = ShownTurn(self.turns[-1].question)
        else:
            self.turns.append(ShownTurn(question))
        self.phase = AnswerPhase.WAITING
        self.status.setText("Searching your documents…")
        self.render()
        self._timer.start()
        self._update_buttons()

    def sources_ready(self, count: int) -> None:
        if self.phase is AnswerPhase.WAITING:
            self.status.setText(f"Reading {count} passage(s)…" if count else
                                "No matching passages; answering without sources…")

    def show_progress(self, what: str, done: int, total: int) -> None:
        if self.phase is AnswerPhase.WAITING:
            self.progress.setRange(0, 2 * max(1, total))
            self.progress.setValue(2 * done + 1)  # the step under way shows as half done
            self.progress.setVisible(True)
            text = f"{done + 1}/{total} · {what}…"  # the count first: a long name is cut, not it
            self.status.setText(text)
            self.status.setToolTip(text)

    def append_token(self, text: str) -> None:
        if not self.turns or self.phase is AnswerPhase.IDLE:
            return
        if self.phase is AnswerPhase.WAITING:
            self.phase = AnswerPhase.STREAMING
            self.progress.setVisible(False)
            self.status.setToolTip("")
            self.status.setText("Answering…")
        self.turns[-1].answer += text
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)  # plain text now; Markdown on the next timer tick
        self._dirty = True
        self._follow()

    def finish_answer(self, text: str | None, stopped: bool = False, error: str = "",
                      notes: tuple[str, ...] = ()) -> None:
        """text: the answer as shown (with Docent's marks), None to keep what streamed."""
        self._timer.stop()
        if self.turns:
            turn = self.turns[-1]
            if text is not None:
                turn.answer = text
            turn.stopped, turn.error, turn.notes = stopped, error, tuple(notes)
        self.phase = AnswerPhase.IDLE
        self.progress.setVisible(False)
        self.status.setToolTip("")
        self.status.setText(error or ("Stopped." if stopped else ""))
        self.render()
        self._update_buttons()

    # --- rendering --------------------------------------------------------------------
    def markdown(self) -> str:
        parts: list[str] = []
        for i, t in enumerate(self.turns):
            parts.append(quote_question(t.question))
            answer = link_markers(t.answer) if t.answer else ""
            if not answer and self.phase is not AnswerPhase.IDLE and i == len(self.turns) - 1:
                answer = "*…*"
            if t.stopped:
                answer += "\n\n*(stopped)*"
            if t.notes:
                answer += "\n\n" + notes_markdown(t.notes)
            if t.error:
                answer += f"\n\n**{t.error}**"
            parts.append(answer)
        if not parts:
            return ("### Ask about your documents\n\nAnswers cite the file and page they come "
                    "from. Drop files or folders on this window, or use **File › Add folder…**.")
        return "\n\n".join(parts)

    def render(self) -> None:  # type: ignore[override]  # our own render(), not QWidget.render(target)
        bar = self.transcript.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        keep = bar.value()
        self.transcript.setMarkdown(self.markdown())
        self.render_count += 1
        self._dirty = False
        bar.setValue(bar.maximum() if at_end else keep)

    def _render_if_dirty(self) -> None:
        if self._dirty:
            self.render()

    def _follow(self) -> None:
        bar = self.transcript.verticalScrollBar()
        if bar.value() >= bar.maximum() - 40:
            bar.setValue(bar.maximum())

    # --- user actions -------------------------------------------------------------------
    def submit(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or not self._can_ask or self.phase is not AnswerPhase.IDLE:
            return
        self.input.clear()
        self.askRequested.emit(text)

    def copy_answer(self) -> None:
        turn = next((t for t in reversed(self.turns) if t.answer), None)
        if turn is not None:  # with the checks' notes: a pasted "⚠" must say what it flags
            QGuiApplication.clipboard().setText("\n\n".join([turn.answer, *turn.notes]))
            self.status.setText("Answer copied.")

    def last_answer(self) -> str:
        return self.turns[-1].answer if self.turns else ""

    @staticmethod
    def _targets(url: QUrl) -> tuple[CellTarget | None, tuple[int, bool] | None]:
        """A link's computed-input cell (when it is one) and the source it cites."""
        fragment = url.fragment(QUrl.ComponentFormattingOption.FullyDecoded)
        return cell_target(url.scheme(), url.path(), fragment), cite_target(url.scheme(), url.path())

    def _on_anchor(self, url: QUrl) -> None:
        cell, target = self._targets(url)
        if cell is not None:
            self.cellClicked.emit(cell)
        elif target is not None:
            self.citationClicked.emit(target[0])

    def _on_hover(self, url: QUrl) -> None:
        cell, target = self._targets(url)
        if target is None:
            QToolTip.hideText()
        else:
            tip = cell_tooltip(cell) if cell is not None else cite_tooltip(*target)
            QToolTip.showText(QCursor.pos(), tip, self.transcript)

    def _update_buttons(self) -> None:
        busy = self.phase is not AnswerPhase.IDLE
        self.send_button.setEnabled(self._can_ask and not busy)
        self.stop_button.setEnabled(busy)
        self.regen_button.setEnabled(self._can_ask and not busy and bool(self.turns))
        self.copy_button.setEnabled(any(t.answer for t in self.turns))
