"""Short garbage-collector pauses in a process that keeps big libraries loaded.

torch, transformers, Chroma and llama-cpp-python leave ~0.5 M long-lived objects
behind (485k here with MiniLM and SmolLM2). A full collection walks all of them,
~270 ms on this machine, holding the GIL, so whichever thread's allocation
triggers it (the writer, mid-index) freezes the window's event loop for as long.
Those objects live until the process exits: moving them into the collector's
permanent generation once they are loaded makes later full collections walk only
what came after (0 ms measured right after). A process-wide switch, as the
collector is; the window calls it when the core, then a model, is ready.
"""
from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Exempt every object alive now from later collections; returns how many are
    exempt. Whatever of them becomes garbage later is never freed: call it only once
    the long-lived parts are loaded, not per request."""
    gc.freeze()
    return gc.get_freeze_count()
