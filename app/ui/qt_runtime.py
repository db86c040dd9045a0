"""Process-wide fixes Qt needs before its first call; each says which versions it is for."""
from __future__ import annotations

import sys


def immortalize_none() -> None:
    """Give None a refcount no process can use up, as Python 3.12+ does for every immortal.

    shiboken6 6.12 no longer adds a reference to None for each Qt call that returns
    nothing (it counts on 3.12's immortal None), but still releases one. On Python
    3.11 that ends the process with "Fatal Python error: none_dealloc" after a few
    thousand calls (`setText`, `processEvents`...): a streaming chat reaches that in
    minutes. None is a static object that is never freed, so a larger count is safe.
    Nothing to do on 3.12+, where its count is ignored.
    """
    if sys.version_info >= (3, 12):
        return
    import ctypes

    count = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt: the first field of every object
    if count.value < 1 << 40:
        count.value += 1 << 60
