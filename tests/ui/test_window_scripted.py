"""The window on the real core (MiniLM, Chroma in its process, the writer, chats) answering
with the scripted model (tests/scripted_llm.py): what is tested is the flow from the
window to the core and back, not the model, so it runs in `make test-fast`. The same
flow with SmolLM2 and real 10-Q PDFs: test_window_core.py (slow)."""
from __future__ import annotations

import pytest

from app.core.events import CoreState, FileState, ModelState
from tests.scripted_llm import ScriptedLLMs
from tests.ui.test_window_core import all_indexed, ask_and_record, drop, states_of

LONG = 300_000  # ms: a hang guard on a shared 2-core machine, never a speed requirement


@pytest.fixture
def window(qtbot, ui_settings, qsettings, embedder):  # type: ignore[no-untyped-def]
    from app.settings import Settings
    from app.ui.app import build_window

    llms = ScriptedLLMs()
    settings = Settings.load(ui_settings.home)
    settings.update(model_path="/models/scripted.gguf", max_answer_tokens=40)  # never opened
    w = build_window(settings, qsettings, embedder=embedder, llm=llms)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.bridge.coreState, timeout=120_000,
                          check_params_cb=lambda ev: ev.state in (CoreState.READY, CoreState.FAILED)):
        w.bridge.start()
    assert w.bridge.state is CoreState.READY
    w.llms = llms
    yield w
    if w.core.state is not CoreState.CLOSED:
        w.close()


def test_real_core_answers_stops_and_regenerates_in_the_window(qtbot, window, tmp_path):
    docs = tmp_path / "notes"
    docs.mkdir()
    falcon = docs / "falcon.txt"
    falcon.write_text("Meeting notes: the Falcon project budget is 2.5 million euros.\n")
    tides = docs / "tides.md"
    tides.write_text("# Tides\n\nThe harbour's high tide on 3 March was at 06:40.\n")
    seen = states_of(window)
    asked = drop(window, [docs])
    qtbot.waitUntil(lambda: asked == [docs], timeout=10_000)
    qtbot.waitUntil(lambda: all(FileState.QUEUED in seen.get(str(p), []) for p in (falcon, tides)),
                    timeout=60_000)
    qtbot.waitUntil(lambda: all_indexed(window, [falcon, tides]), timeout=LONG)
    assert window.core.model_state is not ModelState.NONE  # a model is set: no first-run dialog

    llms = window.llms
    llms.enqueue("The Falcon project budget is 2.5 million euros [1].")
    order = ask_and_record(qtbot, window, "What is the Falcon project budget?")
    assert order and order[0] == "sources" and order.count("token") > 1
    assert window.chat_view.last_answer() == "The Falcon project budget is 2.5 million euros [1]."
    assert "Falcon project budget" in llms.prompts[-1]  # the retrieved passage reached the model
    first = window.sources.items[0]
    assert first.passage.path == str(falcon) and first.cited
    html = window.chat_view.transcript.toHtml()  # the cited source opens from the text itself
    assert 'href="cite:1"' in html or 'href="cite:~1"' in html, html
    chat_id = window.flow.chat_id
    stored = window.core.chats.get(chat_id).turns[-1]
    assert stored.answer == window.chat_view.last_answer() and stored.sources
    assert stored.notes == list(window.chat_view.turns[-1].notes)

    # Stop on the first token: the answer ends, marked stopped, and the next question works.
    llms.enqueue("The harbour's tide tables list every high tide of the spring [1].", hold_after=1)
    window.flow.tokenShown.connect(lambda t: window.flow.stop())
    window.chat_view.input.setPlainText("List every high tide in detail.")
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.chat_view.submit()
    window.flow.tokenShown.disconnect()
    assert window.chat_view.turns[-1].stopped
    assert llms.finishes[-1] == "cancelled"  # the window's stop reached the model
    assert window.core.chats.get(chat_id).turns[-1].stopped

    llms.enqueue("High tide on 3 March was at 06:40 [2].")
    order = ask_and_record(qtbot, window, "When was the harbour's high tide on 3 March?")
    assert order.count("token") > 1 and not window.chat_view.turns[-1].stopped
    assert any(i.passage.path == str(tides) for i in window.sources.items)
    assert "06:40" in llms.prompts[-1] and "06:40" in window.chat_view.last_answer()

    before = window.core.chats.get(chat_id).turns
    llms.enqueue("On 3 March the high tide came at 06:40 [2].")
    tokens: list[str] = []
    window.flow.tokenShown.connect(tokens.append)
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.flow.regenerate()
    after = window.core.chats.get(chat_id).turns
    assert len(after) == len(before) == 3 and tokens
    assert after[-1].question == "When was the harbour's high tide on 3 March?"
    assert after[-1].answer == window.chat_view.last_answer() == "On 3 March the high tide came at 06:40 [2]."
    assert len(window.chat_view.turns) == 3
    assert llms.loads == 1  # one model load served every answer
