"""The first-run dialog's Download through the real core, against the local fake hub
(127.0.0.1) of tests/app/test_download.py: progress, Cancel, resume, a checksum error, and a
completed download that makes the app ready with the downloaded SmolLM2."""
from __future__ import annotations

import hashlib

import pytest

from app.core.events import ModelEvent, ModelState
from app.models.errors import DOWNLOAD_MESSAGES, DownloadErrorKind
from app.models.selection import selected_model
from app.ui.first_run import human_bytes
from tests.app.test_download import entry, hub, smol, smol_sha256  # noqa: F401  fixtures
from tests.ui.test_window_core import LONG, window_factory  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1200)
def test_download_progress_cancel_resume_then_ready(qtbot, window_factory, hub, entry,  # noqa: F811
                                                    monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored after: the download lifts it
    window = window_factory(model=False)
    qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(),
                    timeout=10_000)
    dialog = window.first_run
    dialog.set_entry(entry)
    assert entry.name in dialog.details.text()
    seen: list[ModelEvent] = []
    window.bridge.modelEvent.connect(seen.append)
    values: list[int] = []
    dialog.bar.valueChanged.connect(values.append)
    # The hub trickles after 1 MB until told: Cancel lands mid-download however fast
    # 127.0.0.1 is (at full speed the whole file can arrive between two progress reports).
    hub.trickle_after = 1_000_000
    dialog.download_button.click()
    qtbot.waitUntil(lambda: any(0 < ev.done_bytes < hub.size for ev in seen), timeout=60_000)
    assert dialog.bar.maximum() == 1000
    assert dialog.bar.format().endswith(f"of {human_bytes(hub.size)}"), dialog.bar.format()
    assert dialog.cancel_button.isVisible() and not dialog.download_button.isVisible()

    dialog.cancel_button.click()
    assert "Cancelling" in dialog.status.text()
    qtbot.waitUntil(lambda: any(ev.state is ModelState.ERROR for ev in seen), timeout=60_000)
    hub.flow.set()
    assert dialog.download_button.isVisible() and dialog.download_button.text() == "Resume download"
    assert dialog.status.text() == DOWNLOAD_MESSAGES[DownloadErrorKind.CANCELLED]
    assert selected_model(window.core.settings.home) is None
    partial = window.core.settings.models_dir / f"{entry.filename}.incomplete"
    kept = partial.stat().st_size
    assert 0 < kept < hub.size
    assert not window.chat_view.send_button.isEnabled()

    window.chat_view.input.setPlainText("anything")
    before = len(seen)
    with qtbot.waitSignal(window.bridge.modelEvent, timeout=LONG,
                          check_params_cb=lambda ev: ev.state is ModelState.READY):
        dialog.download_button.click()
    assert hub.gets()[-1][2] == f"bytes={kept}-"  # resumed, not restarted
    resumed = [ev.done_bytes for ev in seen[before:] if ev.state is ModelState.DOWNLOADING]
    assert resumed == sorted(resumed) and resumed[-1] == hub.size  # progress moved to the end
    assert max(values) == 1000
    done = selected_model(window.core.settings.home)
    assert done is not None and hashlib.sha256(done.read_bytes()).hexdigest() == hub.sha256
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert window.chat_view.send_button.isEnabled()


@pytest.mark.timeout(600)
def test_a_checksum_mismatch_is_shown_and_nothing_is_selected(qtbot, window_factory, hub,  # noqa: F811
                                                              entry, monkeypatch):  # noqa: F811 (fixture)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.reported_sha = hashlib.sha256(b"some other file").hexdigest()
    window = window_factory(model=False)
    qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(),
                    timeout=10_000)
    dialog = window.first_run
    dialog.set_entry(entry)
    with qtbot.waitSignal(window.bridge.modelEvent, timeout=120_000,
                          check_params_cb=lambda ev: ev.state is ModelState.ERROR):
        dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.download_button.isVisible(), timeout=10_000)
    said = DOWNLOAD_MESSAGES[DownloadErrorKind.HASH_MISMATCH].split(" (expected")[0]
    assert dialog.status.text().startswith(said), dialog.status.text()
    # The corrupt part is discarded, so there is nothing to resume.
    assert dialog.download_button.text() == "Download"
    partial = window.core.settings.models_dir / f"{entry.filename}.incomplete"
    assert not partial.exists()
    assert selected_model(window.core.settings.home) is None
    assert window.core.model_state is ModelState.NONE
    assert not dialog.bar.isVisible()
