"""The window process exempts what the core and the model loaded from full GC passes.

A unit test of the wiring on the stand-in core (the real process is measured by
bench_ui, whose JSON reports the frozen object count and the stalls)."""
from __future__ import annotations

import gc

from app.core.events import ModelEvent, ModelState
from app.ui.app import keep_gc_pauses_short
from app.ui.bridge import CoreBridge
from tests.ui.standin import StandInCore


def test_freezes_when_the_core_then_a_model_is_ready(qtbot, ui_settings):  # type: ignore[no-untyped-def]
    core = StandInCore(ui_settings)
    bridge = CoreBridge(core)
    keep_gc_pauses_short(bridge)
    gc.unfreeze()
    try:
        kept = [object() for _ in range(100)]
        with qtbot.waitSignal(bridge.coreState, timeout=10_000):
            bridge.start()
        after_core = gc.get_freeze_count()
        assert after_core >= len(kept)

        more = [[i] for i in range(1000)]  # loaded with the model, say
        with qtbot.waitSignal(bridge.modelEvent, timeout=10_000):
            core._later(ModelEvent(ModelState.LOADING, "m"))
        assert gc.get_freeze_count() == after_core  # loading: not yet
        with qtbot.waitSignal(bridge.modelEvent, timeout=10_000):
            core._later(ModelEvent(ModelState.READY, "m"))
        assert gc.get_freeze_count() >= after_core + len(more)
    finally:
        gc.unfreeze()  # the test process keeps collecting as before
        core.chats.close()
