"""Closing the window while it indexes: returns within the README's 3 s, and the next start
resumes."""
from __future__ import annotations

import shutil
import time

import pytest

from app.core.events import CoreState, FileState
from tests.ui.test_window_core import all_indexed, drop, states_of, window_factory  # noqa: F401

pytestmark = pytest.mark.slow

LONG = 600_000


@pytest.mark.timeout(3000)
def test_closing_during_indexing_returns_and_the_next_start_resumes(qtbot, window_factory,  # noqa: F811 (fixture)
                                                                    sec_docs, tmp_path):
    names = ["2022 Q3 AAPL.pdf", "2022 Q3 NVDA.pdf", "2022 Q3 AMZN.pdf"]
    pdfs = []
    for n in names:
        shutil.copy2(sec_docs / n, tmp_path / n)
        pdfs.append(tmp_path / n)
    window = window_factory(model=False)
    seen = states_of(window)
    drop(window, pdfs)
    qtbot.waitUntil(lambda: any(FileState.INDEXING in s for s in seen.values()), timeout=LONG)
    t0 = time.monotonic()
    window.close()
    closed_in = time.monotonic() - t0
    print(f"window close during indexing: {closed_in:.2f} s")
    # The README: the core "closes within 3 s mid-index". Not a speed figure: the close
    # waits on no work (the parse in hand is killed, embeddings in flight are failed, every
    # step gets what is left of a 3 s deadline and is abandoned past it), so a busy machine
    # cannot make it slower; only a close that waits for work can.
    assert closed_in < 3.0, f"closing mid-index took {closed_in:.2f} s"
    assert window.bridge.core.state is CoreState.CLOSED

    again = window_factory(model=False)
    qtbot.waitUntil(lambda: all_indexed(again, pdfs), timeout=LONG)
