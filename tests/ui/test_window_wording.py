"""The window never tells people to run a command: a core message worded for the command line
(the core also answers other shells' commands) reaches the window reworded as what to do there,
while the CLI keeps its own wording; the window's own texts name no command or make target."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from app import errors
from app.core.events import ModelEvent, ModelState
from app.ui import texts
from tests.ui.test_window_standin import make_window

ROOT = Path(__file__).resolve().parents[2]
# A command to run: `docent ...` or a make target, as the CLI and the README write them.
COMMAND = re.compile(r"`docent\b|\bdocent (?:model|ask|index|watch|serve|search|status|forget|chat)\b|`make ")
# Developer tools inside app/ui that never speak in the window (screenshots, benchmark samples).
DEVELOPER_TOOLS = {"app/ui/screenshots.py", "app/ui/viewer/screenshots.py", "app/ui/viewer/samples.py"}


def window_strings(path: Path) -> list[str]:
    """The string literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_window_texts_name_no_command():
    named = [(str(p.relative_to(ROOT)), s) for p in sorted((ROOT / "app" / "ui").rglob("*.py"))
             if str(p.relative_to(ROOT)) not in DEVELOPER_TOOLS for s in window_strings(p) if COMMAND.search(s)]
    assert named == []
    for cli, window in errors._IN_WINDOW.items():
        assert COMMAND.search(cli), "a rewording for a message that names no command"
        assert not COMMAND.search(window), window


def test_the_cli_keeps_its_wording_and_the_window_gets_its_own():
    assert str(errors.NoModelError()) == errors.NO_MODEL and "`docent model download`" in errors.NO_MODEL
    assert errors.in_window(errors.NO_MODEL) == errors.NO_MODEL_IN_WINDOW
    wrapped = errors.answer_failed_message(errors.NO_MODEL)
    assert errors.in_window(wrapped) == errors.answer_failed_message(errors.NO_MODEL_IN_WINDOW)
    other = errors.answer_failed_message("the model could not be loaded")
    assert errors.in_window(other) == other


def test_no_model_is_said_in_the_windows_words_in_the_chat_and_the_model_dialog(qtbot, ui_settings, qsettings):
    window, core = make_window(qtbot, ui_settings, qsettings)
    # What the window words point to is really there: File > Choose model…
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    assert "Choose model…" in [a.text().replace("&", "") for a in file_menu.actions()]
    assert "File > Choose model…" in errors.NO_MODEL_IN_WINDOW

    core.fail_with = errors.NO_MODEL  # the core's answer error, as Core words it for every host
    window.chat_view.input.setPlainText("What is the deposit?")
    with qtbot.waitSignal(window.flow.finished, timeout=10_000):
        window.chat_view.submit()
    transcript = window.chat_view.transcript.toPlainText()
    assert errors.NO_MODEL_IN_WINDOW in transcript and not COMMAND.search(transcript)

    window.show_first_run()
    dialog = window.first_run
    with qtbot.waitSignal(window.bridge.modelEvent, timeout=10_000):
        core._later(ModelEvent(ModelState.NONE, message=errors.NO_MODEL))
    assert dialog.status.text() == errors.NO_MODEL_IN_WINDOW


def test_without_a_model_list_the_download_button_says_what_to_do_here(qtbot, ui_settings, qsettings, monkeypatch):
    from app.ui import first_run

    window, _core = make_window(qtbot, ui_settings, qsettings)
    monkeypatch.setattr(first_run, "default_catalog_entry", lambda: None)
    dialog = first_run.FirstRunDialog(window.bridge, window)
    qtbot.addWidget(dialog)
    assert not dialog.download_button.isEnabled()
    assert dialog.download_button.toolTip() == texts.NO_DOWNLOAD and not COMMAND.search(texts.NO_DOWNLOAD)
    assert any(a.text().replace("&", "") == "Log" for m in window.menuBar().actions() if m.text() == "&View"
               for a in m.menu().actions()), "the tooltip sends people to View > Log"
