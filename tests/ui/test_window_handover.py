"""The window started while another Docent process holds the index (issue 33): it says who
it waits for (status bar, library pane), keeps the chats readable, and opens the library as
soon as the index is let go; a holder that stays past the limit gets a message and a Retry.
Before, it showed "The library could not be opened: ... in use" until restarted."""
from __future__ import annotations

import pytest

from app.core.events import CoreState, FileState
from tests.app.handover_helpers import Holder
from tests.ingest.sync_helpers import write

WAIT_MS = 300_000  # generous: every wait ends on a signal or condition


@pytest.fixture
def watched(ui_settings, tmp_path):  # type: ignore[no-untyped-def]
    target = write(tmp_path / "docs" / "ledger.txt",
                   "The Marrowby lighthouse ledger lists eleven copper lanterns.\n")
    ui_settings.watched_folders = [str(target.parent)]
    ui_settings.save()
    return ui_settings, target


def _window(qtbot, settings, qsettings, embedder):  # type: ignore[no-untyped-def]
    from app.ui.app import build_window

    window = build_window(settings, qsettings, embedder=embedder)
    qtbot.addWidget(window)
    window.show()
    return window


def _indexed(window, target) -> bool:  # type: ignore[no-untyped-def]
    info = window.library_model.info(str(target))
    return info is not None and info.state is FileState.INDEXED


def _opened(window):  # type: ignore[no-untyped-def]
    return dict(timeout=WAIT_MS, check_params_cb=lambda ev: ev.state in (CoreState.READY, CoreState.FAILED))


def test_window_shows_the_wait_then_opens_the_library(qtbot, watched, qsettings, embedder):
    settings, target = watched
    from app.core.chats import ChatStore

    chats = ChatStore(settings.chats_path)  # a chat from an earlier session
    chats.create("Lighthouse questions")
    chats.close()
    holder = Holder(settings.home, "docent search")
    window = _window(qtbot, settings, qsettings, embedder)
    try:
        with qtbot.waitSignal(window.bridge.indexWait, timeout=WAIT_MS):
            window.bridge.start()
        said = f"Waiting for another Docent process (pid {holder.pid}, `docent search`) to finish"
        qtbot.waitUntil(lambda: said in window.library.notice.text(), timeout=WAIT_MS)
        assert window.library.notice.isVisible() and said in window.core_label.text()
        assert window.bridge.state is CoreState.STARTING and not window.chat_view.send_button.isEnabled()
        qtbot.waitUntil(lambda: window.chat_model.rowCount() == 1, timeout=WAIT_MS)  # readable
        with qtbot.waitSignal(window.bridge.coreState, **_opened(window)):
            holder.release()
        assert window.bridge.state is CoreState.READY
        assert not window.library.notice.isVisible() and said not in window.core_label.text()
        qtbot.waitUntil(lambda: _indexed(window, target), timeout=WAIT_MS)
    finally:
        holder.kill()
        window.close()


def test_window_names_a_holder_past_the_limit_and_retry_opens(qtbot, watched, qsettings, embedder):
    settings, target = watched
    holder = Holder(settings.home, "docent index")
    window = _window(qtbot, settings, qsettings, embedder)
    window.core.owner_wait_s = 1.0
    try:
        with qtbot.waitSignal(window.bridge.coreState, **_opened(window)):
            window.bridge.start()
        assert window.bridge.state is CoreState.FAILED
        said = f"waited 1 s for another Docent process (pid {holder.pid}, `docent index`)"
        assert said in window.library.notice.text() and window.library.retry_button.isVisible()
        assert said in window.failed_box.text() and window.failed_box.isVisible()
        assert not window.failed_box.isModal()  # the window stays usable
        holder.release()
        with qtbot.waitSignal(window.bridge.coreState, **_opened(window)):
            window.library.retry_button.click()
        assert window.bridge.state is CoreState.READY and not window.library.retry_button.isVisible()
        qtbot.waitUntil(lambda: _indexed(window, target), timeout=WAIT_MS)
    finally:
        holder.kill()
        window.close()
